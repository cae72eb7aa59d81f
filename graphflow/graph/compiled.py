"""CompiledGraph: the immutable, validated graph — its nodes, its edges and its routing —
that runs, resumes, forks and renders.

The compiled graph owns its data: :class:`CompiledNode` (id, kind, the kind's instance,
the resolved node spec) and :class:`CompiledEdge` (source, target, compiled condition),
and its routing (:meth:`CompiledGraph.route`, a pure method: see
:mod:`graphflow.graph.routing`). Running (:meth:`CompiledGraph.run`) and drawing
(:meth:`CompiledGraph.render`) are front doors to the layers above, imported when used.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow import events as ev
from graphflow.graph import routing
from graphflow.graph.state import StateSchema
from graphflow.messages import Message
from graphflow.results import RunResult
from graphflow.spec import GraphSpec, NodeSpec, dump_spec
from graphflow.store import RunStore

if TYPE_CHECKING:
    from graphflow.context import RunContext
    from graphflow.kinds.base import NodeKind

__all__ = ["CompiledEdge", "CompiledGraph", "CompiledNode"]


@dataclass(frozen=True)
class CompiledNode:
    """A node as it runs.

    Attributes:
        id: the node id.
        kind: the kind's name (``agent``, ``function`` …).
        impl: the kind's instance, built at compile time with the node's options.
        spec: the node's spec, with a ``use:`` catalog entry resolved and merged.
        join: ``any`` or ``all``.
        max_visits: how often the node may run in one run (``None``: no node limit).
    """

    id: str
    kind: str
    impl: NodeKind
    spec: NodeSpec
    join: str
    max_visits: int | None


@dataclass(frozen=True)
class CompiledEdge:
    """An edge as routing reads it.

    Attributes:
        source, target: node ids.
        condition: the compiled ``when:`` (a callable of the state), or ``None``.
        text: the condition as written (a callable's name for Python conditions).
        otherwise: whether this is the else edge.
        label: the label drawn on the edge, if any.
    """

    source: str
    target: str
    condition: Callable[..., Any] | None
    text: str | None
    otherwise: bool
    label: str | None

    @property
    def conditional(self) -> bool:
        """Whether the edge is taken by a condition (``when:`` or else)."""
        return self.text is not None or self.otherwise


@dataclass(frozen=True, eq=False)
class CompiledGraph:
    """A compiled graph. Build one with ``Graph(...).compile()`` or :func:`graphflow.load`.

    Example:
        >>> from graphflow import Graph
        >>> g = Graph("hello", entry="greet")
        >>> _ = g.add_node("greet", lambda state: "hello!")
        >>> result = g.compile().run_sync()
        >>> result.status, result.last.content
        ('completed', 'hello!')

    Attributes:
        spec: the GraphSpec it was compiled from.
        nodes: the compiled nodes by id, in declared order.
        out_edges: each node's outgoing edges, in declared order (routing order).
        digraph: the topology as a networkx MultiDiGraph (node ids only), built when
            first read (networkx is imported then, not with graphflow).
        join_ancestors: for each ``join: all`` node, the nodes that can reach it.
        topology: the topology hash stored with each run.
        base_dir: where relative paths, imports and ``use:`` references resolve.
        stop_when: the compiled ``limits.stop_when`` condition, if any.
        state: the variables' declared types and merge rules.
    """

    spec: GraphSpec
    nodes: Mapping[str, CompiledNode]
    out_edges: Mapping[str, tuple[CompiledEdge, ...]]
    join_ancestors: Mapping[str, frozenset[str]]
    topology: str
    base_dir: Path = field(default_factory=Path.cwd)
    stop_when: Callable[..., Any] | None = None
    state: StateSchema = field(default_factory=StateSchema)

    @property
    def name(self) -> str:
        return self.spec.name

    @functools.cached_property
    def digraph(self) -> Any:
        """The topology as a networkx ``MultiDiGraph`` (node ids only)."""
        import networkx as nx

        digraph = nx.MultiDiGraph()
        digraph.add_nodes_from(self.nodes)
        for edges in self.out_edges.values():
            for edge in edges:
                digraph.add_edge(edge.source, edge.target)
        return digraph

    @property
    def entry(self) -> str:
        assert self.spec.entry is not None
        return self.spec.entry

    @property
    def serializable(self) -> bool:
        """False when a node or condition is a Python object a graph file cannot hold."""
        return all(n.impl.serializable() for n in self.nodes.values()) and all(
            e.when is None or isinstance(e.when, str) for e in self.spec.edges
        )

    @functools.cached_property
    def _spec_record(self) -> dict[str, Any]:
        from graphflow.models.config import strip_api_keys
        from graphflow.store.codec import StoredSpec

        return StoredSpec(strip_api_keys(self.spec.to_file()))

    def spec_record(self) -> dict[str, Any]:
        """The spec as stored with each run: callables become markers, and literal
        ``api_key`` entries (in ``models:`` or a node) are left out — secrets are never
        written to the run database."""
        return self._spec_record

    # ---- routing (pure: see graphflow.graph.routing) ------------------------------

    #: ``graph.route(nodes, updates, state, waiting=())`` → :class:`Routing`: where the
    #: step that ran ``nodes`` leads (next frontier, waiting joins, targets per node).
    #: Raises NoTransitionError or ConditionError; see :func:`routing.route`.
    route = routing.route
    #: ``graph.successors(node_id, update, state)``: the targets one node leads to.
    successors = routing.successors
    #: ``graph.next_frontier(targets, waiting=())``: ``(frontier, waiting)`` with joins.
    next_frontier = routing.next_frontier

    @functools.cached_property
    def visit_caps(self) -> dict[str, int]:
        """How often each node may run in one run, for the nodes with a limit: its own
        ``max_visits``, else ``limits.max_visits`` (empty: no limit anywhere)."""
        default = self.spec.limits.max_visits
        caps = {n: node.max_visits or default for n, node in self.nodes.items()}
        return {n: cap for n, cap in caps.items() if cap is not None}

    @functools.cached_property
    def speakers(self) -> frozenset[str]:
        """The nodes whose messages are agent turns (kinds with ``speaker = True``)."""
        return frozenset(n for n, node in self.nodes.items() if node.impl.speaker)

    def agent_turns(self, messages: Sequence[Message]) -> int:
        """How many agent turns ``messages`` hold: the messages said by speaker nodes
        (what ``limits.max_rounds`` counts)."""
        if not messages:
            return 0
        speakers = self.speakers
        if not speakers:
            return 0
        return sum(1 for m in messages if m.node in speakers)

    # ---- running ------------------------------------------------------------------

    async def run(
        self,
        input: str | Message | list[Message] | None = None,
        *,
        variables: Mapping[str, Any] | None = None,
        store: RunStore | str | Path | None = None,
        run_id: str | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        work_dir: str | Path | None = None,
        context: RunContext | None = None,
    ) -> RunResult:
        """Start a run and execute it until it completes, waits for a person, or stops.

        Args:
            input: the first message (text, a Message or a list of Messages), if any.
            variables: values for the graph's variables (defaults come from the graph).
            store: a store (``Store``, ``MemoryStore``), or the path of an SQLite
                database file; ``None`` keeps the run in memory only (no durability).
            run_id: choose the run id (default: a random one).
            on_event: called with every event as the run progresses.
            work_dir: where code and file tools work (default ``./graphflow-work/RUN_ID``).
            context: a run context to share (models, executors, overrides) with other
                runs; default: a new one (see :mod:`graphflow.context`).

        Raises:
            StoreError: the store cannot be opened or written, or ``run_id`` is taken.
        """
        from graphflow.runs import start  # the facade, a layer above: imported when used

        return await start(self, input, variables=variables, store=store, run_id=run_id,
                           context=context, on_event=on_event, work_dir=work_dir)  # fmt: skip

    def run_sync(self, input: str | Message | list[Message] | None = None,
                 **kwargs: Any) -> RunResult:  # fmt: skip
        """Synchronous :meth:`run` (also from Jupyter, where a loop already runs)."""
        from graphflow.runs import run_sync

        return run_sync(self.run(input, **kwargs))

    async def resume(
        self,
        run_id: str,
        *,
        input: str | Mapping[str, str] | None = None,
        store: RunStore | str | Path | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        allow_changed_graph: bool = False,
        work_dir: str | Path | None = None,
        context: RunContext | None = None,
        question: str | None = None,
        person: str | None = None,
    ) -> RunResult:
        """Continue a run from its last committed step. ``input`` answers the human
        checkpoint the run waits at (a dict ``{node: answer}`` when it waits at several);
        ``question`` names the question answered (``RunResult.question_id``), so that the
        answer is recorded only while that question waits; ``person`` names who answers
        (refused at a checkpoint of another person).

        Raises:
            RunNotFound, RunInUse, StaleAnswer, RunNotResumable, IncompatibleGraph: see
            :func:`graphflow.runs.resume`.
        """
        from graphflow.runs import resume

        return await resume(self, run_id, input=input, store=store, context=context,
                            on_event=on_event, allow_changed_graph=allow_changed_graph,
                            work_dir=work_dir, question=question, person=person)  # fmt: skip

    def resume_sync(self, run_id: str, **kwargs: Any) -> RunResult:
        """Synchronous :meth:`resume`."""
        from graphflow.runs import run_sync

        return run_sync(self.resume(run_id, **kwargs))

    async def stream(self, input: Any = None, **kwargs: Any) -> AsyncIterator[ev.Event]:
        """Run and yield events as they happen; the last one is a ``RunFinished`` (or
        ``Waiting``)."""
        queue: asyncio.Queue[ev.Event | None] = asyncio.Queue()
        task = asyncio.ensure_future(self.run(input, on_event=queue.put_nowait, **kwargs))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        while (event := await queue.get()) is not None:
            yield event
        await task

    # ---- files and drawings -------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the graph file (YAML or JSON by suffix)."""
        return dump_spec(self.spec, path)

    def to_dot(self, **options: Any) -> str:
        from graphflow.render import to_dot

        return to_dot(self, **options)

    def to_mermaid(self, **options: Any) -> str:
        from graphflow.render import to_mermaid

        return to_mermaid(self, **options)

    def render(self, path: str | Path, **options: Any) -> Path:
        """Draw the graph to ``path``; the format comes from the suffix
        (``.svg``, ``.png``, ``.pdf``, ``.dot``, ``.mmd``)."""
        from graphflow.render import render_to_file

        return render_to_file(self, path, **options)

    def overlay(self, run_id: str, store: Any) -> Any:
        """The :class:`~graphflow.render.RunOverlay` of run ``run_id`` of this graph in
        ``store``, drawn on this graph when a notebook shows it."""
        from graphflow.render import RunOverlay

        return RunOverlay.from_store(store, run_id, graph=self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from graphflow.render import to_svg

        try:
            return {"image/svg+xml": to_svg(self), "text/plain": repr(self)}
        except Exception:
            return {"text/plain": repr(self)}

    def __repr__(self) -> str:
        return (f"<CompiledGraph {self.name!r}: {len(self.nodes)} nodes, "
                f"{sum(len(v) for v in self.out_edges.values())} edges>")  # fmt: skip
