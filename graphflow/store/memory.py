"""An in-memory run store: the same contract as the SQLite store, in Python dicts.

Use it for tests and throwaway runs where a file is not wanted: it keeps runs, steps,
messages, branch writes, effects, artifacts and leases exactly as the SQLite store
does (values are stored as JSON text, so they come back as the SQLite store returns
them), but only for the life of the process. ``Store(":memory:")`` remains the SQLite store in memory.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from graphflow.conversation import Conversation
from graphflow.errors import RunNotFound, StoreCorrupt, StoreError
from graphflow.messages import Message
from graphflow.store.codec import (
    branch_result,
    check_status,
    dumps,
    dumps_record,
    dumps_spec,
    listed_record,
    loads,
    message,
    message_extra,
    message_row,
    run_record,
    step_row,
    usage_parts,
    usage_totals,
)
from graphflow.store.lease import LEASE_SECONDS, check_lease, new_owner
from graphflow.store.memory_artifacts import MemoryArtifacts, drop_unused_blobs
from graphflow.store.model_calls import PromptChains, call_rows
from graphflow.store.protocol import (
    SNAPSHOT_EVERY,
    ArtifactRow,
    ChildRun,
    MessageRow,
    ModelCall,
    ModelCallRow,
    RunRecord,
    RunStatus,
    StepRow,
    UsageTotal,
)
from graphflow.store.retention import Pruning, fork_frontier
from graphflow.store.values import fold

__all__ = ["MemoryStore"]

_Row = dict[str, Any]


class _Tables:
    """The data of one in-memory store, shared by its handles."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.runs: dict[str, _Row] = {}  # columns of RunRecord; JSON values as text
        self.created: dict[str, int] = {}  # creation order, to sort runs created together
        self.steps: dict[str, dict[int, _Row]] = {}
        self.messages: dict[str, dict[int, _Row]] = {}  # by seq
        #: per run, by step: variables, visit counts, usage per node (None: not kept)
        self.snapshots: dict[str, dict[int, tuple[str, str, str | None]]] = {}
        self.writes: dict[tuple[str, int], dict[str, str]] = {}
        self.effects: dict[tuple[str, int, str, str], str] = {}
        self.calls: dict[str, list[_Row]] = {}  # model calls, in order
        self.prompts: dict[str, dict[str, str]] = {}  # prompt messages by key, per run
        self.artifacts: dict[str, dict[tuple[int, str, str], ArtifactRow]] = {}  # per run
        self.blobs: dict[str, bytes] = {}  # artifact bytes by digest
        self.counter = itertools.count()


class MemoryStore(MemoryArtifacts, Pruning):
    """A run store held in memory (implements :class:`~graphflow.store.RunStore`).

    Pass it wherever a store is accepted (``graph.run(store=MemoryStore())``). A second
    handle on the same data (:meth:`handle`) has its own lease owner, as a second process
    opening the same database would.

    Example:
        >>> from graphflow import Graph
        >>> g = Graph("hello", entry="greet")
        >>> _ = g.add_node("greet", lambda state: "hello!")
        >>> store = MemoryStore()
        >>> run = g.compile().run_sync(store=store)
        >>> store.get_run(run.run_id).status, [m.content for m in store.load_messages(run.run_id)]
        ('completed', ['hello!'])
    """

    shared = False

    def __init__(self, *, _tables: _Tables | None = None) -> None:
        self._t = _tables or _Tables()
        self._chains = PromptChains()
        self.lease_owner = new_owner(self)
        self._renewed = 0.0

    def handle(self) -> MemoryStore:
        """Another handle on the same data, with a lease owner of its own."""
        return MemoryStore(_tables=self._t)

    def close(self) -> None:
        """Nothing to release; the data stays with the other handles."""

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _locked(self) -> Iterator[_Tables]:
        with self._t.lock:
            yield self._t

    def _row(self, t: _Tables, run_id: str) -> _Row:
        row = t.runs.get(run_id)
        if row is None:
            raise RunNotFound(run_id)
        return row

    def _with_head(self, t: _Tables, row: _Row) -> _Row:
        steps = t.steps.get(row["run_id"]) or {}
        head = max(steps, default=None)
        if head is not None and head > row["last_step"]:
            return {**row, "last_step": head, "frontier": steps[head]["next"]}
        return row

    # ---- runs -----------------------------------------------------------------------

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
        now = time.time()
        with self._locked() as t:
            if run_id in t.runs:
                raise StoreError(f"a run with id {run_id!r} already exists in this memory "
                                 "store; choose another run id or resume that run")  # fmt: skip
            self._insert_run(t, run_id, graph=graph, source=source, spec=dumps_spec(spec),
                             topology=topology, status="running", last_step=-1,
                             frontier=dumps(frontier), parent_run=parent_run,
                             parent_node=parent_node, parent_visit=parent_visit,
                             lease_owner=self.lease_owner, lease_until=now + LEASE_SECONDS,
                             now=now)  # fmt: skip
            self._insert_messages(t, run_id, 0, -1, messages)
            t.snapshots[run_id] = {-1: (dumps(variables), "{}", "{}")}
            self._renewed = now  # the lease was just taken: the first steps need not renew it

    def _insert_run(self, t: _Tables, run_id: str, *, now: float, **columns: Any) -> None:
        t.runs[run_id] = {"run_id": run_id, "reason": None, "error": None, "waiting": None,
                          "usage": "{}", "forked_at": None, "failed_node": None,
                          "failed_step": None, "parent_node": None, "parent_visit": None,
                          "lease_owner": None, "lease_until": None, "models": None, **columns,
                          "created_at": now, "updated_at": now}  # fmt: skip
        t.created[run_id] = next(t.counter)
        t.steps[run_id] = {}
        t.messages.setdefault(run_id, {})

    def _insert_messages(self, t: _Tables, run_id: str, first_seq: int, step: int,
                         messages: Sequence[Message]) -> None:  # fmt: skip
        stored = t.messages.setdefault(run_id, {})
        for i, m in enumerate(messages):
            stored[first_seq + i] = {"seq": first_seq + i, "step": step, "node": m.node,
                                     "role": m.role, "name": m.name, "content": m.content,
                                     "extra": message_extra(m)}  # fmt: skip

    def get_run(self, run_id: str) -> RunRecord:
        with self._locked() as t:
            return run_record(self._with_head(t, self._row(t, run_id)))

    def find_runs(self, prefix: str) -> list[str]:
        with self._locked() as t:
            found = [r for r in t.runs if r.startswith(prefix)]
            return sorted(found, key=lambda r: (t.runs[r]["created_at"], t.created[r]))

    def list_runs(self, *, status: str | None = None,
                  limit: int | None = None) -> list[RunRecord]:  # fmt: skip
        with self._locked() as t:
            rows = [self._with_head(t, row) for row in t.runs.values()
                    if not status or row["status"] == status]  # fmt: skip
            rows.sort(key=lambda r: (r["created_at"], t.created[r["run_id"]]), reverse=True)
        return [listed_record(row) for row in (rows[:limit] if limit else rows)]

    def child_runs(self, run_id: str) -> list[ChildRun]:
        with self._locked() as t:
            rows = [r for r in t.runs.values() if r["parent_run"] == run_id]
            rows.sort(key=lambda r: (r["created_at"], t.created[r["run_id"]]))
            return [ChildRun(r["run_id"], r["forked_at"], r["parent_node"], r["parent_visit"])
                    for r in rows]  # fmt: skip

    def set_status(self, run_id: str, status: RunStatus, *, reason: str | None = None,
                   error: str | None = None, waiting: Mapping[str, Any] | None = None,
                   failed_node: str | None = None, failed_step: int | None = None,
                   release: bool = True) -> None:  # fmt: skip
        check_status(status)
        with self._locked() as t:
            row = t.runs.get(run_id)
            if row is None:  # like an UPDATE that matches no row
                return
            row.update(status=status, reason=reason, error=error,
                       waiting=dumps(waiting) if waiting else None, failed_node=failed_node,
                       failed_step=failed_step, updated_at=time.time())  # fmt: skip
            if release:
                row.update(lease_owner=None, lease_until=None)

    # ---- leases ---------------------------------------------------------------------

    def acquire_lease(self, run_id: str) -> RunRecord:
        now = time.time()
        with self._locked() as t:
            row = self._row(t, run_id)
            record = run_record(self._with_head(t, row))
            check_lease(run_id, row["lease_owner"], row["lease_until"], self.lease_owner, now)
            row.update(lease_owner=self.lease_owner, lease_until=now + LEASE_SECONDS)
            self._renewed = now
        return replace(record, lease_owner=self.lease_owner, lease_until=now + LEASE_SECONDS)

    def release_lease(self, run_id: str) -> None:
        with self._locked() as t:
            row = t.runs.get(run_id)
            if row is not None and row["lease_owner"] == self.lease_owner:
                row.update(lease_owner=None, lease_until=None)

    def renew_lease(self, run_id: str) -> None:
        now = time.time()
        with self._locked() as t:
            row = t.runs.get(run_id)
            if row is not None and row["lease_owner"] == self.lease_owner:
                row["lease_until"] = now + LEASE_SECONDS
            self._renewed = now

    # ---- steps ----------------------------------------------------------------------

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
        if ending:
            check_status(ending[0])  # before anything of the step is written
        now = time.time()
        with self._locked() as t:
            row = self._row(t, run_id)
            steps = t.steps[run_id]
            stored = t.messages[run_id]
            taken = any(first_seq + i in stored for i in range(len(messages)))
            if step in steps or taken:
                raise StoreError(
                    f"step {step} of run {run_id!r} is already committed: another process "
                    "advanced this run; resume it to continue from its head")  # fmt: skip
            self._insert_messages(t, run_id, first_seq, step, messages)
            steps[step] = {"run_id": run_id, "step": step, "nodes": dumps_record(list(nodes)),
                           "variables": dumps(variables) if variables else None,
                           "next": dumps_record(frontier),
                           "usage": dumps_record(usage) if usage else None,
                           "started_at": started_at, "seconds": now - started_at}  # fmt: skip
            if run_usage is not None:
                row["usage"] = dumps(run_usage)
            if now - self._renewed > LEASE_SECONDS / 3 and row["lease_owner"] == self.lease_owner:
                row.update(lease_until=now + LEASE_SECONDS, updated_at=now)
                self._renewed = now
            if (step + 1) % SNAPSHOT_EVERY == 0:
                t.snapshots[run_id][step] = (dumps(state[0]), dumps(state[1]),
                                             usage_totals(usage_by_node))  # fmt: skip
            if had_writes:
                t.writes.pop((run_id, step), None)
            if had_effects:
                for key in [k for k in t.effects if k[0] == run_id and k[1] == step]:
                    del t.effects[key]
            if ending:
                row.update(status=ending[0], reason=ending[1], error=None, waiting=None,
                           failed_node=None, failed_step=None, updated_at=now,
                           lease_owner=None, lease_until=None)  # fmt: skip

    def save_writes(self, run_id: str, step: int,
                    payloads: Mapping[str, Mapping[str, Any]]) -> None:  # fmt: skip
        with self._locked() as t:
            saved = t.writes.setdefault((run_id, step), {})
            saved.update({node: dumps(p) for node, p in payloads.items()})

    def load_writes(self, run_id: str, step: int) -> dict[str, dict[str, Any]]:
        with self._locked() as t:
            saved = dict(t.writes.get((run_id, step), {}))
        return {node: branch_result(text, run_id) for node, text in saved.items()}

    # ---- effects --------------------------------------------------------------------

    def get_effect(self, run_id: str, step: int, node: str, key: str) -> tuple[bool, Any]:
        with self._locked() as t:
            text = t.effects.get((run_id, step, node, key))
        return (True, loads(text, run_id, "effect")) if text is not None else (False, None)

    def put_effect(self, run_id: str, step: int, node: str, key: str, result: Any, *,
                   calls: Sequence[ModelCall] = (),
                   joined: Callable[[], None] | None = None) -> None:  # fmt: skip
        text = dumps(result)
        encoded = self._chains.encode(run_id, calls)
        with self._locked() as t:
            if joined is not None:
                joined()
            seqs = [self._insert_call(t, run_id, entries, columns)
                    for entries, columns, _ in encoded]  # fmt: skip
            t.effects[(run_id, step, node, key)] = text
        self._chains.kept(encoded, seqs)

    def effect_results(self, run_id: str) -> list[Any]:
        with self._locked() as t:
            texts = [text for k, text in t.effects.items() if k[0] == run_id]
        return [loads(text, run_id, "effect") for text in texts]

    # ---- models and model calls -----------------------------------------------------

    def set_models(self, run_id: str, models: Mapping[str, Any]) -> None:
        with self._locked() as t:
            row = self._row(t, run_id)
            row["models"], row["updated_at"] = dumps(models), time.time()

    def record_model_call(self, run_id: str, call: ModelCall) -> None:
        encoded = self._chains.encode(run_id, [call])
        with self._locked() as t:
            seqs = [self._insert_call(t, run_id, entries, columns)
                    for entries, columns, _ in encoded]  # fmt: skip
        self._chains.kept(encoded, seqs)

    def _insert_call(self, t: _Tables, run_id: str, entries: list[tuple[str, str]],
                     columns: dict[str, Any]) -> int:  # fmt: skip
        t.prompts.setdefault(run_id, {}).update(entries)
        calls = t.calls.setdefault(run_id, [])
        calls.append({"run_id": run_id, "seq": len(calls), **columns})
        return len(calls) - 1

    def model_calls(self, run_id: str) -> list[ModelCallRow]:
        with self._locked() as t:
            rows = list(t.calls.get(run_id) or [])
            messages = dict(t.prompts.get(run_id) or {})
        return call_rows(rows, messages)

    # ---- reading state --------------------------------------------------------------

    def load_messages(self, run_id: str, *, before_step: int | None = None) -> list[Message]:
        return [message(row, run_id) for row in self._message_rows(run_id, before_step)]

    def load_conversation(self, run_id: str) -> Conversation:
        """The run's messages: the last 16 and the first decoded now, the others when
        first used."""
        with self._locked() as t:
            stored = t.messages.get(run_id) or {}
            count = len(stored)  # seq numbers 0, 1, … in a run
            tail = [stored[seq] for seq in range(max(count - 16, 0), count)]
            task = stored.get(0)
        messages = [message(row, run_id) for row in tail]
        if count == len(messages):
            return Conversation(messages)

        def first() -> list[Message]:
            with self._locked() as t:
                now = t.messages.get(run_id) or {}
                rows = [now[seq] for seq in range(count) if seq in now]
            if len(rows) != count:
                raise StoreCorrupt(f"run {run_id!r}: its messages were deleted while read")
            return [message(row, run_id) for row in rows]

        return Conversation.lazy(count, messages, first,
                                 first=message(task, run_id) if task else None)  # fmt: skip

    def message_rows(self, run_id: str, *, from_seq: int = 0) -> list[MessageRow]:
        with self._locked() as t:
            stored = t.messages.get(run_id) or {}
            rows = [stored[seq] for seq in sorted(stored) if seq >= from_seq]
        return [message_row(row, run_id) for row in rows]

    def _message_rows(self, run_id: str, before_step: int | None) -> list[_Row]:
        with self._locked() as t:
            stored = t.messages.get(run_id) or {}
            rows = [stored[seq] for seq in sorted(stored)]
        return [r for r in rows if before_step is None or r["step"] < before_step]

    def message_count(self, run_id: str) -> int:
        with self._locked() as t:
            return len(t.messages.get(run_id) or {})

    def load_variables(self, run_id: str, at_step: int) -> tuple[dict[str, Any], dict[str, int]]:
        with self._locked() as t:
            self._row(t, run_id)
            snaps = t.snapshots.get(run_id) or {}
            base = max((s for s in snaps if s <= at_step), default=None)
            if base is None:
                raise StoreCorrupt(f"run {run_id!r} has no state at step {at_step}")
            deltas = [t.steps[run_id][s] for s in sorted(t.steps[run_id]) if base < s <= at_step]
        variables = loads(snaps[base][0], run_id, "snapshot")
        visits = loads(snaps[base][1], run_id, "snapshot")
        for row in deltas:
            for node in loads(row["nodes"], run_id, "step"):
                visits[node] = visits.get(node, 0) + 1
            if row["variables"]:
                fold(variables, loads(row["variables"], run_id, "step"))
        return variables, visits

    def steps(self, run_id: str, *, from_step: int = 0) -> list[StepRow]:
        with self._locked() as t:
            stored = t.steps.get(run_id) or {}
            rows = [stored[s] for s in sorted(stored) if s >= from_step]
        return [step_row(row) for row in rows]

    def step_row(self, run_id: str, step: int) -> StepRow | None:
        with self._locked() as t:
            row = (t.steps.get(run_id) or {}).get(step)
        return step_row(row) if row is not None else None

    def step_usages(self, run_id: str) -> list[dict[str, Any]]:
        with self._locked() as t:
            stored = t.steps.get(run_id) or {}
            texts = [stored[s]["usage"] for s in sorted(stored) if stored[s]["usage"]]
        return [loads(text, run_id, "step usage") for text in texts]

    def node_usage_parts(self, run_id: str, at_step: int | None = None) -> list[dict[str, Any]]:
        last = 2**62 if at_step is None else at_step
        with self._locked() as t:
            snaps = t.snapshots.get(run_id) or {}
            base = max((s for s, snap in snaps.items() if s <= last and snap[2] is not None),
                       default=-1)  # fmt: skip
            totals = snaps[base][2] if base in snaps else None
            stored = t.steps.get(run_id) or {}
            texts, step = [], base + 1  # a run's steps follow its snapshot without a gap
            while step <= last and step in stored:
                if stored[step]["usage"]:
                    texts.append(stored[step]["usage"])
                step += 1
        return usage_parts(totals, texts, run_id)

    # ---- forks and retention --------------------------------------------------------

    def fork_run(self, run_id: str, at_step: int, new_id: str,
                 initial_frontier: Mapping[str, list[str]]) -> None:  # fmt: skip
        with self._locked() as t:  # the source is read and copied under one hold of the lock
            record = self.get_run(run_id)
            started = (loads(self._row(t, run_id)["frontier"], run_id, "run frontier")
                       if record.forked_at == at_step else None)  # fmt: skip
            frontier = fork_frontier(record, at_step,
                                     self.step_row(run_id, at_step - 1) if at_step else None,
                                     initial_frontier, started)  # fmt: skip
            variables, visits = self.load_variables(run_id, at_step - 1)
            if new_id in t.runs:
                raise StoreError(f"a run with id {new_id!r} already exists")
            self._insert_run(t, new_id, graph=record.graph, source=record.source,
                             spec=dumps(record.spec), topology=record.topology, status="ready",
                             last_step=at_step - 1, frontier=dumps(frontier), parent_run=run_id,
                             forked_at=at_step, now=time.time(),
                             models=dumps(record.models) if record.models else None)  # fmt: skip
            t.messages[new_id] = {seq: {**row} for seq, row in t.messages[run_id].items()
                                  if row["step"] < at_step}  # fmt: skip
            t.snapshots[new_id] = {at_step - 1: (dumps(variables), dumps(visits), "{}")}
            t.artifacts[new_id] = {key: ArtifactRow(**{**row, "run_id": new_id})
                                   for key, row in (t.artifacts.get(run_id) or {}).items()
                                   if key[0] < at_step}  # fmt: skip

    def delete_run(self, run_id: str) -> None:
        with self._locked() as t:
            for table in (t.runs, t.created, t.steps, t.messages, t.snapshots, t.calls,
                          t.prompts, t.artifacts):
                table.pop(run_id, None)
            drop_unused_blobs(t)
            for key in [k for k in t.writes if k[0] == run_id]:
                del t.writes[key]
            for ekey in [k for k in t.effects if k[0] == run_id]:
                del t.effects[ekey]
