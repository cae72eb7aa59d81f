"""Child runs: a node that runs a nested graph (``NodeContext.run_subgraph``) starts a
run of its own in the parent's store, continues it when the node runs again for the same
visit, or reads the result it ended with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graphflow.errors import RunNotFound
from graphflow.results import RunResult
from graphflow.resuming import RESUMABLE

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph
    from graphflow.kinds.base import NodeContext
    from graphflow.messages import Message
    from graphflow.store import RunWriter

__all__ = ["ChildRuns"]


class ChildRuns:
    """The child runner of a run's node contexts (a ``ChildRunner``): runs ``graph`` as
    the child run of node execution ``ctx`` in ``store``."""

    def __init__(self, store: RunWriter) -> None:
        self.store = store

    async def __call__(self, ctx: NodeContext, graph: CompiledGraph, *,
                       input: str | Message | None,
                       variables: Mapping[str, Any]) -> RunResult:  # fmt: skip
        """Start the child run, continue it, or read the result it ended with. Its id is
        ``PARENT.NODE.VISIT`` (nothing parses it: the parent run, node and visit are
        stored with the child); it shares the parent's store and services."""
        store = self.store
        visit = ctx.state.visits.get(ctx.node_id, 0)
        child_id = f"{ctx.run_id}.{ctx.node_id}.{visit}"
        context = ctx.run.child(parent=ctx)
        from graphflow.scheduler.entry import resume_run, start_run  # the layer that drives runs

        try:
            record = store.get_run(child_id)
        except RunNotFound:
            return await start_run(graph, store=store, run_id=child_id, input=input,
                                   variables=variables, context=context, parent_run=ctx.run_id,
                                   parent_node=ctx.node_id, parent_visit=visit)  # fmt: skip
        if record.status in RESUMABLE:
            answer = ctx.input if record.status == "waiting" else None
            return await resume_run(graph, child_id, store=store, answers=answer,
                                    context=context)  # fmt: skip
        variables, _ = store.load_variables(child_id, record.last_step)
        variables = graph.state.restore(variables)
        return RunResult(child_id, record.status, record.reason, store.load_messages(child_id),
                         variables)  # fmt: skip
