"""The run database's schema, its format version and its migrations.

A new database gets the current :data:`SCHEMA` at once (:func:`create_schema`).
Migrations are registered with :func:`migration` and applied in order when an older
database is opened, each in one transaction; the applied version is kept in
``meta.format_version``. A database written by a newer graphflow (a higher version) is
refused rather than misread.

A file graphflow writes carries :data:`APPLICATION_ID` in its header (SQLite's
``application_id``): other graphflow layers that keep tables in the run database (the
model response cache) set it when they create the file, so the store accepts a file that
has their tables but no run tables yet, and refuses any other database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from graphflow.store.codec import spec_digest
from graphflow.store.sqlite.base import Transaction

__all__ = ["APPLICATION_ID", "FORMAT_VERSION", "MARKER", "SCHEMA", "apply_migrations",
           "create_schema", "migration", "spec_digest"]

MARKER = "graphflow-run-store"
#: The ``PRAGMA application_id`` of graphflow's SQLite files ("gflw").
APPLICATION_ID = 0x67666C77
_MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = []


def migration(version: int) -> Callable[[Callable[[sqlite3.Connection], None]], Callable]:
    """Register ``fn`` as the migration that brings a database to ``version``."""

    def register(fn: Callable[[sqlite3.Connection], None]) -> Callable:
        _MIGRATIONS.append((version, fn))
        _MIGRATIONS.sort(key=lambda item: item[0])
        return fn

    return register


@migration(1)
def _initial(conn: sqlite3.Connection) -> None:
    _run_script(conn, """
        CREATE TABLE IF NOT EXISTS runs (
            run_id TEXT PRIMARY KEY,
            graph TEXT NOT NULL,
            source TEXT,
            spec TEXT NOT NULL,
            topology TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT,
            error TEXT,
            waiting TEXT,
            last_step INTEGER NOT NULL DEFAULT -1,
            frontier TEXT NOT NULL,
            usage TEXT,
            parent_run TEXT,
            forked_at INTEGER,
            lease_owner TEXT,
            lease_until REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
        CREATE INDEX IF NOT EXISTS runs_updated ON runs(updated_at);
        CREATE TABLE IF NOT EXISTS steps (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            nodes TEXT NOT NULL,
            variables TEXT,
            next TEXT NOT NULL,
            usage TEXT,
            started_at REAL NOT NULL,
            seconds REAL NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS steps_key ON steps(run_id, step);
        CREATE TABLE IF NOT EXISTS messages (
            run_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            step INTEGER NOT NULL,
            node TEXT,
            role TEXT NOT NULL,
            name TEXT,
            content TEXT,
            extra TEXT
        );
        CREATE UNIQUE INDEX IF NOT EXISTS messages_key ON messages(run_id, seq);
        CREATE TABLE IF NOT EXISTS snapshots (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            variables TEXT NOT NULL,
            visits TEXT NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS snapshots_key ON snapshots(run_id, step);
        CREATE TABLE IF NOT EXISTS writes (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            node TEXT NOT NULL,
            payload TEXT NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS writes_key ON writes(run_id, step, node);
        CREATE TABLE IF NOT EXISTS effects (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            node TEXT NOT NULL,
            key TEXT NOT NULL,
            result TEXT NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS effects_key ON effects(run_id, step, node, key);
        """)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # Tables holding message text are rowid tables: WITHOUT ROWID tables spill rows of a
    # few KB into overflow pages of their own and would cost ~4 KB per 1 KB message.
    # executescript() would COMMIT the migration's transaction first; run statements
    # one by one so a migration is all-or-nothing.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


@migration(2)
def _child_runs_index(conn: sqlite3.Connection) -> None:
    # forks and subgraph runs are found by their parent
    conn.execute("CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_run)")


@migration(3)
def _failed_node_and_parent_link(conn: sqlite3.Connection) -> None:
    # The node (and step) a run failed at, and the subgraph node (and its visit) that ran
    # a child run, become columns. Runs stored before are filled in from what used to
    # carry them: the reason "error in node 'X'" and child ids "PARENT.NODE.VISIT".
    for column, kind in (("failed_node", "TEXT"), ("failed_step", "INTEGER"),
                         ("parent_node", "TEXT"), ("parent_visit", "INTEGER")):  # fmt: skip
        conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    failed = conn.execute(
        "SELECT run_id, reason, (SELECT MAX(step) FROM steps s WHERE s.run_id = runs.run_id),"
        " last_step FROM runs WHERE status = 'failed'").fetchall()  # fmt: skip
    for run_id, reason, head, last_step in failed:
        node = _quoted_node(reason or "")
        if node is not None:
            step = max(head if head is not None else -1, last_step) + 1
            conn.execute("UPDATE runs SET failed_node=?, failed_step=? WHERE run_id=?",
                         (node, step, run_id))  # fmt: skip
    children = conn.execute("SELECT run_id, parent_run FROM runs WHERE parent_run IS NOT NULL"
                            " AND forked_at IS NULL").fetchall()  # fmt: skip
    for run_id, parent in children:
        node, _, visit = run_id[len(parent) + 1 :].rpartition(".")
        if run_id.startswith(parent + ".") and node and visit.isdigit():
            conn.execute("UPDATE runs SET parent_node=?, parent_visit=? WHERE run_id=?",
                         (node, int(visit), run_id))  # fmt: skip
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


_CALL_TABLES = """
    CREATE TABLE IF NOT EXISTS model_calls (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        step INTEGER NOT NULL,
        node TEXT NOT NULL,
        started_at REAL NOT NULL,
        seconds REAL NOT NULL,
        model TEXT,
        base_url TEXT,
        prompt TEXT NOT NULL,
        tools TEXT,
        response TEXT,
        usage TEXT,
        error TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS model_calls_key ON model_calls(run_id, seq);
    CREATE TABLE IF NOT EXISTS prompt_messages (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS prompt_messages_key ON prompt_messages(run_id, key)
    """


@migration(4)
def _models_and_model_calls(conn: sqlite3.Connection) -> None:
    # The models a run uses (recorded, without keys, so a resume reuses them) become a
    # column; each model call (prompt, answer, usage, latency) gets a row, its prompt's
    # messages stored once per run.
    conn.execute("ALTER TABLE runs ADD COLUMN models TEXT")
    _run_script(conn, _CALL_TABLES)


@migration(5)
def _tagged_values(conn: sqlite3.Connection) -> None:
    # Values are written by the value codec (graphflow.store.values): standard types as
    # tagged objects, grown lists/dicts/sets as merge operations in step deltas. No row
    # changes (what older versions wrote reads the same), but an older graphflow would
    # misread the new forms, so the version tells it to refuse the file.
    del conn


_ARTIFACT_TABLES = """
    CREATE TABLE IF NOT EXISTS artifacts (
        run_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        node TEXT NOT NULL,
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS artifacts_key ON artifacts(run_id, step, node, name);
    CREATE INDEX IF NOT EXISTS artifacts_digest ON artifacts(digest);
    CREATE TABLE IF NOT EXISTS artifact_blobs (
        digest TEXT PRIMARY KEY,
        data BLOB NOT NULL
    )
    """


@migration(6)
def _artifacts(conn: sqlite3.Connection) -> None:
    # The files a run's code produced: one row per (run, step, node, name) naming a
    # digest, the bytes stored once per digest in artifact_blobs.
    _run_script(conn, _ARTIFACT_TABLES)


@migration(7)
def _snapshot_usage(conn: sqlite3.Connection) -> None:
    # A snapshot also keeps the run's usage per node at its step, so that resuming a run
    # sums at most the usage of the steps since (RunReader.node_usage_parts). Snapshots
    # written before are left without it (NULL): their runs are summed from every step.
    conn.execute("ALTER TABLE snapshots ADD COLUMN usage TEXT")


_SPEC_TABLE = """
    CREATE TABLE IF NOT EXISTS specs (
        digest TEXT PRIMARY KEY,
        spec TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS runs_spec ON runs(spec_digest)
    """

#: Runs moved to the ``specs`` table per transaction batch by :func:`_specs_apart`.
_SPEC_BATCH = 500


@migration(8)
def _specs_apart(conn: sqlite3.Connection) -> None:
    # A run's graph spec (the JSON of the whole graph: ~100 bytes per node) moves out of
    # its row into ``specs``, stored once per digest for every run of that graph; the row
    # names it (``spec_digest``) and keeps ``spec`` empty. Every status change rewrote the
    # whole row, spec included, and each run of a graph stored the same text again.
    conn.execute("ALTER TABLE runs ADD COLUMN spec_digest TEXT")
    _run_script(conn, _SPEC_TABLE)
    # One spec in memory at a time (a big graph's is ~100 KB). It is read as bytes: a
    # damaged one (not UTF-8, or stored as a blob) must not stop the migration of the
    # file; it is kept as it is, and its runs read as damaged.
    while True:
        batch = [r[0] for r in conn.execute("SELECT rowid FROM runs WHERE spec_digest IS NULL"
                                            " LIMIT ?", (_SPEC_BATCH,))]  # fmt: skip
        if not batch:
            return
        for rowid in batch:
            raw = conn.execute("SELECT CAST(spec AS BLOB) FROM runs WHERE rowid=?",
                               (rowid,)).fetchone()[0]  # fmt: skip
            digest = spec_digest(raw or b"")
            try:
                spec: str | bytes = (raw or b"").decode("utf-8")
            except UnicodeDecodeError:
                spec = raw
            conn.execute("INSERT OR IGNORE INTO specs (digest, spec) VALUES (?, ?)",
                         (digest, spec))  # fmt: skip
            conn.execute("UPDATE runs SET spec='', spec_digest=? WHERE rowid=?", (digest, rowid))


def _quoted_node(reason: str) -> str | None:
    start = reason.find("node '")
    end = reason.find("'", start + 6) if start >= 0 else -1
    return reason[start + 6 : end] if end > start + 6 else None


FORMAT_VERSION = max(v for v, _ in _MIGRATIONS)

#: The schema at :data:`FORMAT_VERSION`, which a new database gets in one step (running
#: every migration would cost a schema change per column). The migrations above build the
#: same from any older version; a test checks that the two agree.
SCHEMA = """
    CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        graph TEXT NOT NULL,
        source TEXT,
        spec TEXT NOT NULL,
        topology TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        error TEXT,
        waiting TEXT,
        last_step INTEGER NOT NULL DEFAULT -1,
        frontier TEXT NOT NULL,
        usage TEXT,
        parent_run TEXT,
        forked_at INTEGER,
        lease_owner TEXT,
        lease_until REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        failed_node TEXT,
        failed_step INTEGER,
        parent_node TEXT,
        parent_visit INTEGER,
        models TEXT,
        spec_digest TEXT
    );
    CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
    CREATE INDEX IF NOT EXISTS runs_updated ON runs(updated_at);
    CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_run);
    CREATE TABLE IF NOT EXISTS steps (
        run_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        nodes TEXT NOT NULL,
        variables TEXT,
        next TEXT NOT NULL,
        usage TEXT,
        started_at REAL NOT NULL,
        seconds REAL NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS steps_key ON steps(run_id, step);
    CREATE TABLE IF NOT EXISTS messages (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        step INTEGER NOT NULL,
        node TEXT,
        role TEXT NOT NULL,
        name TEXT,
        content TEXT,
        extra TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS messages_key ON messages(run_id, seq);
    CREATE TABLE IF NOT EXISTS snapshots (
        run_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        variables TEXT NOT NULL,
        visits TEXT NOT NULL,
        usage TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS snapshots_key ON snapshots(run_id, step);
    CREATE TABLE IF NOT EXISTS writes (
        run_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        node TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS writes_key ON writes(run_id, step, node);
    CREATE TABLE IF NOT EXISTS effects (
        run_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        node TEXT NOT NULL,
        key TEXT NOT NULL,
        result TEXT NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS effects_key ON effects(run_id, step, node, key);
    """ + ";" + _CALL_TABLES + ";" + _ARTIFACT_TABLES + ";" + _SPEC_TABLE


def create_schema(conn: sqlite3.Connection) -> int:
    """Give a new database the current schema in one transaction; return its version."""
    with Transaction(conn):
        _run_script(conn, SCHEMA)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('format_version', ?)",
                     (str(FORMAT_VERSION),))  # fmt: skip
    return FORMAT_VERSION


def apply_migrations(conn: sqlite3.Connection, current: int, path: str = "") -> int:
    """Apply every registered migration above ``current``, each in one transaction;
    return the new version. ``current`` was read before the first transaction: each one
    reads the version again, so a migration another process applied meanwhile (processes
    that open an old file at once) is not applied twice.

    Raises:
        StoreError: as :class:`~graphflow.store.sqlite.base.Transaction` (naming ``path``).
    """
    for version, fn in _MIGRATIONS:
        if version > current:
            with Transaction(conn, path):
                stored = conn.execute(
                    "SELECT value FROM meta WHERE key='format_version'").fetchone()  # fmt: skip
                current = max(current, int(stored[0]) if stored else 0)
                if version > current:
                    fn(conn)
                    conn.execute(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES ('format_version', ?)",
                        (str(version),),
                    )
                    current = version
    return current
