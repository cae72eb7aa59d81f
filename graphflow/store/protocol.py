"""What a run store is: a run's statuses, the records a store returns, and the protocols
every store implements.

Two small protocols split a store by who uses it:

- :class:`RunWriter` — what the scheduler needs to advance a run: create it, hold its
  lease, commit steps, keep the finished branches and side effects of the step in flight,
  set its status, and read back the state at its head;
- :class:`RunReader` — what ``graphflow show``, reports, run overlays and ``graphflow
  runs`` need: runs, their steps, messages, usage per step, child runs and artifacts.

**Artifacts** are the files a run's code produced (a chart, a CSV, a text), kept per
step and node (:meth:`RunWriter.put_artifact`) and content-addressed: the bytes are
stored once per SHA-256 digest, however many runs, steps or forks name them
(:meth:`RunReader.artifacts` lists them, :meth:`RunReader.artifact_data` reads the
bytes). One artifact holds at most :data:`MAX_ARTIFACT_BYTES`.

:class:`RunStore` is both, plus forks and retention. :class:`~graphflow.store.Store`
(SQLite) and :class:`~graphflow.store.MemoryStore` implement it, and both pass one
contract test suite (``tests/store``); a new store passes it too.

Errors every store raises: :class:`~graphflow.errors.RunNotFound` for an unknown run id,
:class:`~graphflow.errors.RunInUse` when another holder has the lease,
:class:`~graphflow.errors.StoreCorrupt` for a stored value that cannot be decoded, and
:class:`~graphflow.errors.StoreError` for the rest (an id taken, a step committed twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from graphflow.conversation import Conversation
from graphflow.messages import Message
from graphflow.store.records import (
    MAX_ARTIFACT_BYTES,
    RUN_STATUSES,
    SNAPSHOT_EVERY,
    ArtifactRow,
    ChildRun,
    EffectWrites,
    MessageRow,
    ModelCall,
    ModelCallRow,
    RunRecord,
    RunStatus,
    StepRow,
    UsageTotal,
)

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
    "RunReader",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "RunWriter",
    "StepRow",
    "UsageTotal",
]

class _StateReader(Protocol):
    """The reads both sides need: a run's record and its state at a step."""

    def get_run(self, run_id: str) -> RunRecord:
        """The run, with its head. Raises RunNotFound."""
        ...

    def load_variables(self, run_id: str, at_step: int) -> tuple[dict[str, Any], dict[str, int]]:
        """Variables and visit counts after step ``at_step`` (-1: the initial ones)."""
        ...

    def load_messages(self, run_id: str, *, before_step: int | None = None) -> list[Message]:
        """The run's messages in order (only those of steps before ``before_step``)."""
        ...

    def load_conversation(self, run_id: str) -> Conversation:
        """The run's messages as a :class:`~graphflow.conversation.Conversation` that
        holds its length and last few messages and reads the others when first used —
        also after the store was closed. What the scheduler resumes a run with, so that
        resuming costs what the next step reads, not the length of the run."""
        ...

    def step_usages(self, run_id: str) -> list[dict[str, Any]]:
        """The usage of every step that used a model, in order: ``{node: usage}`` each."""
        ...

    def node_usage_parts(self, run_id: str, at_step: int | None = None) -> list[dict[str, Any]]:
        """What the run's usage per node after step ``at_step`` (``None``: its head) adds
        up from, in at most :data:`SNAPSHOT_EVERY` items: the per-node totals kept with
        the newest snapshot at or before that step that kept them, then the ``usage`` of
        each later step that used a model. Each item is ``{node: usage dict}``, as in
        :meth:`step_usages`, so :func:`graphflow.models.usage_by_node` sums them to the
        same totals as all of :meth:`step_usages` up to that step. Where snapshots did not
        keep usage (written by an older graphflow, or committed without
        ``usage_by_node``), the rows since the newest one that did are read, back to the
        run's first step if none did: the same sums, from more rows. ``[]`` for a run
        without usage, or an unknown run."""
        ...


class RunReader(_StateReader, Protocol):
    """Reading runs: what show, reports, overlays and run listings use."""

    def find_runs(self, prefix: str) -> list[str]:
        """Ids of the runs whose id starts with ``prefix``, oldest first."""
        ...

    def list_runs(self, *, status: str | None = None,
                  limit: int | None = None) -> list[RunRecord]:  # fmt: skip
        """Runs, newest first, optionally of one status; a run whose row cannot be
        decoded is listed with status ``damaged`` and the problem in ``error``. The runs
        of one graph may share one ``spec`` dict (a listing decodes each graph's spec
        once): read it, or copy it to change it."""
        ...

    def child_runs(self, run_id: str) -> list[ChildRun]:
        """Forks and subgraph runs of ``run_id``, oldest first."""
        ...

    def steps(self, run_id: str, *, from_step: int = 0) -> list[StepRow]:
        """The run's committed steps numbered ``from_step`` or more, in order (a reader
        that follows a run asks for what is new, not for the whole run again)."""
        ...

    def step_row(self, run_id: str, step: int) -> StepRow | None:
        """Committed step ``step`` of the run, or ``None``."""
        ...

    def message_rows(self, run_id: str, *, from_seq: int = 0) -> list[MessageRow]:
        """The run's messages with their step and sequence numbers, in order, from
        sequence number ``from_seq`` on."""
        ...

    def message_count(self, run_id: str) -> int:
        """How many messages the run has."""
        ...

    def model_calls(self, run_id: str) -> list[ModelCallRow]:
        """The model calls the run recorded, in order (``[]`` when it recorded none)."""
        ...

    def artifacts(self, run_id: str) -> list[ArtifactRow]:
        """The run's artifacts (a fork's include those it inherited), by step, node and
        name (``[]`` for a run without any, or an unknown run)."""
        ...

    def artifact_data(self, digest: str) -> bytes:
        """The bytes of the artifact whose SHA-256 is ``digest``. Raises StoreError when
        the store holds no such artifact."""
        ...


class RunWriter(_StateReader, Protocol):
    """Advancing runs: what the scheduler uses.

    ``shared`` is true when other processes can open the same store: the scheduler then
    renews the lease of a run it advances while a long step runs.
    """

    shared: bool

    def create_run(
        self,
        run_id: str,
        *,
        graph: str,
        spec: Mapping[str, Any],
        topology: str,
        frontier: Mapping[str, list[str]],
        variables: Mapping[str, Any],
        messages: Sequence[Message] = (),
        source: str | None = None,
        parent_run: str | None = None,
        parent_node: str | None = None,
        parent_visit: int | None = None,
    ) -> None:
        """Store a new run (status ``running``, its lease held by this store) with its
        input messages (step -1) and initial variables. Raises StoreError when the id
        is taken."""
        ...

    def acquire_lease(self, run_id: str) -> RunRecord:
        """Take the run's lease and return the run as read under it. Raises RunNotFound,
        or RunInUse naming the holder when another live holder has it."""
        ...

    def renew_lease(self, run_id: str) -> None:
        """Extend the lease this store holds on the run."""
        ...

    def release_lease(self, run_id: str) -> None:
        """Give up the lease this store holds on the run (no-op when it holds none)."""
        ...

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        reason: str | None = None,
        error: str | None = None,
        waiting: Mapping[str, Any] | None = None,
        failed_node: str | None = None,
        failed_step: int | None = None,
        release: bool = True,
    ) -> None:
        """Set the run's status with its reason, error, the question(s) it waits for,
        and the node and step that failed; these replace the previous ones. Releases the
        lease unless ``release=False``."""
        ...

    def commit_step(
        self,
        run_id: str,
        step: int,
        *,
        nodes: Sequence[str],
        messages: Sequence[Message],
        first_seq: int,
        variables: Mapping[str, Any] | None,
        frontier: Mapping[str, Any],
        usage: Mapping[str, Any] | None,
        run_usage: Mapping[str, Any] | None,
        started_at: float,
        state: tuple[Mapping[str, Any], Mapping[str, int]],
        had_writes: bool = False,
        had_effects: bool = True,
        usage_by_node: Mapping[str, UsageTotal] | None = None,
        ending: tuple[RunStatus, str | None] | None = None,
    ) -> None:
        """Commit step ``step`` all at once: its messages (numbered from ``first_seq``),
        the variables it changed, the next frontier, its usage per node, the run's new
        usage totals (``None``: unchanged). ``state`` is the run's variables and visit
        counts after the step, and ``usage_by_node`` the run's usage per node after it
        (``None``: not known), which the store keeps as a snapshot every
        :data:`SNAPSHOT_EVERY` steps (encoded then, never kept by reference: passing
        them costs nothing on the other steps). Deletes the step's saved branch writes
        and effects. ``ending``: the run ends with this step, with this status and
        reason — recorded in the same transaction, as :meth:`set_status` would record
        it after (the lease released, no error, nothing waiting). Raises StoreError when
        the step is already committed."""
        ...

    def save_writes(self, run_id: str, step: int,
                    payloads: Mapping[str, Mapping[str, Any]]) -> None:  # fmt: skip
        """Keep the results of finished branches of parallel step ``step``, by node."""
        ...

    def load_writes(self, run_id: str, step: int) -> dict[str, dict[str, Any]]:
        """The saved branch results of step ``step``, by node."""
        ...

    def get_effect(self, run_id: str, step: int, node: str, key: str) -> tuple[bool, Any]:
        """``(True, result)`` of an effect recorded in the uncommitted step, else
        ``(False, None)``."""
        ...

    def put_effect(self, run_id: str, step: int, node: str, key: str, result: Any, *,
                   calls: Sequence[ModelCall] = (),
                   joined: Callable[[], None] | None = None) -> None:  # fmt: skip
        """Record the (JSON) result of a side effect of the uncommitted step, durable
        when this returns, in one transaction with what goes with it:

        - ``calls``: the model calls that produced it, kept as :meth:`record_model_call`
          keeps one (a call that cannot be encoded is left out with a warning: keeping a
          call never fails its effect);
        - ``joined``: called inside the transaction before it commits; what it writes on
          the store's own connection (a table another part keeps in the run database,
          such as the SQLite store's response cache) commits or rolls back with the
          effect. When it raises, nothing is written and its error propagates.
        """
        ...

    def effect_results(self, run_id: str) -> list[Any]:
        """Results of the effects recorded by the run's uncommitted step."""
        ...

    def set_models(self, run_id: str, models: Mapping[str, Any]) -> None:
        """Record which models the run uses (replacing what it recorded before)."""
        ...

    def record_model_call(self, run_id: str, call: ModelCall) -> None:
        """Keep one model call of the run (at once, in its own transaction: a call made
        by a step that never commits happened all the same). A message sent in many
        prompts is stored once per run."""
        ...

    def put_artifact(self, run_id: str, step: int, node: str, name: str, media_type: str,
                     data: bytes) -> str:  # fmt: skip
        """Keep the file ``name`` that node ``node`` produced at step ``step`` and return
        the SHA-256 of ``data`` (hex). Written at once, in its own transaction (a file
        made by a step that never commits was made all the same); the same
        ``(run_id, step, node, name)`` again replaces the earlier one. The bytes are
        stored once per digest, shared by every run that names them.

        Raises:
            RunNotFound: no such run.
            StoreError: ``data`` is larger than :data:`MAX_ARTIFACT_BYTES`, or ``name``
                is not a relative path (empty, absolute, or with ``..``).
        """
        ...


class RunStore(RunReader, RunWriter, Protocol):
    """A complete store: reading, writing, forks and retention."""

    def fork_run(self, run_id: str, at_step: int, new_id: str,
                 initial_frontier: Mapping[str, list[str]]) -> None:  # fmt: skip
        """Create run ``new_id`` (status ``ready``) holding ``run_id``'s state just before
        step ``at_step``, with the artifacts of the steps before it. Raises RunNotFound,
        or StoreError for a step out of range or an id taken."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Delete the run and everything stored for it (an artifact's bytes too, once no
        run names them)."""
        ...

    def prune(
        self,
        *,
        older_than: float | None = None,
        status: Sequence[str] | None = None,
        keep_last: int | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Delete runs by age, status or beyond the newest ``keep_last``; see
        :func:`graphflow.store.retention.runs_to_prune`. Returns the ids deleted."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...

