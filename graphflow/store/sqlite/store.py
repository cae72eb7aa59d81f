"""The SQLite run store: append-only, one transaction per committed step.

See docs/durability.md for the contract. In short:

- ``runs`` holds one row per run: the graph (spec JSON, written once), the head it
  started from (``last_step``, ``frontier``: -1 and the entry, or a fork's point), status
  (with the node and step a failed run failed at), usage totals, lease, and its parent:
  the run it was forked from (``parent_run``, ``forked_at``) or the subgraph node that
  ran it (``parent_run``, ``parent_node``, ``parent_visit``). It is updated in place when
  these change, not every step.
- each committed step appends one ``steps`` row (the nodes that ran, the variables they
  changed, the next frontier) and its new ``messages`` rows, in ONE transaction. The
  newest ``steps`` row is the run's head. Nothing already written is rewritten, so storage
  grows with what the run produced, never with how long it already is.
- ``snapshots`` of variables and visit counts every ``SNAPSHOT_EVERY`` steps keep loading
  a long run O(1) in steps (messages are read once, in order).
- ``writes`` keeps the result of each finished branch of a parallel step until the step
  commits; ``effects`` records side effects (tool calls) of an uncommitted step; both are
  deleted by the commit that folds them in.

The parts live in their own modules: runs and leases (:mod:`.runs`), step commits and
branch writes (:mod:`.steps`), effects (:mod:`.effects`), reading (:mod:`.readers`),
forks and retention (:mod:`.retention`), the schema and its migrations (:mod:`.schema`).
Every write goes through one ``BEGIN IMMEDIATE … COMMIT`` transaction
(:class:`~graphflow.store.sqlite.base.Transaction`), and every stored JSON value is
decoded by :func:`graphflow.store.codec.loads`.
"""

from __future__ import annotations

import sqlite3
import weakref
from pathlib import Path

from graphflow.errors import StoreCorrupt, StoreError
from graphflow.store.lease import new_owner
from graphflow.store.sqlite.effects import SQLiteEffects
from graphflow.store.sqlite.retention import SQLiteRetention
from graphflow.store.sqlite.runs import SQLiteRuns
from graphflow.store.sqlite.schema import (
    APPLICATION_ID,
    FORMAT_VERSION,
    MARKER,
    apply_migrations,
    create_schema,
)
from graphflow.store.sqlite.steps import SQLiteSteps

__all__ = ["Store"]

_RUN_TABLES = {"runs", "steps", "messages", "snapshots", "writes", "effects"}


class Store(SQLiteRetention, SQLiteRuns, SQLiteSteps, SQLiteEffects):
    """A run database in one SQLite file (``":memory:"`` for a throwaway one).

    Implements :class:`~graphflow.store.RunStore` (the reader and writer protocols, forks
    and retention).

    Args:
        path: the database file; created with its folder when missing.
        durability: ``"normal"`` (WAL, synchronous=NORMAL: a committed step survives any
            crash of the process) or ``"full"`` (synchronous=FULL: it also survives a
            power loss, at the price of an fsync per step).

    Raises:
        StoreCorrupt: the file is not SQLite, or not a graphflow run database.
        StoreError: the file was written by a newer graphflow.

    Example:
        >>> store = Store(":memory:")
        >>> store.list_runs()
        []
    """

    def __init__(self, path: str | Path = "graphflow.db", *, durability: str = "normal") -> None:
        self.path = str(path)
        self.durability = durability
        #: other processes can open the same file (see RunWriter.shared)
        self.shared = self.path != ":memory:"
        if self.shared:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            if self.shared:
                conn.execute("PRAGMA journal_mode = WAL")
            sync = "FULL" if durability == "full" else "NORMAL"
            conn.execute(f"PRAGMA synchronous = {sync}")
            self.conn = conn
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(
                f"{self.path} is not a usable SQLite database ({exc}); point --db at a "
                "graphflow run database, or move this file away to start a new one"
            ) from None
        self.lease_owner = new_owner(self)
        self._renewed = 0.0
        self._closed = False
        self._lazy = weakref.WeakValueDictionary()

    # ---- opening ------------------------------------------------------------------

    def _migrate(self) -> None:
        conn = self.conn
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        ours = conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        if tables and "meta" not in tables and not ours:
            raise StoreCorrupt(
                f"{self.path} is an SQLite database but not a graphflow run database "
                f"(it has tables {sorted(tables)[:5]}); use another --db path"
            )
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('marker', ?)", (MARKER,))
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("marker") != MARKER:
            raise StoreCorrupt(f"{self.path} is not a graphflow run database")
        version = int(meta.get("format_version", "0"))
        if version > FORMAT_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer graphflow (format {version}, this one "
                f"reads up to {FORMAT_VERSION}); upgrade graphflow to open it"
            )
        if version == 0 and not tables & _RUN_TABLES:
            create_schema(conn)
        else:
            apply_migrations(conn, version)

    def close(self) -> None:
        """Close the database. Conversations it handed out stay readable (see
        :meth:`load_conversation`)."""
        if not self._closed:
            for convo in list(self._lazy.values()):
                convo.load()
            self._lazy.clear()
        self._closed = True
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
