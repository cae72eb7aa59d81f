"""The records a run store returns and takes: a run's status and row, its steps,
messages, model calls, artifacts and the usage totals snapshots keep (the protocols that
use them are in :mod:`graphflow.store.protocol`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    NamedTuple,
    Protocol,
    TypedDict,
    get_args,
)

from typing_extensions import NotRequired

if TYPE_CHECKING:
    from graphflow.store.protocol import RunWriter

__all__ = [
    "MAX_ARTIFACT_BYTES",
    "RUN_STATUSES",
    "SNAPSHOT_EVERY",
    "ArtifactRow",
    "ChildRun",
    "EffectWrites",
    "MessageRow",
    "ModelCall",
    "ModelCallRow",
    "RunRecord",
    "RunStatus",
    "StepRow",
    "UsageTotal",
]

RunStatus = Literal["running", "ready", "waiting", "completed", "failed", "limit_reached",
                    "budget_exceeded", "timeout", "damaged"]  # fmt: skip
"""Where a run stands.

``running``: a process advances it (or died doing so; resume it). ``ready``: a fork,
not started yet. ``waiting``: a human checkpoint waits for an answer. ``completed``:
no branch left, or a node or ``stop_when`` ended it. ``failed``: a node raised, or no
transition held (``RunRecord.failed_node`` names the node). ``limit_reached``,
``budget_exceeded``, ``timeout``: a limit of the graph stopped it. ``damaged``: only in
``list_runs``, for a run whose stored row cannot be decoded.
"""

#: Every store keeps a snapshot of a run's state (all variables, visit counts and the usage
#: per node) after every this many steps, so that reading the state at a step
#: (:meth:`RunWriter.load_variables`, :meth:`RunReader.node_usage_parts`) reads at most
#: this many rows, however long the run.
SNAPSHOT_EVERY = 200

#: Every run status, in the order of :data:`RunStatus`.
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)


@dataclass(frozen=True)
class RunRecord:
    """A run as a store keeps it.

    ``last_step`` and ``frontier`` are the run's head: its newest committed step and the
    nodes to run next (``{"run": [...], "wait": [...], "via": {...}}``), or, before its
    first step, the point it started from (-1 and the entry; a fork's point). A subgraph
    run names its parent run, the node that ran it and that node's visit
    (``parent_node``, ``parent_visit``); a fork names its parent run and ``forked_at``.
    A failed run names the node that failed and the step (``failed_node``,
    ``failed_step``). ``models`` is what the run recorded about the models it uses
    (:func:`graphflow.models.recorded.models_record`: names, endpoints, provider kinds,
    never keys), ``None`` until a node needed one. Times are seconds since the epoch.
    """

    run_id: str
    graph: str
    source: str | None
    spec: dict[str, Any]
    topology: str
    status: RunStatus
    reason: str | None
    error: str | None
    waiting: dict[str, Any] | None
    last_step: int
    frontier: dict[str, Any]
    usage: dict[str, Any]
    parent_run: str | None
    forked_at: int | None
    lease_owner: str | None
    lease_until: float | None
    created_at: float
    updated_at: float
    failed_node: str | None = None
    failed_step: int | None = None
    parent_node: str | None = None
    parent_visit: int | None = None
    models: dict[str, Any] | None = None


class ChildRun(NamedTuple):
    """A run whose parent is another run: a fork (``forked_at`` set) or the run of a
    subgraph node (``parent_node`` and its ``parent_visit``, counted from 0)."""

    run_id: str
    forked_at: int | None
    parent_node: str | None = None
    parent_visit: int | None = None


class UsageTotal(Protocol):
    """A node's usage as the scheduler sums it (a :class:`graphflow.models.Usage`): what
    :meth:`RunWriter.commit_step` keeps with a snapshot, as ``to_dict()`` writes it."""

    def to_dict(self) -> dict[str, Any]:
        """The usage as a JSON-ready dict (``calls``, ``prompt_tokens``, ``cost``, …)."""
        ...


class StepRow(TypedDict):
    """One committed step: the nodes that ran, the variables they changed, the next
    frontier, the usage per node (``None`` when no model was used), when it started
    (seconds since the epoch) and how long it took (seconds)."""

    run_id: str
    step: int
    nodes: list[str]
    variables: dict[str, Any] | None
    next: dict[str, Any]
    usage: dict[str, Any] | None
    started_at: float
    seconds: float


class MessageRow(TypedDict):
    """One stored message with its place in the run: ``seq`` (0, 1, … in the run) and
    ``step`` (-1 for the run's input)."""

    seq: int
    step: int
    node: str | None
    role: str
    name: str | None
    content: str | None
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None


class ModelCall(TypedDict):
    """One model call a node made, as recorded: where (``step``, ``node``), when
    (``started_at``, seconds since the epoch) and how long (``seconds``), who answered
    (``model``, ``base_url``), the messages sent (``prompt``, OpenAI-shaped), the names
    of the tools offered, the answer (``response``: the assistant message and its
    ``finish_reason``; ``None`` when the call failed), its usage, and the ``error`` of a
    failed call.

    When keeping a call, ``prompt_shared`` may say that the first that many messages of
    ``prompt`` are those of the node's previous kept prompt, the object
    ``prompt_previous`` (an agent's prompts share their beginning by construction): the
    store may then write only what is new (:mod:`graphflow.store.model_calls`). Neither is
    stored or read back."""

    step: int
    node: str
    started_at: float
    seconds: float
    model: str | None
    base_url: str | None
    prompt: Sequence[dict[str, Any]]
    tools: list[str]
    response: dict[str, Any] | None
    usage: dict[str, Any] | None
    error: str | None
    prompt_shared: NotRequired[int]
    prompt_previous: NotRequired[Any]


class ModelCallRow(ModelCall):
    """A recorded model call with its run and its place among the run's calls (``seq``
    0, 1, …)."""

    run_id: str
    seq: int


#: The largest artifact a store keeps, in bytes (10 MiB): larger files are refused with a
#: StoreError by :meth:`RunWriter.put_artifact` (the code node skips them and says so).
MAX_ARTIFACT_BYTES = 10 * 1024 * 1024


class ArtifactRow(TypedDict):
    """One artifact of a run: the file ``name`` (a relative path, ``/``-separated) that
    node ``node`` produced at step ``step``, its ``media_type`` (``image/png``,
    ``text/csv`` …), the SHA-256 ``digest`` of its bytes (hex, 64 characters; the key of
    :meth:`RunReader.artifact_data`), its ``size`` in bytes and when it was recorded
    (``created_at``, seconds since the epoch)."""

    run_id: str
    step: int
    node: str
    name: str
    media_type: str
    digest: str
    size: int
    created_at: float


@dataclass
class EffectWrites:
    """What is written together with an effect's result, in the same transaction of the
    run store (``RunWriter.put_effect``'s ``calls`` and ``joined``; see
    :meth:`~graphflow.kinds.base.NodeContext.effect`); the effect's thunk fills it in.

    Attributes:
        calls: model calls to keep with the run (``RunWriter.record_model_call``).
        joined: writes rows of another part of graphflow kept in the run database (the
            response cache's entries) when called inside the store's transaction.
    """

    calls: list[ModelCall] = field(default_factory=list)
    joined: Callable[[], None] | None = None

    def __bool__(self) -> bool:
        return bool(self.calls) or self.joined is not None

    def write_apart(self, store: RunWriter | None, run_id: str) -> None:
        """Write them on their own (no effect recorder to join): the joined rows, then
        each call in a transaction of its own."""
        if self.joined is not None:
            self.joined()
        if store is not None:
            for call in self.calls:
                store.record_model_call(run_id, call)
