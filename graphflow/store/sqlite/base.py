"""What the parts of the SQLite store share: the connection, the one transaction idiom,
and reading a run's row with its head."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from graphflow.conversation import Conversation
from graphflow.errors import RunNotFound, StoreCorrupt, StoreError, StoreFull
from graphflow.messages import Message
from graphflow.store.codec import dumps, message_extra, run_record
from graphflow.store.model_calls import PromptChains
from graphflow.store.protocol import RunRecord

__all__ = ["Connection", "SQLiteBase", "Transaction", "sqlite_error"]


class Transaction:
    """``with Transaction(conn):`` runs the block in one ``BEGIN IMMEDIATE … COMMIT``
    (``ROLLBACK`` when it raises). The store's only way to write.

    An SQLite failure (a full disk, a locked or read-only file, a damaged page) becomes
    a :class:`~graphflow.errors.StoreError` naming the file, its cause and the fix; the
    cause is never hidden behind a failed rollback (SQLite may have rolled back itself).
    """

    __slots__ = ("conn", "path")

    def __init__(self, conn: sqlite3.Connection | Connection, path: str = "") -> None:
        self.conn = conn.raw if isinstance(conn, Connection) else conn
        self.path = path

    def __enter__(self) -> Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise sqlite_error(self.path, exc) from None
        return Connection(self.conn, self.path)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.DatabaseError as failed:
                exc = failed
        if self.conn.in_transaction:  # the cause below matters, not the rollback's
            with contextlib.suppress(sqlite3.DatabaseError):
                self.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.DatabaseError):
            raise sqlite_error(self.path, exc) from None


class Connection:
    """The store's SQLite connection: every statement that fails with an SQLite error (a
    dropped table, a damaged page, a locked or full file) raises :func:`sqlite_error`'s
    one-paragraph StoreError instead. Other attributes are the connection's own."""

    __slots__ = ("path", "raw")

    def __init__(self, raw: sqlite3.Connection, path: str) -> None:
        self.raw = raw
        self.path = path

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.raw.execute(sql, tuple(params))
        except sqlite3.IntegrityError:
            raise  # a constraint: the caller tells what it means (a step committed twice)
        except sqlite3.DatabaseError as exc:
            raise sqlite_error(self.path, exc) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        try:
            return self.raw.executemany(sql, rows)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise sqlite_error(self.path, exc) from None

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def sqlite_error(path: str, exc: sqlite3.DatabaseError) -> StoreError:
    """An SQLite failure as a one-paragraph error naming the file, the cause and the fix."""
    text = str(exc)
    where = path or "the run database"
    if "full" in text:
        return StoreFull(f"{where}: the disk (or the database) is full ({text}); nothing of "
                          "the step in progress was written. Free some space, then resume "
                          "the run: it continues from its last committed step")  # fmt: skip
    if "locked" in text or "busy" in text:
        return StoreError(f"{where} is locked by another process ({text}); wait for it to "
                          "finish, then try again")  # fmt: skip
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{where} is read-only ({text}); runs can be listed and shown, but "
                          "not run or changed: make the file and its folder writable")
    if "no such table" in text or "no such column" in text:
        return StoreCorrupt(f"{where} is damaged: {text} (a table was dropped or changed); "
                            "restore it from a backup, or point --db at another file")
    return StoreCorrupt(f"{where} is damaged ({text}); `sqlite3 {where} .recover` may save "
                        "what is left, or point --db at another file")


#: The columns of a run row, its spec's text joined in (``spec_text``; see
#: :func:`~graphflow.store.codec.run_record`), and the tables they come from; a file of
#: format 7 (opened read-only, not migrated) keeps the spec in the row. The spec is read
#: as bytes (decoded by the JSON decoder), so that one that is not UTF-8 is reported
#: damaged for its runs instead of failing the whole query (a listing of every run).
_RUN_COLUMNS = ("runs.*, CASE WHEN runs.spec_digest IS NULL THEN runs.spec ELSE"
                " CAST(specs.spec AS BLOB) END AS spec_text"
                " FROM runs LEFT JOIN specs ON specs.digest = runs.spec_digest")
_RUN_COLUMNS_7 = "runs.* FROM runs"


class SQLiteBase:
    """The state the parts of :class:`~graphflow.store.Store` share."""

    path: str
    conn: Connection
    lease_owner: str
    #: when this store last renewed a lease (``time.time()``); commits renew it too
    _renewed: float
    #: the format of the open file: :data:`~graphflow.store.sqlite.schema.FORMAT_VERSION`,
    #: or the one before when the file is read-only and could not be migrated
    _format: int
    #: whether :meth:`close` was called
    _closed: bool = False
    #: partly loaded conversations of an in-memory database, read when it closes
    _lazy: weakref.WeakValueDictionary[int, Conversation]
    #: the model call each run's node kept last through this store (prompts that extend
    #: it are stored against it)
    _chains: PromptChains

    def _tx(self) -> Transaction:
        return Transaction(self.conn, self.path)

    def _run_columns(self) -> str:
        """What a query of run rows selects, from ``FROM`` on (``SELECT … WHERE …``)."""
        return _RUN_COLUMNS if self._format >= 8 else _RUN_COLUMNS_7

    def _not_found(self, run_id: str) -> RunNotFound:
        return RunNotFound(run_id, None if self.path == ":memory:" else self.path)

    def _read_run(self, run_id: str) -> RunRecord:
        """The run's row, with its head (``last_step``, ``frontier``) taken from its
        newest committed step when it has one."""
        cursor = self.conn.execute(f"SELECT {self._run_columns()} WHERE run_id = ?", (run_id,))
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

    def _write_status(self, run_id: str, status: str, reason: str | None, *,
                      error: str | None = None, waiting: Mapping[str, Any] | None = None,
                      failed_node: str | None = None, failed_step: int | None = None,
                      release: bool = True) -> None:  # fmt: skip
        """The UPDATE of the run row that sets its status (see ``set_status``), inside
        the caller's transaction."""
        self.conn.execute(
            "UPDATE runs SET status=?, reason=?, error=?, waiting=?, failed_node=?,"
            " failed_step=?, updated_at=?"
            + (", lease_owner=NULL, lease_until=NULL" if release else "")
            + " WHERE run_id=?",
            (status, reason, error, dumps(waiting) if waiting else None, failed_node,
             failed_step, time.time(), run_id),
        )  # fmt: skip

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
