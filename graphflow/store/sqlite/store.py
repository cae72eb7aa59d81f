"""The SQLite run store: append-only, one transaction per committed step.

See docs/durability.md for the contract. In short:

- ``runs`` holds one row per run: its graph (the digest of its spec, whose JSON
  ``specs`` holds once for every run of that graph), the head it
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
- ``model_calls`` keeps each model call of a run (prompt, answer, usage, latency), the
  messages of its prompt stored once per run in ``prompt_messages``; the run row's
  ``models`` records which models the run uses.
- ``artifacts`` names the files a run's code produced (per step and node) by the SHA-256
  of their bytes, which ``artifact_blobs`` holds once however many runs name them; a
  fork copies the rows of the steps it keeps, a deleted run's unused bytes go with it.
- ``writes`` keeps the result of each finished branch of a parallel step until the step
  commits; ``effects`` records side effects (tool calls) of an uncommitted step; both are
  deleted by the commit that folds them in.

The parts live in their own modules: runs and leases (:mod:`.runs`), step commits and
branch writes (:mod:`.steps`), effects (:mod:`.effects`), artifacts (:mod:`.artifacts`),
reading (:mod:`.readers`), forks and retention (:mod:`.retention`), the schema and its migrations (:mod:`.schema`).
Every write goes through one ``BEGIN IMMEDIATE … COMMIT`` transaction
(:class:`~graphflow.store.sqlite.base.Transaction`), and every stored JSON value is
decoded by :func:`graphflow.store.codec.loads`.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
import weakref
from pathlib import Path

from graphflow.errors import StoreCorrupt, StoreError, StoreFull
from graphflow.store.lease import new_owner
from graphflow.store.model_calls import PromptChains
from graphflow.store.sqlite.artifacts import SQLiteArtifacts
from graphflow.store.sqlite.base import (
    Connection,
    Snapshot,
    Transaction,
    file_stamp,
    sqlite_error,
    unchanging,
)
from graphflow.store.sqlite.calls import SQLiteCalls
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

logger = logging.getLogger(__name__)

#: Seconds a new Store keeps trying while other processes hold the file at its opening.
OPEN_WAIT = 10.0
_RUN_TABLES = {"runs", "steps", "messages", "snapshots", "writes", "effects", "model_calls"}


class Store(SQLiteRetention, SQLiteRuns, SQLiteSteps, SQLiteEffects, SQLiteCalls,
            SQLiteArtifacts):
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
        #: opened read-only (the file or its folder cannot be written): runs can be read
        self.read_only = False
        if self.shared:
            folder = Path(self.path).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot use {self.path} as the run database: its folder "
                                 f"{folder} cannot be created ({exc.strerror or exc}); point "
                                 "--db at a path in an existing folder") from None  # fmt: skip
            self.read_only = Path(self.path).exists() and not (
                os.access(self.path, os.W_OK) and os.access(folder, os.W_OK))
        try:
            self._open_retrying(durability)
        except sqlite3.DatabaseError as exc:
            if self.read_only or "readonly" not in str(exc):
                raise self._open_error(exc) from None
            self.read_only = True  # a read-only medium: read what is there
            try:
                self._open(durability)
            except sqlite3.DatabaseError as again:
                raise self._open_error(again) from None
        self.lease_owner = new_owner(self)
        self._renewed = 0.0
        self._closed = False
        self._lazy = weakref.WeakValueDictionary()
        self._chains = PromptChains()

    def _open_retrying(self, durability: str) -> None:
        """:meth:`_open`, tried again while another process holds the file for a moment:
        processes that open a new file at once race to switch it to WAL and create its
        schema, and SQLite answers some of those races "locked" at once, without waiting
        (or "already exists" to the one that lost the schema race). Gives up after
        :data:`OPEN_WAIT` seconds with the last error."""
        deadline = time.monotonic() + OPEN_WAIT
        while True:
            try:
                self._open(durability)
                return
            except sqlite3.OperationalError as exc:
                text = str(exc)
                transient = any(word in text for word in ("locked", "busy", "already exists"))
                if not transient or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0.01, 0.05))

    def _open(self, durability: str) -> None:
        """Connect, check the file is a graphflow database (before writing anything to
        it), then switch it to WAL and migrate it — unless it is read-only."""
        if self.read_only:
            self._opened_at = Path(self.path).resolve()  # also after a chdir: it may be relative
            raw, stamp = self._open_read_only()
            self.conn = Connection(raw, self.path) if stamp is None else Snapshot(
                raw, self.path, stamp, self._reopen, self._opened_at)  # fmt: skip
            return
        raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            raw.execute("PRAGMA busy_timeout = 10000")
            version = self._identify(raw)
            if self.shared:
                raw.execute("PRAGMA journal_mode = WAL")
            sync = "FULL" if durability == "full" else "NORMAL"
            raw.execute(f"PRAGMA synchronous = {sync}")
            self._migrate(raw, version)
        except BaseException:
            raw.close()
            raise
        self._format = FORMAT_VERSION
        self.conn = Connection(raw, self.path)

    def _open_read_only(self) -> tuple[sqlite3.Connection, tuple[int, int, int, bool] | None]:
        """Connect read-only and read the file's format (``_format``, ``_behind``,
        ``_schema``); return the connection and, when it is immutable (the file is
        :func:`~graphflow.store.sqlite.base.unchanging`), the file's
        :func:`~graphflow.store.sqlite.base.file_stamp` taken before it (else ``None``)."""
        path = self._opened_at
        stamp = file_stamp(str(path)) if unchanging(path) else None
        uri = f"{path.as_uri()}?mode=ro" + ("&immutable=1" if stamp else "")
        raw = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            raw.execute("PRAGMA busy_timeout = 10000")
            self._read_format(raw)
        except BaseException:
            raw.close()
            raise
        return raw, stamp

    def _read_format(self, conn: sqlite3.Connection) -> None:
        """A read-only file's format (``_format``; ``_behind``: older than this graphflow's,
        and ``_schema``, its schema version, to notice a migration by another process)."""
        schema = conn.execute("PRAGMA schema_version").fetchone()[0]
        version = self._identify(conn)
        if version < FORMAT_VERSION - 1:
            raise StoreError(f"{self.path} is read-only and in an old format "
                             f"({version}) that must be migrated first; make it "
                             "writable once")  # fmt: skip
        self._format, self._behind, self._schema = version, version < FORMAT_VERSION, schema

    def _reopen(self) -> tuple[sqlite3.Connection, tuple[int, int, int, bool] | None]:
        """A file opened immutable changed (see :class:`Snapshot`): open it again, as at
        first (immutable while no log is beside it, else plain read-only)."""
        logger.debug("%s changed since it was opened immutable: opening it again", self.path)
        try:
            return self._open_read_only()
        except sqlite3.DatabaseError as exc:
            raise self._open_error(exc) from None
        except OSError as exc:  # deleted or moved since
            raise StoreError(f"{self.path} is gone since this store opened it (deleted or "
                             f"moved: {exc.strerror or exc}); open the store again where the "
                             "file is now") from None  # fmt: skip

    def _reidentify(self) -> None:
        try:
            self._read_format(self.conn.raw)
        except sqlite3.DatabaseError as exc:
            raise sqlite_error(self.path, exc) from None

    def _open_error(self, exc: sqlite3.DatabaseError) -> StoreError:
        text = str(exc)
        if any(word in text for word in ("locked", "busy", "readonly", "full")):
            return sqlite_error(self.path, exc)
        if self.read_only and "unable to open" in text and Path(f"{self.path}-wal").exists():
            return StoreError(
                f"{self.path} cannot be read: its folder cannot be written and a write-ahead "
                f"log ({Path(self.path).name}-wal) is beside it, which SQLite must share ({exc});"
                " make the folder writable once (or copy the file with its -wal file to a "
                "folder that is), then open it again")  # fmt: skip
        return StoreCorrupt(
            f"{self.path} is not a usable SQLite database ({exc}); point --db at a "
            "graphflow run database, or move this file away to start a new one")

    # ---- opening ------------------------------------------------------------------

    def _identify(self, conn: sqlite3.Connection) -> int:
        """The file's format version (0: a new, empty file), read without writing.

        Raises:
            StoreCorrupt: an SQLite file of something else (left untouched), or a damaged
                ``meta`` table. StoreError: a newer graphflow wrote it.
        """
        self._tables = tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}  # fmt: skip
        ours = conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall()) if (
            "meta" in tables) else {}  # fmt: skip
        # an empty meta table alone is a new file graphflow began to set up: another
        # process opening it at this moment, or one killed between its first two writes
        half_made = tables == {"meta"} and not meta
        if tables and not ours and meta.get("marker") != MARKER and not half_made:
            raise StoreCorrupt(
                f"{self.path} is an SQLite database but not a graphflow run database "
                f"(it has tables {sorted(tables)[:5]}); it was left untouched: use another "
                "--db path")  # fmt: skip
        if "meta" in tables and meta.get("marker") not in (None, MARKER):
            raise StoreCorrupt(f"{self.path} is not a graphflow run database")
        try:
            version = int(meta.get("format_version", "0"))
        except (TypeError, ValueError):
            raise StoreCorrupt(f"{self.path} is damaged: its format version "
                               f"{meta.get('format_version')!r} is not a number; restore the "
                               "file from a backup, or point --db at another file") from None
        if version > FORMAT_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer graphflow (format {version}, this one "
                f"reads up to {FORMAT_VERSION}); upgrade graphflow to open it"
            )
        return version

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('marker', ?)", (MARKER,))
        if version == 0 and not self._tables & _RUN_TABLES:
            create_schema(conn)
            if self.shared:
                # the schema's pages (~37) into the file itself: a new file is whole without
                # its log, and its first runs' commits start from an empty log rather than
                # reaching SQLite's automatic checkpoint (every 1,000 pages) that much sooner
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                # and the log starts over now, with a one-page write: SQLite syncs a log's
                # header when it starts over, even at synchronous=NORMAL, which would else
                # fall to the first run's first commit (~0.1 ms here, an fsync on disk)
                conn.execute("PRAGMA user_version = 0")
            logger.debug("created run database %s (format %d)", self.path, FORMAT_VERSION)
        elif version < FORMAT_VERSION:
            try:
                apply_migrations(conn, version, self.path)
            except StoreFull:
                raise StoreFull(
                    f"{self.path}: the disk (or the database) is full (database or disk is "
                    f"full) while migrating the file from format {version} to {FORMAT_VERSION},"
                    " which needs free space up to the file's size for a moment; nothing was "
                    "changed: free some space, then open it again") from None  # fmt: skip
            logger.info("migrated run database %s from format %d to %d", self.path, version,
                        FORMAT_VERSION)  # fmt: skip

    def _tx(self) -> Transaction:
        # A read-only file of an older format lacks tables the writes use: a write is
        # refused as the read-only file's, not reported as a table missing (damage).
        if self._format < FORMAT_VERSION:
            raise sqlite_error(self.path, sqlite3.OperationalError(
                "attempt to write a readonly database"))  # fmt: skip
        return super()._tx()

    @property
    def sqlite_connection(self) -> sqlite3.Connection:
        """The store's own SQLite connection (autocommit), for a part of graphflow that
        keeps a table of its own in the run database — the model response cache — so
        that its rows get the store's durability and can be written inside the store's
        transactions (``put_effect(..., joined=...)``). Not for the store's own tables:
        write those through the store's methods."""
        return self.conn.raw

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
