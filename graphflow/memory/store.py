"""The memo database: an SQLite file holding teachable agents' memos.

One file may hold the memos of many agents (each memo names its agent). The file carries
its own ``PRAGMA application_id`` (:data:`APPLICATION_ID`, "gfmm") and a format version in
its ``memory_meta`` table, so that a run database, another program's database or a file
that is not SQLite at all is refused with a clear error rather than changed.

Memos are written with ``INSERT OR IGNORE`` under two keys: the memo's id (derived from
where it was learned: run, step, node and index, see :func:`memo_id`) and a digest of its
agent and text. Writing the same memo again — a step replayed after a crash, or the same
thing taught twice — therefore stores nothing new. The file is in WAL mode with a busy
timeout, so several processes may read and write it at once.

Example:
    >>> store = MemoStore(":memory:")
    >>> memo = Memo(memo_id("r1", 0, "bot", 0), "bot", "preference", "favourite colour",
    ...             "The user's favourite colour is teal.")
    >>> len(store.add([memo])), store.add([memo])
    (1, [])
    >>> [m.text for m in store.recall("bot", "Which colour do I like?")]
    ["The user's favourite colour is teal."]
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from graphflow.errors import StoreCorrupt, StoreError
from graphflow.memory.ranking import BM25Ranker, MemoRanker

__all__ = ["APPLICATION_ID", "DEFAULT_MEMORY_DB", "FORMAT_VERSION", "MEMO_KINDS", "Memo",
           "MemoNotFound", "MemoStore", "default_memory_db", "memo_id"]  # fmt: skip

#: The ``PRAGMA application_id`` of memo databases ("gfmm").
APPLICATION_ID = 0x67666D6D
#: The run database's application id ("gflw"), to say so when it is named instead.
_RUN_DATABASE_ID = 0x67666C77
FORMAT_VERSION = 1
#: The file name of the default memo database (beside the run database).
DEFAULT_MEMORY_DB = "graphflow-memory.db"
#: What a memo can be: a fact, a preference, or advice for a kind of task.
MEMO_KINDS = ("fact", "preference", "advice")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memos (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    agent TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    memo TEXT NOT NULL,
    digest TEXT NOT NULL,
    run_id TEXT,
    step INTEGER,
    node TEXT,
    created_at REAL NOT NULL,
    UNIQUE (agent, digest)
);
CREATE INDEX IF NOT EXISTS memos_agent ON memos(agent);
CREATE VIRTUAL TABLE IF NOT EXISTS memo_text USING fts5(
    topic, memo, content='memos', content_rowid='rowid', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS memos_indexed AFTER INSERT ON memos BEGIN
    INSERT INTO memo_text(rowid, topic, memo) VALUES (new.rowid, new.topic, new.memo);
END;
CREATE TRIGGER IF NOT EXISTS memos_unindexed AFTER DELETE ON memos BEGIN
    INSERT INTO memo_text(memo_text, rowid, topic, memo)
    VALUES ('delete', old.rowid, old.topic, old.memo);
END;
"""
_TABLES = {"memory_meta", "memos", "memo_text"}


class MemoNotFound(StoreError):
    """No memo (or no memo of an agent) matches what was asked for."""


def default_memory_db(run_db: str | os.PathLike[str] | None = None) -> Path:
    """Where memos are kept when no path is given: ``$GRAPHFLOW_MEMORY_DB`` when set,
    else :data:`DEFAULT_MEMORY_DB` beside the run database file ``run_db``, else (a run
    kept in memory or in a server database) in the current directory.

    Example:
        >>> default_memory_db("/data/runs.db").name
        'graphflow-memory.db'
    """
    named = os.environ.get("GRAPHFLOW_MEMORY_DB")
    if named:
        return Path(named)
    if run_db is not None and str(run_db) not in ("", ":memory:"):
        return Path(run_db).parent / DEFAULT_MEMORY_DB
    return Path(DEFAULT_MEMORY_DB)


def memo_id(run_id: str, step: int, node: str, index: int) -> str:
    """The id of the ``index``-th memo learned by ``node`` at ``step`` of ``run_id``: the
    same place always gives the same id, so a replayed step writes no memo twice.

    Example:
        >>> memo_id("r1", 3, "bot", 0) == memo_id("r1", 3, "bot", 0) != memo_id("r1", 3, "bot", 1)
        True
    """
    raw = f"{run_id}\x00{step}\x00{node}\x00{index}".encode()
    return "m" + hashlib.sha256(raw).hexdigest()[:11]


def _digest(agent: str, kind: str, topic: str, text: str) -> str:
    norm = "\x00".join(" ".join(part.lower().split()) for part in (agent, kind, topic, text))
    return hashlib.sha256(norm.encode()).hexdigest()


@dataclass(frozen=True)
class Memo:
    """One memo.

    Attributes:
        id: its id (see :func:`memo_id`).
        agent: the agent whose memory holds it.
        kind: ``fact``, ``preference`` or ``advice``.
        topic: the question it answers, or the kind of task its advice is for.
        text: the memo itself.
        run_id, step, node: where it was learned (``None`` when written by hand).
        created_at: when it was stored (Unix seconds).
        score: its relevance when recalled (higher is more relevant), else ``None``.
    """

    id: str
    agent: str
    kind: str
    topic: str
    text: str
    run_id: str | None = None
    step: int | None = None
    node: str | None = None
    created_at: float = field(default_factory=time.time)
    score: float | None = None

    def to_record(self) -> dict[str, Any]:
        """The memo as a JSON-ready dict (for effects, ``--json`` output and events)."""
        return {"id": self.id, "agent": self.agent, "kind": self.kind, "topic": self.topic,
                "text": self.text, "run_id": self.run_id, "step": self.step, "node": self.node,
                "created_at": self.created_at, "score": self.score}  # fmt: skip

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Memo:
        """The memo :meth:`to_record` gave."""
        score = record.get("score")
        return cls(str(record["id"]), str(record["agent"]), str(record["kind"]),
                   str(record["topic"]), str(record["text"]), record.get("run_id"),
                   record.get("step"), record.get("node"),
                   float(record.get("created_at") or 0.0),
                   None if score is None else float(score))  # fmt: skip


_COLUMNS = "id, agent, kind, topic, memo, run_id, step, node, created_at"


def _memo(row: Sequence[Any], score: float | None = None) -> Memo:
    return Memo(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], score)


class MemoStore:
    """The memo database at ``path`` (created when missing; ``":memory:"`` for a
    throw-away one). Safe to share between threads; close it with :meth:`close` or a
    ``with`` block.

    Args:
        path: the database file.
        ranker: how :meth:`recall` ranks memos (default :class:`BM25Ranker`).
        create: create the file when it does not exist (``False``: raise instead).

    Raises:
        StoreCorrupt: the file is not a memo database (a run database, another
            program's database, not SQLite at all) or is damaged.
        StoreError: ``create`` is false and there is no file; the file cannot be opened;
            a read-only file is empty (a read-only one is opened for reading:
            :attr:`read_only`, and writing to it raises this).
    """

    def __init__(self, path: str | os.PathLike[str], *, ranker: MemoRanker | None = None,
                 create: bool = True) -> None:  # fmt: skip
        self.path = str(path)
        self.ranker: MemoRanker = ranker or BM25Ranker()
        self._lock = threading.Lock()
        memory = self.path == ":memory:"
        if not memory and not create and not Path(self.path).is_file():
            raise StoreError(f"no memory database at {self.path}; teachable agents create it "
                             "when they learn their first memo (or name another with --db)")
        if not memory and Path(self.path).is_dir():
            raise StoreError(f"{self.path} is a folder; name a memory database file in it, "
                             f"e.g. {Path(self.path) / DEFAULT_MEMORY_DB}")  # fmt: skip
        #: the file or its folder cannot be written: memos can be read, not changed
        self.read_only = not memory and Path(self.path).is_file() and not (
            os.access(self.path, os.W_OK) and os.access(Path(self.path).parent, os.W_OK))
        if not memory and not self.read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect()
        try:
            self._open()
        except StoreError as exc:
            self._conn.close()
            if not self.read_only or "unable to open" not in str(exc):
                raise
            # A WAL file in a folder that cannot be written has no -shm file to share:
            # nobody writes it, so read it as it is.
            self._conn = self._connect(immutable=True)
            try:
                self._open()
            except BaseException:
                self._conn.close()
                raise
        except BaseException:
            self._conn.close()
            raise

    def _connect(self, *, immutable: bool = False) -> sqlite3.Connection:
        target, uri = self.path, False
        if self.read_only:
            target = Path(self.path).resolve().as_uri() + "?mode=ro"
            target, uri = target + ("&immutable=1" if immutable else ""), True
        try:
            return sqlite3.connect(target, check_same_thread=False, timeout=30.0,
                                   isolation_level=None, uri=uri)  # fmt: skip
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the memory database {self.path}: {exc}") from None

    # -- opening ---------------------------------------------------------------------

    def _foreign(self, why: str) -> StoreCorrupt:
        return StoreCorrupt(f"{self.path} is not a graphflow memory database ({why}); name "
                            f"a memory database or a new file (default {DEFAULT_MEMORY_DB})")

    def _open(self) -> None:
        conn = self._conn
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type IN ('table', 'view')")}  # fmt: skip
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):
                raise self._foreign(f"not an SQLite file: {exc}") from None
            raise self._error(exc) from None
        if app_id == _RUN_DATABASE_ID:
            raise StoreCorrupt(f"{self.path} is a graphflow run database, not a memory "
                               f"database; memos are kept in a file of their own (default "
                               f"{DEFAULT_MEMORY_DB} beside the run database)")  # fmt: skip
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
            listed = ", ".join(sorted(tables)[:5]) or "none"
            raise self._foreign(f"an SQLite database of another program; tables: {listed}")
        if app_id == APPLICATION_ID:
            self._check(tables)
        elif self.read_only:
            raise self._read_only("it is empty and cannot be made a memory database")
        else:
            self._create()
        try:
            if self.path != ":memory:" and not self.read_only:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def _create(self) -> None:
        try:
            self._conn.executescript(f"""BEGIN IMMEDIATE; {_SCHEMA}
                PRAGMA application_id = {APPLICATION_ID};
                INSERT OR REPLACE INTO memory_meta VALUES ('format_version', '{FORMAT_VERSION}');
                COMMIT;""")
        except sqlite3.DatabaseError as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise self._error(exc) from None

    def _check(self, tables: set[str]) -> None:
        missing = _TABLES - tables
        if missing:
            raise StoreCorrupt(f"{self.path} is damaged: the memo database has lost its "
                               f"{', '.join(sorted(missing))} table(s); restore it from a "
                               "backup, or delete it to start an empty memory")  # fmt: skip
        try:
            row = self._conn.execute("SELECT value FROM memory_meta "
                                     "WHERE key = 'format_version'").fetchone()  # fmt: skip
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        version = int(row[0]) if row and str(row[0]).isdigit() else None
        if version is None:
            raise StoreCorrupt(f"{self.path} is damaged: it has no format version")
        if version > FORMAT_VERSION:
            raise StoreError(f"{self.path} was written by a newer graphflow (memory format "
                             f"{version}, this one reads {FORMAT_VERSION}); upgrade graphflow")

    def _read_only(self, why: str) -> StoreError:
        return StoreError(f"the memory database {self.path} is read-only ({why}): its memos "
                          "can be listed and recalled, not changed. Make the file and its "
                          "folder writable, or give the teachable agents `learn: false`")

    def _error(self, exc: sqlite3.DatabaseError) -> StoreError:
        from graphflow.store.sqlite.base import sqlite_error

        text = str(exc)
        if "readonly" in text or "read-only" in text:
            return self._read_only(text)
        if "unable to open" in text:
            return StoreError(f"cannot open the memory database {self.path} ({text}); check "
                              "that the file and its folder can be read and written (SQLite "
                              "keeps -wal and -shm files beside it)")  # fmt: skip
        if any(word in text for word in ("full", "locked", "busy")):
            return sqlite_error(self.path, exc)
        return StoreCorrupt(f"the memory database {self.path} is damaged ({text}); restore it "
                            "from a backup, or delete it to start an empty memory")  # fmt: skip

    def _run(self, fn: Any) -> Any:
        """Run ``fn(conn)`` under the lock, turning SQLite errors into graphflow's."""
        with self._lock:
            try:
                return fn(self._conn)
            except sqlite3.DatabaseError as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise self._error(exc) from None

    # -- writing ---------------------------------------------------------------------

    def add(self, memos: Iterable[Memo]) -> list[str]:
        """Store ``memos`` in one transaction; a memo whose id, or whose agent and text,
        is stored already is skipped. Returns the ids actually added."""
        todo = list(memos)
        self.check_writable()

        def write(conn: sqlite3.Connection) -> list[str]:
            added = []
            conn.execute("BEGIN IMMEDIATE")
            for m in todo:
                cursor = conn.execute(
                    f"INSERT OR IGNORE INTO memos ({_COLUMNS}, digest) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (m.id, m.agent, m.kind, m.topic, m.text, m.run_id, m.step, m.node,
                     m.created_at, _digest(m.agent, m.kind, m.topic, m.text)))  # fmt: skip
                if cursor.rowcount == 1:
                    added.append(m.id)
            self.ranker.index(conn, [m for m in todo if m.id in added])
            conn.execute("COMMIT")
            return added

        return list(self._run(write)) if todo else []

    def stored_ids(self, memos: Iterable[Memo]) -> list[str | None]:
        """For each of ``memos``, the id it is stored under: its own, or that of the same
        memo (agent, kind, topic and text) stored before under another id — learned in
        another run, or in the run a fork was made from; ``None`` when it is not stored.

        Example:
            >>> store = MemoStore(":memory:")
            >>> store.add([Memo("m1", "bot", "fact", "t", "Teal.")])
            ['m1']
            >>> store.stored_ids([Memo("m2", "bot", "fact", "t", " teal. "), Memo("m3", "bot", "fact", "t", "Red.")])
            ['m1', None]
        """
        todo = list(memos)

        def read(conn: sqlite3.Connection) -> list[str | None]:
            found: list[str | None] = []
            for m in todo:
                row = conn.execute(
                    "SELECT id FROM memos WHERE id = ? OR (agent = ? AND digest = ?) "
                    "ORDER BY id = ? DESC LIMIT 1",
                    (m.id, m.agent, _digest(m.agent, m.kind, m.topic, m.text), m.id)).fetchone()
                found.append(None if row is None else str(row[0]))
            return found

        return list(self._run(read)) if todo else []

    def check_writable(self) -> None:
        """Raise StoreError when the database is read-only (:attr:`read_only`)."""
        if self.read_only:
            raise self._read_only("the file or its folder cannot be written")

    def forget(self, memo: str) -> Memo:
        """Delete the memo with id ``memo`` (or a unique prefix of it); return it.

        Raises:
            MemoNotFound: no memo has that id or prefix, or several do.
            StoreError: the database is read-only.
        """
        self.check_writable()
        found = self.get(memo)
        self._run(lambda conn: conn.execute("DELETE FROM memos WHERE id = ?", (found.id,)))
        return found

    def forget_agent(self, agent: str) -> int:
        """Delete every memo of ``agent``; return how many.

        Raises:
            MemoNotFound: ``agent`` has no memos (the message lists the agents that do).
            StoreError: the database is read-only.
        """
        self.check_writable()
        count = self._run(lambda conn: conn.execute("DELETE FROM memos WHERE agent = ?",
                                                    (agent,)).rowcount)  # fmt: skip
        if not count:
            raise MemoNotFound(f"no memos of agent {agent!r} in {self.path}; "
                               f"{self.agents_summary()}")  # fmt: skip
        return int(count)

    def forget_all(self) -> int:
        """Delete every memo; return how many.

        Raises:
            StoreError: the database is read-only.
        """
        self.check_writable()
        return int(self._run(lambda conn: conn.execute("DELETE FROM memos").rowcount))

    # -- reading ---------------------------------------------------------------------

    def get(self, memo: str) -> Memo:
        """The memo with id ``memo``, or the one memo whose id starts with it.

        Raises:
            MemoNotFound: none, or several, match (an empty id matches none).
        """
        if not memo.strip():
            raise MemoNotFound("give a memo id (or a unique prefix of one) from `graphflow "
                               f"memory list --db {self.path}`")  # fmt: skip
        pattern = memo.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._run(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM memos WHERE id = ? OR id LIKE ? ESCAPE '\\' LIMIT 6",
            (memo, pattern)).fetchall())  # fmt: skip
        exact = [r for r in rows if r[0] == memo]
        if exact or len(rows) == 1:
            return _memo((exact or rows)[0])
        if rows:
            raise MemoNotFound(f"memo id prefix {memo!r} matches several memos "
                               f"({', '.join(r[0] for r in rows[:5])}); give more characters")
        raise MemoNotFound(f"no memo {memo!r} in {self.path}; list them with `graphflow "
                           f"memory list --db {self.path}`")  # fmt: skip

    def memos(self, agent: str | None = None) -> list[Memo]:
        """Memos, oldest first (only ``agent``'s when given)."""
        where, args = ("WHERE agent = ?", (agent,)) if agent is not None else ("", ())
        rows = self._run(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM memos {where} ORDER BY created_at, rowid", args).fetchall())
        return [_memo(r) for r in rows]

    def agents(self) -> dict[str, int]:
        """The agents with memos and how many each has."""
        rows = self._run(lambda conn: conn.execute(
            "SELECT agent, COUNT(*) FROM memos GROUP BY agent ORDER BY agent").fetchall())
        return {str(a): int(n) for a, n in rows}

    def agents_summary(self) -> str:
        """One phrase naming the agents with memos (for error messages)."""
        known = self.agents()
        if not known:
            return "the memory is empty"
        return "agents with memos: " + ", ".join(sorted(known))

    def recall(self, agent: str, query: str, *, limit: int = 10,
               threshold: float = 0.0) -> list[Memo]:  # fmt: skip
        """``agent``'s memos most relevant to ``query``, best first: at most ``limit``,
        each at least ``threshold`` relevant (the ranker's score; see
        :class:`~graphflow.memory.ranking.BM25Ranker`)."""
        if limit <= 0:
            return []
        ranked = self._run(lambda conn: self.ranker.rank(conn, agent, query, limit))
        scores = {memo: score for memo, score in ranked if score >= threshold}
        if not scores:
            return []
        marks = ", ".join("?" for _ in scores)
        rows = self._run(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM memos WHERE id IN ({marks})", list(scores)).fetchall())
        found = [replace(_memo(r), score=round(scores[r[0]], 6)) for r in rows]
        return sorted(found, key=lambda m: (-(m.score or 0.0), m.created_at, m.id))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> MemoStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
