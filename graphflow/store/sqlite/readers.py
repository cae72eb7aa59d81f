"""Reading runs from the SQLite store: runs, steps, messages, usage, child runs, and the
state at a step (the fold of deltas from the nearest snapshot)."""

from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path
from typing import Any

from graphflow.conversation import Conversation
from graphflow.errors import StoreCorrupt
from graphflow.messages import Message
from graphflow.store.codec import (
    listed_record,
    loads,
    message,
    message_row,
    step_row,
    usage_parts,
)
from graphflow.store.protocol import ChildRun, MessageRow, RunRecord, StepRow
from graphflow.store.sqlite.base import SQLiteBase, unchanging
from graphflow.store.values import fold

__all__ = ["TAIL_MESSAGES", "SQLiteReader"]

#: How many of its last messages :meth:`SQLiteReader.load_conversation` reads at once.
TAIL_MESSAGES = 16


class SQLiteReader(SQLiteBase):
    """The :class:`~graphflow.store.RunReader` side of the SQLite store."""

    # ---- runs -----------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        """The run's row, with its head (``last_step``, ``frontier``) taken from its newest
        committed step when it has one. Raises RunNotFound, StoreCorrupt."""
        return self._read_run(run_id)

    def find_runs(self, prefix: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT run_id FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY created_at",
            (prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
        )
        return [r[0] for r in rows]

    def list_runs(self, *, status: str | None = None,
                  limit: int | None = None) -> list[RunRecord]:  # fmt: skip
        where, params = ("status = ?", [status]) if status else ("1 = 1", [])
        tail = f" LIMIT {int(limit)}" if limit else ""
        rows = self._run_rows(
            lambda columns: "SELECT (SELECT MAX(step) FROM steps s WHERE s.run_id ="
            f" runs.run_id) AS head, {columns} WHERE {where} ORDER BY created_at DESC{tail}",
            params, listing=True)  # fmt: skip
        specs: dict[str, dict[str, Any]] = {}  # the runs of one graph share its spec
        return [listed_record(row, specs) for row in rows]

    def child_runs(self, run_id: str) -> list[ChildRun]:
        """Runs whose parent is ``run_id``: forks (with their fork step) and subgraph runs
        (with their node and visit), oldest first."""
        rows = self.conn.execute(
            "SELECT run_id, forked_at, parent_node, parent_visit FROM runs WHERE parent_run=?"
            " ORDER BY created_at", (run_id,))  # fmt: skip
        return [ChildRun(str(r[0]), r[1], r[2], r[3]) for r in rows]

    # ---- messages -------------------------------------------------------------------

    def load_messages(self, run_id: str, *, before_step: int | None = None) -> list[Message]:
        sql = "SELECT node, role, name, content, extra FROM messages WHERE run_id=?"
        params: list[Any] = [run_id]
        if before_step is not None:
            sql += " AND step < ?"
            params.append(before_step)
        try:
            rows = self._rows(sql + " ORDER BY seq", params)
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"run {run_id!r}: cannot read its messages ({exc})") from None
        return [message(row, run_id) for row in rows]

    def load_conversation(self, run_id: str) -> Conversation:
        """The run's messages: its last :data:`TAIL_MESSAGES` and its first read now
        (with the count, from the newest ``seq``), the others when first used. After :meth:`close`, a
        file's messages are read through a read-only connection of their own; an
        in-memory database reads them when it closes."""
        try:
            rows = self._rows("SELECT seq, node, role, name, content, extra FROM messages"
                              " WHERE run_id=? ORDER BY seq DESC LIMIT ?",
                              [run_id, TAIL_MESSAGES])  # fmt: skip
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"run {run_id!r}: cannot read its messages ({exc})") from None
        tail = [message(row, run_id) for row in reversed(rows)]
        count = int(rows[0]["seq"]) + 1 if rows else 0  # seq numbers 0, 1, … in a run
        if count == len(tail):
            return Conversation(tail)
        first = self._rows("SELECT seq, node, role, name, content, extra FROM messages"
                           " WHERE run_id=? AND seq=0", [run_id])  # the task, for windows
        convo = Conversation.lazy(count, tail, functools.partial(self._first_messages, run_id,
                                                                 count),
                                  first=message(first[0], run_id) if first else None)  # fmt: skip
        if self.path == ":memory:":
            self._lazy[id(convo)] = convo  # read before the database goes away
        return convo

    def _first_messages(self, run_id: str, count: int) -> list[Message]:
        """The run's first ``count`` messages (also once the store is closed)."""
        sql = ("SELECT node, role, name, content, extra FROM messages WHERE run_id=? AND seq<?"
               " ORDER BY seq")  # fmt: skip
        try:
            if not self._closed:
                rows = self._rows(sql, [run_id, count])
            else:
                # immutable as the store opened it, in a folder that cannot be written
                uri = Path(self.path).resolve().as_uri() + "?mode=ro" + (
                    "&immutable=1" if unchanging(Path(self.path)) else "")  # fmt: skip
                conn = sqlite3.connect(uri, uri=True)
                try:
                    cursor = conn.execute(sql, (run_id, count))
                    columns = [c[0] for c in cursor.description]
                    rows = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
                finally:
                    conn.close()
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"run {run_id!r}: cannot read its messages from {self.path} "
                               f"({exc})") from None  # fmt: skip
        return [message(row, run_id) for row in rows]

    def message_rows(self, run_id: str, *, from_seq: int = 0) -> list[MessageRow]:
        """Messages with their step and sequence numbers (from ``from_seq`` on)."""
        rows = self._rows("SELECT seq, step, node, role, name, content, extra FROM messages"
                          " WHERE run_id=? AND seq>=? ORDER BY seq", [run_id, from_seq])  # fmt: skip
        return [message_row(row, run_id) for row in rows]

    def message_count(self, run_id: str) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM messages WHERE run_id=?", (run_id,))
        return int(row.fetchone()[0])

    # ---- steps and state ------------------------------------------------------------

    def load_variables(self, run_id: str, at_step: int) -> tuple[dict[str, Any], dict[str, int]]:
        """Variables and visit counts after step ``at_step``: the nearest snapshot at or
        before it, plus the deltas of the steps after the snapshot."""
        snap = self.conn.execute(
            "SELECT step, variables, visits FROM snapshots WHERE run_id=? AND step<=?"
            " ORDER BY step DESC LIMIT 1",
            (run_id, at_step),
        ).fetchone()
        if snap is None:
            self._read_run(run_id)  # RunNotFound for an unknown run
            raise StoreCorrupt(f"run {run_id!r} has no snapshot; the database is damaged")
        base = snap[0]
        variables = loads(snap[1], run_id, "snapshot")
        visits = loads(snap[2], run_id, "snapshot")
        rows = self.conn.execute(
            "SELECT nodes, variables FROM steps WHERE run_id=? AND step>? AND step<=?"
            " ORDER BY step",
            (run_id, base, at_step),
        )
        for nodes, delta in rows:
            for node in loads(nodes, run_id, "step"):
                visits[node] = visits.get(node, 0) + 1
            if delta:
                fold(variables, loads(delta, run_id, "step"))
        return variables, visits

    def steps(self, run_id: str, *, from_step: int = 0) -> list[StepRow]:
        """The run's committed step rows from ``from_step`` on, decoded, in order."""
        return self.steps_between(run_id, from_step if from_step > 0 else -1, 2**62)

    def step_row(self, run_id: str, step: int) -> StepRow | None:
        rows = self.steps_between(run_id, step, step)
        return rows[0] if rows else None

    def steps_between(self, run_id: str, first: int, last: int) -> list[StepRow]:
        rows = self._rows("SELECT * FROM steps WHERE run_id=? AND step BETWEEN ? AND ?"
                          " ORDER BY step", [run_id, first, last])  # fmt: skip
        return [step_row(row) for row in rows]

    def step_usages(self, run_id: str) -> list[dict[str, Any]]:
        """The ``usage`` of every step that used a model (``{node: usage}`` each)."""
        rows = self.conn.execute(
            "SELECT usage FROM steps WHERE run_id=? AND usage IS NOT NULL ORDER BY step", (run_id,)
        )
        return [loads(r[0], run_id, "step usage") for r in rows]

    def node_usage_parts(self, run_id: str, at_step: int | None = None) -> list[dict[str, Any]]:
        """The per-node totals of the newest snapshot at or before ``at_step`` that kept
        them, then the ``usage`` of the steps after it (see
        :meth:`~graphflow.store.RunReader.node_usage_parts`)."""
        last = 2**62 if at_step is None else at_step
        snap = self.conn.execute(
            "SELECT step, usage FROM snapshots WHERE run_id=? AND step<=? AND usage IS NOT NULL"
            " ORDER BY step DESC LIMIT 1", (run_id, last)).fetchone()  # fmt: skip
        base, totals = (snap[0], snap[1]) if snap is not None else (-1, None)
        rows = self.conn.execute(
            "SELECT usage FROM steps WHERE run_id=? AND step>? AND step<=? AND usage IS NOT NULL"
            " ORDER BY step", (run_id, base, last))  # fmt: skip
        return usage_parts(totals, [r[0] for r in rows], run_id)

    # ---- the file -------------------------------------------------------------------

    def size_bytes(self) -> int:
        """The database's size in bytes (its WAL checkpointed into the file first)."""
        if self.path == ":memory:":
            page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
            pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
            return int(page_size * pages)
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return os.path.getsize(self.path)
