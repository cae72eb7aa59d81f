"""Retention and forks, the parts every store shares: which runs ``prune`` deletes, and
where a fork starts. Each store does the copying and deleting its own way."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from graphflow.errors import RunNotFound, StoreCorrupt, StoreError
from graphflow.store.protocol import RunRecord, StepRow

__all__ = ["KEPT_UNLESS_NAMED", "Pruning", "entry_frontier", "fork_frontier", "runs_to_prune"]

#: Statuses ``prune`` keeps unless they are named: runs that are not over, and runs that
#: cannot be read (``damaged`` in a listing), whose status is unknown and whose damage
#: may be mended — a graph spec kept once for all the runs of a graph is written again by
#: the graph's next run, so one damaged row must not take a graph's waiting runs with it.
KEPT_UNLESS_NAMED = ("waiting", "running", "damaged")


def runs_to_prune(
    runs: Sequence[RunRecord],
    *,
    now: float,
    older_than: float | None = None,
    status: Sequence[str] | None = None,
    keep_last: int | None = None,
) -> list[str]:
    """The ids of ``runs`` (newest first) that ``prune`` deletes.

    A run goes when it is not among the newest ``keep_last``, has one of the ``status``
    (waiting, running and damaged runs are kept unless named), and was last updated more than
    ``older_than`` seconds before ``now``; conditions not given do not filter. With no
    condition at all nothing goes.

    Example:
        >>> runs_to_prune([], now=0.0, keep_last=1)
        []
    """
    if older_than is None and status is None and keep_last is None:
        return []
    keep = {r.run_id for r in runs[:keep_last]} if keep_last is not None else set()
    return [r.run_id for r in runs
            if r.run_id not in keep and _due(r, now, older_than, status)]  # fmt: skip


def _due(record: RunRecord, now: float, older_than: float | None,
         status: Sequence[str] | None) -> bool:  # fmt: skip
    """Whether ``record`` meets ``prune``'s status and age conditions."""
    if status is not None and record.status not in status:
        return False
    if status is None and record.status in KEPT_UNLESS_NAMED:
        return False
    return older_than is None or now - record.updated_at >= older_than


class _ListsAndDeletes(Protocol):
    def list_runs(self, *, status: str | None = None,
                  limit: int | None = None) -> list[RunRecord]: ...  # fmt: skip

    def get_run(self, run_id: str) -> RunRecord: ...

    def delete_run(self, run_id: str) -> None: ...


class Pruning:
    """``prune`` for a store that lists (newest first) and deletes runs its own way."""

    def prune(
        self: _ListsAndDeletes,
        *,
        older_than: float | None = None,
        status: Sequence[str] | None = None,
        keep_last: int | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Delete runs by age (seconds since last update), status, or beyond the newest
        ``keep_last``; waiting, running and damaged runs are kept unless named in
        ``status`` (see :func:`runs_to_prune`). Each run chosen from the listing is read
        again just before it is deleted, and kept if it no longer meets the conditions
        (answered, resumed, or mended — a damaged graph spec written back by the graph's
        next run — since the listing). Returns the ids deleted (or that would be, with
        ``dry_run``)."""
        now = time.time()
        doomed = runs_to_prune(self.list_runs(), now=now, older_than=older_than,
                               status=status, keep_last=keep_last)  # fmt: skip
        if dry_run:
            return doomed
        deleted = []
        for run_id in doomed:
            try:
                record = self.get_run(run_id)
            except StoreCorrupt:
                due = status is not None and "damaged" in status  # still unreadable
            except RunNotFound:
                continue  # deleted meanwhile
            else:
                due = _due(record, now, older_than, status)
            if due:
                self.delete_run(run_id)
                deleted.append(run_id)
        return deleted


def fork_frontier(record: RunRecord, at_step: int, step_before: StepRow | None,
                  initial_frontier: Mapping[str, list[str]],
                  started: Mapping[str, Any] | None = None) -> Mapping[str, Any]:  # fmt: skip
    """The frontier a fork of ``record`` at step ``at_step`` starts with: the entry's
    (``initial_frontier``) at step 0, else the one recorded by step ``at_step - 1``
    (``step_before``) — or, for a run that is itself a fork, at the step it was forked at
    (no step of its own before it), the frontier it was made with (``started``: its run
    row's stored frontier, which its steps never change; ``record.frontier`` is its head).

    Raises:
        StoreError: ``at_step`` is outside 0 … last step + 1, or, for a fork, before the
            step it was forked at (its steps before are its parent's, which keeps them).
    """
    if not 0 <= at_step <= record.last_step + 1:
        raise StoreError(
            f"run {record.run_id!r} has steps 0..{record.last_step}; fork at a step in "
            f"0..{record.last_step + 1}")  # fmt: skip
    if record.forked_at is not None and at_step < record.forked_at:
        raise StoreError(
            f"run {record.run_id!r} was forked from run {record.parent_run!r} at step "
            f"{record.forked_at}: its steps before {record.forked_at} are that run's, whose "
            f"state it does not keep; fork run {record.parent_run!r} at step {at_step} "
            f"instead (graphflow fork {record.parent_run} --at {at_step}), or this run at "
            f"a step in {record.forked_at}..{record.last_step + 1}")  # fmt: skip
    if at_step == 0:
        return initial_frontier
    if step_before is None and at_step == record.forked_at and started is not None:
        return started
    return step_before["next"] if step_before else record.frontier


def entry_frontier(record: RunRecord) -> dict[str, list[str]]:
    """The frontier a run of ``record``'s graph starts with, ``{"run": [entry], "wait":
    []}``, its entry node read from the run's stored graph spec: what a fork at step 0
    starts from (the ``initial_frontier`` of ``fork_run``).

    Raises:
        StoreCorrupt: the stored spec names no entry node (it is not a whole graph:
            damaged, or edited by hand).

    Example:
        >>> from graphflow.store import RunRecord
        >>> r = RunRecord("r1", "g", None, {"entry": "a"}, "t", "completed", None, None,
        ...               None, 0, {}, {}, None, None, None, None, 0.0, 0.0)
        >>> entry_frontier(r)
        {'run': ['a'], 'wait': []}
    """
    entry = record.spec.get("entry") if isinstance(record.spec, Mapping) else None
    if not isinstance(entry, str) or not entry:
        raise StoreCorrupt(
            f"run {record.run_id!r}: its stored graph spec is incomplete (it names no entry "
            "node: 'entry' is missing or not a node name), so where the run starts cannot be "
            "read from it; the run database was damaged or edited by hand. Restore it from a "
            "backup, or use the graph's file: continue this run with `graphflow resume "
            f"{record.run_id} --graph FILE`, or start it again with `graphflow run FILE`")  # fmt: skip
    return {"run": [entry], "wait": []}
