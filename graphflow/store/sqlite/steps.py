"""Committing steps in the SQLite store, and the branch writes of a parallel step in
flight."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.errors import StoreError
from graphflow.messages import Message
from graphflow.store.codec import branch_result, dumps, dumps_record
from graphflow.store.lease import LEASE_SECONDS
from graphflow.store.sqlite.base import SQLiteBase

__all__ = ["SNAPSHOT_EVERY", "SQLiteSteps"]

logger = logging.getLogger(__name__)

#: A snapshot of all variables and visit counts is kept after every this many steps, so
#: that loading a run folds at most this many step deltas.
SNAPSHOT_EVERY = 200


class SQLiteSteps(SQLiteBase):
    """Step commits and branch writes."""

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
    ) -> None:
        """Commit one step in one transaction: its messages and its step row (which is
        the run's new head), plus what changed of the run row, a snapshot every
        :data:`SNAPSHOT_EVERY` steps, and the deletion of the step's writes and effects."""
        now = time.time()
        with self._tx() as conn:
            if messages:
                self._insert_messages(run_id, first_seq, step, messages)
            try:
                conn.execute(
                    "INSERT INTO steps (run_id, step, nodes, variables, next, usage, started_at,"
                    " seconds) VALUES (?,?,?,?,?,?,?,?)",
                    (run_id, step, dumps_record(nodes), dumps(variables) if variables else None,
                     dumps_record(frontier), dumps_record(usage) if usage else None,
                     started_at, now - started_at),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise StoreError(
                    f"step {step} of run {run_id!r} is already committed: another process "
                    "advanced this run; resume it to continue from its head") from None  # fmt: skip
            if run_usage is not None:
                conn.execute("UPDATE runs SET usage=? WHERE run_id=?", (dumps(run_usage), run_id))
            if now - self._renewed > LEASE_SECONDS / 3:
                conn.execute("UPDATE runs SET lease_until=?, updated_at=? WHERE run_id=? AND "
                             "lease_owner=?", (now + LEASE_SECONDS, now, run_id, self.lease_owner))  # fmt: skip
                self._renewed = now
            if (step + 1) % SNAPSHOT_EVERY == 0:
                conn.execute(
                    "INSERT OR REPLACE INTO snapshots (run_id, step, variables, visits)"
                    " VALUES (?,?,?,?)",
                    (run_id, step, dumps(state[0]), dumps(state[1])),
                )
            if had_writes:
                conn.execute("DELETE FROM writes WHERE run_id=? AND step=?", (run_id, step))
            if had_effects:
                conn.execute("DELETE FROM effects WHERE run_id=? AND step=?", (run_id, step))
        logger.debug("run %s: committed step %d (%s; %d messages)", run_id, step,
                     ", ".join(nodes), len(messages))  # fmt: skip

    def save_writes(self, run_id: str, step: int,
                    payloads: Mapping[str, Mapping[str, Any]]) -> None:  # fmt: skip
        """Save the results of finished branches of a parallel step, in one transaction."""
        with self._tx() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO writes (run_id, step, node, payload) VALUES (?,?,?,?)",
                [(run_id, step, node, dumps(p)) for node, p in payloads.items()],
            )

    def load_writes(self, run_id: str, step: int) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT node, payload FROM writes WHERE run_id=? AND step=?", (run_id, step)
        )
        return {node: branch_result(payload, run_id) for node, payload in rows}
