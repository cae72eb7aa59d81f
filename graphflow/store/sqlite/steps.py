"""Committing steps in the SQLite store, and the branch writes of a parallel step in
flight."""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.errors import StoreError
from graphflow.messages import Message
from graphflow.store.codec import branch_result, check_status, dumps, dumps_record, usage_totals
from graphflow.store.lease import LEASE_SECONDS
from graphflow.store.protocol import SNAPSHOT_EVERY, RunStatus, UsageTotal
from graphflow.store.sqlite.base import SQLiteBase, sqlite_error

__all__ = ["SNAPSHOT_EVERY", "SQLiteSteps"]

logger = logging.getLogger(__name__)


_INSERT_STEP = ("INSERT INTO steps (run_id, step, nodes, variables, next, usage, started_at,"
                " seconds) VALUES (?,?,?,?,?,?,?,?)")
@functools.lru_cache(maxsize=4096)
def _nodes_json(nodes: tuple[str, ...]) -> str:
    """The JSON text of a step's node list (a loop or a chain repeats them)."""
    return dumps_record(list(nodes))


@functools.lru_cache(maxsize=4096)
def _one_node_head_json(run: tuple[str, ...], node: str, targets: tuple[str, ...]) -> str:
    """The JSON text of the usual head of a one-node step."""
    return dumps_record({"run": list(run), "wait": [], "via": {node: list(targets)}})


def _head_text(head: Mapping[str, Any]) -> str:
    """The step's head as JSON; the usual head of a one-node step (``{"run": R, "wait":
    [], "via": {NODE: T}}``, no reason) is encoded once per shape and then found again."""
    via, run = head.get("via"), head.get("run")
    if (len(head) != 3 or head.get("wait") != [] or type(run) is not list
            or type(via) is not dict or len(via) != 1):  # fmt: skip
        return dumps_record(head)
    ((node, targets),) = via.items()
    if type(targets) is not list or type(node) is not str:
        return dumps_record(head)
    return _one_node_head_json(tuple(run), node, tuple(targets))


def _committed_twice(run_id: str, step: int) -> StoreError:
    return StoreError(f"step {step} of run {run_id!r} is already committed: another process "
                      "advanced this run; resume it to continue from its head")


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
        usage_by_node: Mapping[str, UsageTotal] | None = None,
        ending: tuple[RunStatus, str | None] | None = None,
    ) -> None:
        """Commit one step in one transaction: its messages and its step row (which is
        the run's new head), plus what changed of the run row, a snapshot every
        :data:`SNAPSHOT_EVERY` steps, and the deletion of the step's writes and effects.

        A step that writes only its step row (most steps of function nodes) is that one
        ``INSERT`` in SQLite's autocommit mode: one statement is its own transaction, so
        it is as atomic and as durable as ``BEGIN … COMMIT`` around it, for two calls
        into SQLite less."""
        if ending:
            check_status(ending[0])  # before anything of the step is written
        now = time.time()
        row = (run_id, step, _nodes_json(tuple(nodes)), dumps(variables) if variables else None,
               _head_text(frontier), dumps_record(usage) if usage else None,
               started_at, now - started_at)  # fmt: skip
        renew = now - self._renewed > LEASE_SECONDS / 3
        snapshot = (step + 1) % SNAPSHOT_EVERY == 0
        if not (messages or run_usage is not None or renew or snapshot or had_writes
                or had_effects or ending):  # fmt: skip
            try:
                self.conn.raw.execute(_INSERT_STEP, row)
            except sqlite3.IntegrityError:
                raise _committed_twice(run_id, step) from None
            except sqlite3.DatabaseError as exc:
                raise sqlite_error(self.path, exc) from None
        else:
            with self._tx() as conn:
                if messages:
                    self._insert_messages(run_id, first_seq, step, messages)
                try:
                    conn.execute(_INSERT_STEP, row)
                except sqlite3.IntegrityError:
                    raise _committed_twice(run_id, step) from None
                if run_usage is not None:
                    conn.execute("UPDATE runs SET usage=? WHERE run_id=?",
                                 (dumps(run_usage), run_id))  # fmt: skip
                if renew:
                    conn.execute("UPDATE runs SET lease_until=?, updated_at=? WHERE run_id=? AND "
                                 "lease_owner=?", (now + LEASE_SECONDS, now, run_id,
                                                   self.lease_owner))  # fmt: skip
                    self._renewed = now
                if snapshot:
                    conn.execute(
                        "INSERT OR REPLACE INTO snapshots (run_id, step, variables, visits,"
                        " usage) VALUES (?,?,?,?,?)",
                        (run_id, step, dumps(state[0]), dumps(state[1]),
                         usage_totals(usage_by_node)),
                    )  # fmt: skip
                if had_writes:
                    conn.execute("DELETE FROM writes WHERE run_id=? AND step=?", (run_id, step))
                if had_effects:
                    conn.execute("DELETE FROM effects WHERE run_id=? AND step=?", (run_id, step))
                if ending:
                    self._write_status(run_id, ending[0], ending[1])
        if logger.isEnabledFor(logging.DEBUG):
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
