"""A response cache in SQLite, so that a repeated request costs nothing.

Entries live in their own table (``model_cache``) of any SQLite file, by default the run
database, through a connection of their own (WAL mode) with the run store's durability:
``normal`` (``synchronous=NORMAL``, no fsync per write; a written entry survives a crash
of the process) unless the store fsyncs its steps (``durability="full"``). A cached
answer lost to a power cut only costs asking again, so it never needs more than the
steps it serves; before, every cached call paid an fsync even on the default store. The key is a SHA-256 of
everything the answer depends on: model and endpoint identity, messages, tools, request
options, response format and the cache seed. API keys are never part of the key or of
the stored rows. The table is created on the first write, so a cache opened on a new run
database leaves it untouched until a model has actually answered.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphflow.errors import StoreError

__all__ = ["ResponseCache", "request_key"]

_TABLE = "model_cache"


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
        path: the SQLite file (usually the run database), or ``":memory:"``.
        table: the table name.
        durability: ``"normal"`` (``synchronous=NORMAL``) or ``"full"`` (an fsync per
            write, ``synchronous=FULL``): the run store's setting.

    Raises:
        StoreError: a bad table name or durability, or a file that is not SQLite.

    Example:
        >>> cache = ResponseCache(":memory:")
        >>> cache.get("k") is None
        True
        >>> cache.put("k", {"message": {"content": "hi"}}, model="m")
        >>> cache.get("k")["message"]["content"]
        'hi'
        >>> cache.close()
    """

    def __init__(self, path: str | Path, *, table: str = _TABLE,
                 durability: str = "normal") -> None:  # fmt: skip
        if not table.replace("_", "").isalnum():
            raise StoreError(f"cache table name {table!r} must be letters, digits and _ only")
        if durability not in ("normal", "full"):
            raise StoreError(f"cache durability {durability!r} must be 'normal' or 'full'")
        self.path = str(path)
        self.table = table
        self._lock = threading.Lock()
        self._ready = False
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
        self._ready = True

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
        """Store ``response`` (JSON-ready) under ``key``, replacing an older entry."""
        text = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            try:
                if not self._table_exists():
                    self._create()
                self._conn.execute(
                    f"INSERT OR REPLACE INTO {self.table}(key, model, response, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (key, model, text, time.time()),
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
        """Close the cache's connection."""
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
