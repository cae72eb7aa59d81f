"""The node-kind protocol: how a kind of node plugs into the compiler and scheduler.

A *node kind* (``function``, ``human``, ``subgraph``, ``end``, ``agent``, ``tool``,
``code``, ``router`` …) is a class with:

- ``kind``: its name in graph files;
- ``Config``: a pydantic model of the kind-specific options of a node;
- ``__init__(node_id, config, build)``: called once at compile time; resolve imports,
  check options, and raise :class:`~graphflow.errors.DefinitionError` (or return problems
  from :meth:`problems`) for anything wrong;
- ``async run(ctx) -> Update | Interrupt``: called by the scheduler each time the node runs.

Kinds never touch the scheduler: they read ``ctx.state`` (and ``ctx.graph``, the compiled
graph they run in) and return an Update. What they need from the run comes through the
context: ``ctx.effect`` records side effects, ``ctx.run_subgraph`` runs a nested graph
as a child run, ``ctx.run`` is the run's context (store, event sink, shared services); the scheduler provides them.
Register a kind with :func:`graphflow.kinds.register_kind` (or the entry-point group
``graphflow.kinds``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from graphflow.context import RunContext
from graphflow.messages import Interrupt, Message, State, Update

if TYPE_CHECKING:
    from graphflow.events import Event
    from graphflow.graph import CompiledGraph
    from graphflow.results import RunResult
    from graphflow.store import EffectWrites

__all__ = ["BuildContext", "ChildRunner", "EffectRecorder", "KindConfig", "NodeContext",
           "NodeKind"]  # fmt: skip


class EffectRecorder(Protocol):
    """``await record(key, thunk, writes)``: run ``thunk`` once for the node execution,
    durably; ``writes`` (filled in by ``thunk``) are written in the same transaction as
    its result. The scheduler provides one to every node."""

    def __call__(self, key: str, thunk: Callable[[], Awaitable[Any]],
                 writes: EffectWrites | None = None, /) -> Awaitable[Any]: ...  # fmt: skip


class KindConfig(BaseModel):
    """Base of kind-specific option models: unknown options are errors."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


@dataclass
class BuildContext:
    """What a kind may consult while its node is compiled.

    Attributes:
        graph_name: name of the graph being compiled.
        source: the graph file's path (``None`` for builder graphs).
        base_dir: directory relative paths and imports resolve against.
        variables: the graph's declared variables with defaults.
        models: the graph's ``models:`` section (raw), for kinds that talk to models.
        defaults: graph-wide node defaults (raw), e.g. ``executor:``.
        compile_subgraph: compiles a nested graph spec or file reference (for subgraph kinds).
    """

    graph_name: str
    source: str | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    variables: Mapping[str, Any] = field(default_factory=dict)
    models: Any = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    compile_subgraph: Callable[[Any], CompiledGraph] | None = None


class ChildRunner(Protocol):
    """Runs a nested graph as the child run of a node execution (see
    :meth:`NodeContext.run_subgraph`); the scheduler provides one to every node."""

    async def __call__(self, ctx: NodeContext, graph: CompiledGraph, *, input: str | Message | None,
                       variables: Mapping[str, Any]) -> RunResult: ...  # fmt: skip


@dataclass
class NodeContext:
    """Everything a node sees while it runs.

    Attributes:
        run_id, step, node_id: where the node runs.
        state: the state at the start of the step (read-only).
        run: the run's context: store, event sink, work dir, overrides and the services
            shared by the run's nodes (see :class:`~graphflow.context.RunContext`).
        input: a person's answer, for a node resumed after an Interrupt.
        effects: records side effects for :meth:`effect` (the scheduler provides it;
            ``None`` outside a run: effects then simply run).
        graph: the compiled graph the node runs in (its nodes, edges and options), so
            nodes never re-read the graph stored with the run.
        child_runs: runs nested graphs for :meth:`run_subgraph` (the scheduler
            provides it).
    """

    run_id: str
    step: int
    node_id: str
    state: State
    run: RunContext = field(default_factory=RunContext)
    input: str | None = None
    effects: EffectRecorder | None = None
    graph: CompiledGraph | None = None
    child_runs: ChildRunner | None = None

    def emit(self, event: Event) -> None:
        """Send an event to the run's event stream."""
        self.run.emit(event)

    async def effect(self, key: str, thunk: Callable[[], Awaitable[Any]], *,
                     writes: EffectWrites | None = None) -> Any:  # fmt: skip
        """Run ``thunk`` at most once for this node execution, durably: its JSON result
        is recorded under ``(run, step, node, key)`` as soon as it returns (before the
        step commits), and when the node is re-executed after a crash the recorded
        result is returned instead of running ``thunk`` again. Use it for side effects
        (tool calls, code runs, model calls) that must not repeat.

        Args:
            key: names the effect within the node execution (e.g. ``tool:CALL_ID``).
            thunk: an async function returning a JSON value.
            writes: what ``thunk`` leaves to be written with its result, in the same
                transaction (the model call kept with the run, the response cache's
                entry); outside a run they are written right after ``thunk``.
        """
        if self.effects is None:
            value = await thunk()
            if writes:
                writes.write_apart(self.run.store, self.run_id)
            return value
        if writes is None:
            return await self.effects(key, thunk)
        return await self.effects(key, thunk, writes)

    async def run_subgraph(self, graph: CompiledGraph, *, input: str | Message | None = None,
                           variables: Mapping[str, Any] | None = None) -> RunResult:  # fmt: skip
        """Run ``graph`` as a child run of this node execution, in the same store.

        The first time, the child run starts with ``input`` as its first message and
        ``variables``; when this node is executed again for the same visit (after a
        crash, or with a person's answer in :attr:`input`), the child run continues
        instead of starting over, and a child run that already ended returns its result.

        Returns:
            The child run's result (status ``waiting`` when it waits for a person).

        Raises:
            RunError: the node does not run under a scheduler (no child runner).
        """
        if self.child_runs is None:
            from graphflow.errors import RunError

            raise RunError(f"node {self.node_id!r} cannot run a nested graph outside a run; "
                           "run its graph with graph.run()", node=self.node_id)  # fmt: skip
        return await self.child_runs(self, graph, input=input, variables=dict(variables or {}))


class NodeKind:
    """Base class of node kinds. Subclass, set ``kind`` and ``Config``, implement ``run``."""

    kind: ClassVar[str] = ""
    Config: ClassVar[type[KindConfig]] = KindConfig
    #: A kind that picks its successor itself (``Update.goto``), like a group-chat manager.
    #: Its outgoing edges are the allowed choices, not a fan-out.
    dynamic_routing: ClassVar[bool] = False
    #: A kind that ends the run when reached.
    terminal: ClassVar[bool] = False
    #: A kind whose messages are conversation turns (an agent): ``limits.max_rounds``
    #: counts the messages of such nodes.
    speaker: ClassVar[bool] = False
    #: Graphviz shape used when drawing nodes of this kind.
    shape: ClassVar[str] = "box"

    def __init__(self, node_id: str, config: KindConfig, build: BuildContext) -> None:
        self.node_id = node_id
        self.config = config
        self.build = build

    async def run(self, ctx: NodeContext) -> Update | Interrupt:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self, ctx: NodeContext) -> Update | Interrupt | Awaitable[Update | Interrupt]:
        """Begin this node's execution: its result when the kind finishes it without
        waiting for anything (a quick sync function on the event loop), else an
        awaitable of it — by default :meth:`run`'s coroutine. The scheduler awaits what
        is not a result already; exceptions are the node's, as from :meth:`run`."""
        return self.run(ctx)

    def finishes_at_once(self, run: RunContext, graph: CompiledGraph) -> bool:
        """Whether :meth:`run` will finish without waiting for anything — no I/O, no
        thread, no other task — so that the scheduler may run this node of a parallel
        step in turn with the others instead of as an asyncio task of its own. ``False``
        unless a kind knows better (a quick sync function: see ``FunctionKind``)."""
        return False

    def subgraph(self) -> Any:
        """The compiled inner graph of a nesting kind, for rendering; ``None`` otherwise."""
        return None

    def serializable(self) -> bool:
        """False when the node holds a Python object that a graph file cannot express."""
        return True
