"""The run database's schema, its format version and its migrations.

Migrations are registered with :func:`migration` and applied in order when a database
is opened; the applied version is kept in ``meta.format_version``. A database written by
a newer graphflow (a higher version) is refused rather than misread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["FORMAT_VERSION", "MARKER", "apply_migrations", "migration"]

MARKER = "graphflow-run-store"
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


FORMAT_VERSION = max(v for v, _ in _MIGRATIONS)


def apply_migrations(conn: sqlite3.Connection, current: int) -> int:
    """Apply every registered migration above ``current``; return the new version."""
    for version, fn in _MIGRATIONS:
        if version > current:
            conn.execute("BEGIN IMMEDIATE")
            try:
                fn(conn)
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('format_version', ?)",
                    (str(version),),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            current = version
    return current
