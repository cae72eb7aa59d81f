"""The node-kind protocol: how a kind of node plugs into the compiler and scheduler.

A *node kind* (``function``, ``human``, ``subgraph``, ``end``, ``agent``, ``tool``,
``code``, ``router`` …) is a class with:

- ``kind``: its name in graph files;
- ``Config``: a pydantic model of the kind-specific options of a node;
- ``__init__(node_id, config, build)``: called once at compile time; resolve imports,
  check options, and raise :class:`~graphflow.errors.DefinitionError` (or return problems
  from :meth:`problems`) for anything wrong;
- ``async run(ctx) -> Update | Interrupt``: called by the scheduler each time the node runs.

Kinds never touch the scheduler: they read ``ctx.state`` and return an Update.
Register a kind with :func:`graphflow.kinds.register_kind` (or the entry-point group
``graphflow.kinds``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from graphflow.messages import Interrupt, State, Update

if TYPE_CHECKING:
    from graphflow.events import Event

__all__ = ["BuildContext", "KindConfig", "NodeContext", "NodeKind", "Services"]

T = TypeVar("T")


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
    compile_subgraph: Callable[[Any], Any] | None = None


@dataclass
class Services:
    """Run-wide services shared by the nodes of one run (and its subgraph runs).

    ``emit`` sends an event to the run's event stream (e.g. streamed model tokens).
    ``shared`` holds lazily-created services of other layers (model clients, executors),
    created once per run through :meth:`get`.
    """

    store: Any = None
    emit: Callable[[Event], None] = lambda event: None
    work_dir: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)
    closers: list[Callable[[], Any]] = field(default_factory=list)
    #: Run ``closers`` when the run's execution ends (False for a nested run that
    #: shares its parent's services).
    close_at_end: bool = True

    def get(self, key: str, factory: Callable[[], T]) -> T:
        """Return the shared service ``key``, creating it with ``factory`` the first time."""
        if key not in self.shared:
            self.shared[key] = factory()
        return self.shared[key]


@dataclass
class NodeContext:
    """Everything a node sees while it runs.

    Attributes:
        run_id, step, node_id: where the node runs.
        state: the state at the start of the step (read-only).
        input: a person's answer, for a node resumed after an Interrupt.
        services: run-wide services.
        journal: ``await ctx.journal(key, thunk)`` runs ``thunk`` once per (run, step, node,
            key) and records its JSON result durably; when the node is re-executed after a
            crash, the recorded result is returned instead of running ``thunk`` again.
            Use it for side effects (tool calls) that must not repeat.
    """

    run_id: str
    step: int
    node_id: str
    state: State
    services: Services
    input: str | None = None
    journal: Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None

    def emit(self, event: Event) -> None:
        """Send an event to the run's event stream."""
        self.services.emit(event)

    async def once(self, key: str, thunk: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``thunk`` at most once for this node execution, durably (see ``journal``)."""
        if self.journal is None:
            return await thunk()
        return await self.journal(key, thunk)


class NodeKind:
    """Base class of node kinds. Subclass, set ``kind`` and ``Config``, implement ``run``."""

    kind: ClassVar[str] = ""
    Config: ClassVar[type[KindConfig]] = KindConfig
    #: A kind that picks its successor itself (``Update.goto``), like a group-chat manager.
    #: Its outgoing edges are the allowed choices, not a fan-out.
    dynamic_routing: ClassVar[bool] = False
    #: A kind that ends the run when reached.
    terminal: ClassVar[bool] = False
    #: Graphviz shape used when drawing nodes of this kind.
    shape: ClassVar[str] = "box"

    def __init__(self, node_id: str, config: KindConfig, build: BuildContext) -> None:
        self.node_id = node_id
        self.config = config
        self.build = build

    async def run(self, ctx: NodeContext) -> Update | Interrupt:  # pragma: no cover - abstract
        raise NotImplementedError

    def subgraph(self) -> Any:
        """The compiled inner graph of a nesting kind, for rendering; ``None`` otherwise."""
        return None

    def serializable(self) -> bool:
        """False when the node holds a Python object that a graph file cannot express."""
        return True
