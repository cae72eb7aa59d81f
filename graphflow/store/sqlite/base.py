"""What the parts of the SQLite store share: the connection, the one transaction idiom,
and reading a run's row with its head."""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterable
from typing import Any

from graphflow.conversation import Conversation
from graphflow.errors import RunNotFound
from graphflow.messages import Message
from graphflow.store.codec import message_extra, run_record
from graphflow.store.protocol import RunRecord

__all__ = ["SQLiteBase", "Transaction"]


class Transaction:
    """``with Transaction(conn):`` runs the block in one ``BEGIN IMMEDIATE … COMMIT``
    (``ROLLBACK`` when it raises). The store's only way to write."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


class SQLiteBase:
    """The state the parts of :class:`~graphflow.store.Store` share."""

    path: str
    conn: sqlite3.Connection
    lease_owner: str
    #: when this store last renewed a lease (``time.time()``); commits renew it too
    _renewed: float
    #: whether :meth:`close` was called
    _closed: bool = False
    #: partly loaded conversations of an in-memory database, read when it closes
    _lazy: weakref.WeakValueDictionary[int, Conversation]

    def _tx(self) -> Transaction:
        return Transaction(self.conn)

    def _not_found(self, run_id: str) -> RunNotFound:
        return RunNotFound(run_id, None if self.path == ":memory:" else self.path)

    def _read_run(self, run_id: str) -> RunRecord:
        """The run's row, with its head (``last_step``, ``frontier``) taken from its
        newest committed step when it has one."""
        cursor = self.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        found = cursor.fetchone()
        if found is None:
            raise self._not_found(run_id)
        row = dict(zip([c[0] for c in cursor.description], found, strict=True))
        head = self.conn.execute(
            "SELECT step, next FROM steps WHERE run_id=? AND step>? ORDER BY step DESC LIMIT 1",
            (run_id, row["last_step"]),
        ).fetchone()
        if head is not None:
            row["last_step"], row["frontier"] = head
        return run_record(row)

    def _insert_messages(self, run_id: str, first_seq: int, step: int,
                         messages: Iterable[Message]) -> None:  # fmt: skip
        self.conn.executemany(
            "INSERT INTO messages (run_id, seq, step, node, role, name, content, extra)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [(run_id, first_seq + i, step, m.node, m.role, m.name, m.content, message_extra(m))
             for i, m in enumerate(messages)],
        )  # fmt: skip

    def _rows(self, sql: str, params: Iterable[Any]) -> list[dict[str, Any]]:
        """The rows of a query as dicts (column name → value)."""
        cursor = self.conn.execute(sql, tuple(params))
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
