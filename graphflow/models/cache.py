"""A response cache in SQLite, so that a repeated request costs nothing.

Entries live in their own table (``model_cache``) of any SQLite file, by default the run
database. There the cache works on the run store's own connection (``connection=``), so
its entries have the store's durability and can join the store's transactions: within
:func:`deferred_writes` an answer's entry is not written at once but collected, and the
agent runtime writes it in the same transaction as the model call kept with the run and
the answer's recorded effect (one transaction instead of three; see
docs/durability.md). A cache on a file of its own has a connection of its own (WAL mode)
with the given durability: ``normal`` (``synchronous=NORMAL``, no fsync per write; a
written entry survives a crash of the process) or ``full``. A cached answer lost to a
power cut only costs asking again, so it never needs more than the steps it serves. The
key is a SHA-256 of everything the answer depends on: model and endpoint identity,
messages, tools, request options, response format and the cache seed. API keys are never
part of the key or of the stored rows. The table is created on the first write, so a
cache opened on a new run database leaves it untouched until a model has actually
answered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from graphflow.errors import StoreError

__all__ = ["PendingWrites", "ResponseCache", "deferred_writes", "request_key"]

_TABLE = "model_cache"


class PendingWrites:
    """Cache entries collected by :func:`deferred_writes`, not written yet.

    ``write()`` writes them (each on its cache's connection) and forgets them; it is
    meant to be called inside a transaction of the run store whose connection the
    caches share, so that the entries commit or roll back with what that transaction
    writes. Its truth value says whether any entry is waiting.
    """

    def __init__(self) -> None:
        self._entries: list[tuple[ResponseCache, str, str, str, float]] = []

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, cache: ResponseCache, key: str, text: str, model: str) -> None:
        self._entries.append((cache, key, text, model, time.time()))

    def write(self) -> None:
        """Write the collected entries.

        Raises:
            StoreError: an entry cannot be written (the transaction it joins then rolls
                back).
        """
        entries, self._entries = self._entries, []
        for cache, key, text, model, created_at in entries:
            cache._write(key, text, model, created_at)


_PENDING: ContextVar[PendingWrites | None] = ContextVar("graphflow_cache_pending",
                                                        default=None)  # fmt: skip


@contextlib.contextmanager
def deferred_writes() -> Iterator[PendingWrites]:
    """Within the block (in this task or thread), an entry put into a cache that works
    on a connection it was given (``ResponseCache(connection=...)``: the run store's) is
    collected instead of written; write it with ``pending.write()`` inside the store's
    transaction. Caches with a connection of their own write at once, as always. When the
    block raises, what it collected is written at once (an answer that arrived stays
    cached).

    Example:
        >>> conn = sqlite3.connect(":memory:", isolation_level=None)
        >>> cache = ResponseCache(connection=conn)
        >>> with deferred_writes() as pending:
        ...     cache.put("k", {"message": {"content": "hi"}}, model="m")
        >>> (len(pending), cache.get("k"))
        (1, None)
        >>> pending.write()
        >>> cache.get("k")["message"]["content"]
        'hi'
    """
    pending = PendingWrites()
    token = _PENDING.set(pending)
    try:
        yield pending
    except BaseException:
        _PENDING.reset(token)
        with contextlib.suppress(Exception):  # the block's own error is the one to see
            pending.write()
        raise
    _PENDING.reset(token)


def request_key(
    identity: Mapping[str, Any],
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    response_format: Mapping[str, Any] | None = None,
    cache_seed: int = 0,
) -> str:
    """The cache key of a request: a SHA-256 hex digest of its canonical JSON.

    ``identity`` says which model answers (see ``ModelConfig.identity``); it must not
    hold secrets.

    Example:
        >>> a = request_key({"model": "m"}, [{"role": "user", "content": "hi"}])
        >>> a == request_key({"model": "m"}, [{"role": "user", "content": "hi"}], cache_seed=1)
        False
    """
    payload = {
        "identity": dict(identity),
        "messages": list(messages),
        "tools": list(tools or ()),
        "params": dict(params or {}),
        "response_format": response_format,
        "cache_seed": cache_seed,
    }
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Model answers stored in SQLite by request key.

    Args:
        path: the SQLite file (usually the run database), or ``":memory:"``; the cache
            opens a connection of its own on it.
        table: the table name.
        durability: with ``path``: ``"normal"`` (``synchronous=NORMAL``) or ``"full"``
            (an fsync per write, ``synchronous=FULL``): the run store's setting.
        connection: instead of ``path``, an open connection to work on (the run store's,
            autocommit: ``isolation_level=None``); the cache then writes with that
            connection's durability, never closes it, and its entries can join the
            connection's transactions (see :func:`deferred_writes`).

    Raises:
        StoreError: a bad table name or durability, both or neither of ``path`` and
            ``connection``, or a file that is not SQLite.

    Example:
        >>> cache = ResponseCache(":memory:")
        >>> cache.get("k") is None
        True
        >>> cache.put("k", {"message": {"content": "hi"}}, model="m")
        >>> cache.get("k")["message"]["content"]
        'hi'
        >>> cache.close()
    """

    def __init__(self, path: str | Path | None = None, *, table: str = _TABLE,
                 durability: str = "normal",
                 connection: sqlite3.Connection | None = None) -> None:  # fmt: skip
        if not table.replace("_", "").isalnum():
            raise StoreError(f"cache table name {table!r} must be letters, digits and _ only")
        if durability not in ("normal", "full"):
            raise StoreError(f"cache durability {durability!r} must be 'normal' or 'full'")
        if (path is None) == (connection is None):
            given = "both" if path is not None else "neither"
            raise StoreError(f"the response cache was given {given} of a path and a "
                             "connection; give it one: the path of an SQLite file, or an "
                             "open connection to work on")  # fmt: skip
        self.table = table
        self._lock = threading.Lock()
        self._ready = False
        #: the cache works on a connection it was given (the run store's)
        self.shared = connection is not None
        if connection is not None:
            self._conn = connection
            self.path = _file_of(connection)
            return
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 10000")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {durability.upper()}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the response cache {self.path}: {exc}; point it at an SQLite "
                "file (the run database) or disable caching with cache_seed=None"
            ) from None

    def _table_exists(self) -> bool:
        if not self._ready:
            row = self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,)
            ).fetchone()
            self._ready = row is not None
        return self._ready

    def _create(self) -> None:
        from graphflow.store.sqlite.schema import APPLICATION_ID

        if self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            # a new file: mark it as graphflow's, so the run store may join it later
            self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "key TEXT PRIMARY KEY, model TEXT NOT NULL, response TEXT NOT NULL, "
            "created_at REAL NOT NULL) WITHOUT ROWID"
        )
        # created inside a transaction that may yet roll back: look again next time
        self._ready = not self._conn.in_transaction

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer for ``key``, or ``None``."""
        with self._lock:
            try:
                if not self._table_exists():
                    return None
                row = self._conn.execute(
                    f"SELECT response FROM {self.table} WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.DatabaseError as exc:
                raise self._error("read", exc) from None
        return None if row is None else json.loads(row[0])

    def put(self, key: str, response: Mapping[str, Any], *, model: str) -> None:
        """Store ``response`` (JSON-ready) under ``key``, replacing an older entry (or,
        inside :func:`deferred_writes` on a shared connection, collect it)."""
        text = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
        pending = _PENDING.get()
        if pending is not None and self.shared:
            pending.add(self, key, text, model)
            return
        self._write(key, text, model, time.time())

    def _write(self, key: str, text: str, model: str, created_at: float) -> None:
        with self._lock:
            try:
                if not self._table_exists():
                    self._create()
                self._conn.execute(
                    f"INSERT OR REPLACE INTO {self.table}(key, model, response, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (key, model, text, created_at),
                )
            except sqlite3.DatabaseError as exc:
                raise self._error("write", exc) from None

    def __len__(self) -> int:
        with self._lock:
            if not self._table_exists():
                return 0
            return int(self._conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0])

    def prune(self, *, older_than: float | None = None, keep: int | None = None) -> int:
        """Delete entries older than ``older_than`` seconds and/or all but the ``keep``
        newest; returns how many were deleted."""
        with self._lock:
            if not self._table_exists():
                return 0
            before = self._conn.total_changes
            if older_than is not None:
                self._conn.execute(
                    f"DELETE FROM {self.table} WHERE created_at < ?", (time.time() - older_than,)
                )
            if keep is not None:
                self._conn.execute(
                    f"DELETE FROM {self.table} WHERE key NOT IN (SELECT key FROM {self.table} "
                    "ORDER BY created_at DESC LIMIT ?)",
                    (max(keep, 0),),
                )
            return self._conn.total_changes - before

    def clear(self) -> None:
        """Delete every entry."""
        self.prune(keep=0)

    def close(self) -> None:
        """Close the cache's connection (a connection it was given stays open)."""
        if self.shared:
            return
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, action: str, exc: sqlite3.DatabaseError) -> StoreError:
        return StoreError(
            f"response cache {self.path}: cannot {action} table {self.table} ({exc}); "
            "check the file, or disable caching with cache_seed=None"
        )


def _file_of(conn: sqlite3.Connection) -> str:
    """The file of a connection's main database (``":memory:"`` for none)."""
    try:
        row = conn.execute("PRAGMA database_list").fetchone()
    except sqlite3.DatabaseError:
        return "the run database"
    return str(row[2]) if row and row[2] else ":memory:"
