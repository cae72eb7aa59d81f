"""The scheduler: steps a compiled graph, committing every step to the run store.

One **step** runs every node of the frontier concurrently (each sees the state as it was
at the start of the step), then applies their updates in frontier order, asks the
compiled graph where the step leads (:meth:`~graphflow.graph.CompiledGraph.route`:
first matching condition, else edge, fan-out, ``goto``, joins), and commits the step.

Each node runs with a :class:`~graphflow.kinds.NodeContext` carrying the compiled graph,
an effect recorder (``ctx.effect``) and a child runner (``ctx.run_subgraph``), so node
kinds never import the scheduler.
The run ends when no branch is left, when a node asks to stop, or when a limit fires.
See docs/durability.md for the order of writes.
"""

from graphflow.results import RunResult
from graphflow.resuming import RESUMABLE
from graphflow.scheduler.entry import resume_run, start_run
from graphflow.scheduler.execution import new_run_id

__all__ = ["RESUMABLE", "RunResult", "new_run_id", "resume_run", "start_run"]
