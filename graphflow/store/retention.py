"""Forks and retention of runs: copying a run's state into a new run, deleting runs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.errors import StoreError
from graphflow.store.records import Transaction, dumps

__all__ = ["RetentionMixin"]


class RetentionMixin:
    """Fork, delete and prune; mixed into :class:`~graphflow.store.Store`."""

    conn: sqlite3.Connection

    def get_run(self, run_id: str) -> Any: ...  # provided by Store
    def load_variables(self, run_id: str, at_step: int) -> Any: ...
    def step_row(self, run_id: str, step: int) -> Any: ...
    def list_runs(self, *, status: str | None = None, limit: int | None = None) -> Any: ...

    # ---- forks ----------------------------------------------------------------------

    def fork_run(self, run_id: str, at_step: int, new_id: str,
                 initial_frontier: Mapping[str, list[str]]) -> None:  # fmt: skip
        """Create run ``new_id`` holding ``run_id``'s state just before step ``at_step``
        (its messages, variables, visit counts and frontier), ready to resume."""
        record = self.get_run(run_id)
        if not 0 <= at_step <= record.last_step + 1:
            raise StoreError(
                f"run {run_id!r} has steps 0..{record.last_step}; fork at a step in "
                f"0..{record.last_step + 1}")  # fmt: skip
        variables, visits = self.load_variables(run_id, at_step - 1)
        if at_step == 0:
            frontier: Mapping[str, list[str]] = initial_frontier
        else:
            row = self.step_row(run_id, at_step - 1)
            frontier = row["next"] if row else record.frontier
        now = time.time()
        with Transaction(self.conn):
            try:
                self.conn.execute(
                    "INSERT INTO runs (run_id, graph, source, spec, topology, status, last_step,"
                    " frontier, usage, parent_run, forked_at, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,'ready',?,?,?,?,?,?,?)",
                    (new_id, record.graph, record.source, dumps(record.spec), record.topology,
                     at_step - 1, dumps(frontier), "{}", run_id, at_step, now, now),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise StoreError(f"a run with id {new_id!r} already exists") from None
            self.conn.execute(
                "INSERT INTO messages (run_id, seq, step, node, role, name, content, extra)"
                " SELECT ?, seq, step, node, role, name, content, extra FROM messages"
                " WHERE run_id=? AND step<?",
                (new_id, run_id, at_step),
            )
            self.conn.execute(
                "INSERT INTO snapshots (run_id, step, variables, visits) VALUES (?,?,?,?)",
                (new_id, at_step - 1, dumps(variables), dumps(visits)),
            )

    # ---- retention ------------------------------------------------------------------

    def delete_run(self, run_id: str) -> None:
        with Transaction(self.conn):
            for table in ("messages", "steps", "snapshots", "writes", "effects", "runs"):
                self.conn.execute(f"DELETE FROM {table} WHERE run_id=?", (run_id,))

    def prune(
        self,
        *,
        older_than: float | None = None,
        status: Sequence[str] | None = None,
        keep_last: int | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Delete runs by age (seconds since last update), status, or beyond the newest
        ``keep_last``; waiting and running runs are kept unless named in ``status``.
        Returns the ids deleted (or that would be, with ``dry_run``)."""
        runs = self.list_runs()
        keep = {r.run_id for r in runs[:keep_last]} if keep_last is not None else set()
        now = time.time()
        doomed = []
        for r in runs:
            if r.run_id in keep:
                continue
            if status is not None and r.status not in status:
                continue
            if status is None and r.status in ("waiting", "running"):
                continue
            if older_than is not None and now - r.updated_at < older_than:
                continue
            if older_than is None and status is None and keep_last is None:
                continue
            doomed.append(r.run_id)
        if not dry_run:
            for run_id in doomed:
                self.delete_run(run_id)
        return doomed

