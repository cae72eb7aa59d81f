"""What the parts of the SQLite store share: the connection, the one transaction idiom,
and reading a run's row with its head."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from graphflow.conversation import Conversation
from graphflow.errors import RunNotFound, StoreCorrupt, StoreError, StoreFull
from graphflow.messages import Message
from graphflow.store.codec import (
    dumps,
    listed_specs,
    message_extra,
    run_record,
    with_spec_texts,
)
from graphflow.store.model_calls import PromptChains
from graphflow.store.protocol import RunRecord

__all__ = ["Connection", "SQLiteBase", "Snapshot", "Transaction", "file_stamp", "sqlite_error",
           "unchanging"]


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


def unchanging(path: Path) -> bool:
    """Whether a read-only file can be read as immutable: its folder cannot be written
    and no process has it open for writing (no write-ahead log, no shared memory file).
    SQLite cannot open a WAL file (graphflow's) in a read-only folder otherwise: it
    could not create the shared memory file."""
    folder = path.resolve().parent
    return not os.access(folder, os.W_OK) and not any(
        Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))


def file_stamp(path: str) -> tuple[int, int, int, bool]:
    """What tells that another process wrote the file at ``path`` since: its inode, size
    and modification time (ns), and whether a write-ahead log (``-wal``) is beside it."""
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns, os.path.exists(f"{path}-wal")


class Snapshot(Connection):
    """The connection of a file opened immutable (SQLite's ``immutable=1``: no locks, no
    change detection), as one in a folder that cannot be written is: a process that may
    write the folder can still write the file, and an immutable connection would go on
    reading its old pages (stale listings, then "malformed" pages).

    Before each statement (one ``stat`` of the file and one of its ``-wal``, ~3 µs) it
    compares the file's :func:`file_stamp` with the one taken before it was opened; when
    it changed, ``reopen()`` opens the file again and returns the new connection and its
    stamp (``None``: a plain read-only one, which SQLite keeps current itself, so the
    checks stop). A statement that fails while immutable is tried once more on a file
    opened again (a change the stamp cannot see: two writes within the file system's
    time resolution); a damaged file fails the same way twice. The connection it
    replaces is not closed here: statements and cursors of other threads may still be
    using it (closing it under them crashed the process), and it closes when the last of
    them lets go of it. ``watched`` is the file as the store first opened it, an absolute
    path: a later ``chdir`` does not point the store at another file.
    """

    __slots__ = ("lock", "reopen", "stamp", "watched")

    def __init__(self, raw: sqlite3.Connection, path: str, stamp: tuple[int, int, int, bool],
                 reopen: Callable[[], tuple[sqlite3.Connection,
                                            tuple[int, int, int, bool] | None]],
                 watched: Path) -> None:  # fmt: skip
        super().__init__(raw, path)
        self.stamp: tuple[int, int, int, bool] | None = stamp
        self.reopen = reopen
        self.watched = str(watched)
        self.lock = threading.Lock()

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        params = tuple(params)
        if self.stamp is not None and self._changed():
            self._replace(self.stamp)
        stamp = self.stamp
        if stamp is None:
            return super().execute(sql, params)
        try:
            return self.raw.execute(sql, params)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError:
            self._replace(stamp)
            return super().execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        if self.stamp is not None and self._changed():
            self._replace(self.stamp)
        return super().executemany(sql, rows)

    def _changed(self) -> bool:
        try:
            return file_stamp(self.watched) != self.stamp
        except OSError:
            return True  # moved or deleted: opening it again says what is wrong

    def _replace(self, seen: tuple[int, int, int, bool] | None) -> None:
        """Open the file again, unless another thread did since the stamp ``seen``."""
        with self.lock:
            if self.stamp != seen:
                return
            raw, stamp = self.reopen()
            self.raw = raw  # before the stamp: a thread that sees the new stamp uses it
            self.stamp = stamp


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
#: A listing's: whether the spec a row names is there (``spec_found``), not its text,
#: which the listing reads once per graph (:func:`~graphflow.store.codec.with_spec_texts`).
_LISTED_COLUMNS = ("runs.*, specs.digest AS spec_found"
                   " FROM runs LEFT JOIN specs ON specs.digest = runs.spec_digest")


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
    #: a read-only file at an older format: another process may migrate it meanwhile
    _behind: bool = False
    #: such a file's ``PRAGMA schema_version`` when its format was read
    _schema: int = 0
    #: a read-only file as first opened (absolute: opened again there after a ``chdir``)
    _opened_at: Path
    #: whether :meth:`close` was called
    _closed: bool = False
    #: partly loaded conversations of an in-memory database, read when it closes
    _lazy: weakref.WeakValueDictionary[int, Conversation]
    #: the model call each run's node kept last through this store (prompts that extend
    #: it are stored against it)
    _chains: PromptChains

    def _tx(self) -> Transaction:
        return Transaction(self.conn, self.path)

    def _run_columns(self, listing: bool = False) -> str:
        """What a query of run rows selects, from ``FROM`` on (``SELECT … WHERE …``);
        ``listing``: many rows, whose spec texts :meth:`_run_rows` adds once per graph."""
        if self._format < 8:
            return _RUN_COLUMNS_7
        return _LISTED_COLUMNS if listing else _RUN_COLUMNS

    def _run_rows(self, query: Callable[[str], str], params: Iterable[Any],
                  listing: bool = False) -> list[dict[str, Any]]:  # fmt: skip
        """The rows of the run query ``query(columns)`` (``columns``: :meth:`_run_columns`).
        A ``listing`` reads each graph's spec text once for all its rows, rather than a
        copy in every row (10,000 runs of a 50 KB spec held 500 MB of copies).

        A read-only file of an older format may be migrated by another process while this
        store reads it: its rows then come in the new shape, which the older format's
        query misreads (every run "damaged"). So a store at an older format reads the
        file's schema version after each query (``PRAGMA schema_version``, ~3 µs) and,
        when it changed, reads the file's format again and queries again. A store at the
        current format (every writable one) checks nothing."""
        params = tuple(params)
        while True:
            read_at, behind = self._format, self._behind
            rows = self._rows(query(self._run_columns(listing)), params)
            if not behind or not self._reformatted(read_at):
                return self._spec_texts(rows) if listing and read_at >= 8 else rows

    def _spec_texts(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Listed rows with their spec texts, each graph's read once (as bytes, as
        :data:`_RUN_COLUMNS` reads it; see :func:`~graphflow.store.codec.with_spec_texts`)."""
        wanted = listed_specs(rows)
        texts: dict[str, Any] = {}
        for start in range(0, len(wanted), 500):  # (SQLite's limit on parameters)
            chunk = wanted[start:start + 500]
            texts.update(self.conn.execute(
                f"SELECT digest, CAST(spec AS BLOB) FROM specs WHERE digest IN "
                f"({','.join('?' * len(chunk))})", chunk).fetchall())  # fmt: skip
        return with_spec_texts(rows, texts)

    def _reformatted(self, read_at: int) -> bool:
        """Whether the file's format is no longer ``read_at``: its schema changed since it
        was identified (then it is identified again), or it was opened again meanwhile."""
        schema = self.conn.execute("PRAGMA schema_version").fetchone()[0]
        if schema != self._schema:
            self._reidentify()
        return self._format != read_at

    def _reidentify(self) -> None:
        """Read the open file's format (``_format``, ``_behind``, ``_schema``) again."""
        raise NotImplementedError

    def _not_found(self, run_id: str) -> RunNotFound:
        return RunNotFound(run_id, None if self.path == ":memory:" else self.path)

    def _read_run(self, run_id: str) -> RunRecord:
        """The run's row, with its head (``last_step``, ``frontier``) taken from its
        newest committed step when it has one."""
        found = self._run_rows(lambda columns: f"SELECT {columns} WHERE run_id = ?", (run_id,))
        if not found:
            raise self._not_found(run_id)
        row = found[0]
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
