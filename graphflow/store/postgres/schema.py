"""The Postgres run store's schema, its versions and its migrations.

The applied versions are rows of ``graphflow_schema`` (``version``, ``name``,
``applied_at``). :func:`migrate` brings a database to :data:`FORMAT_VERSION` in ONE
transaction that first takes a transaction-scoped advisory lock
(:data:`ADVISORY_LOCK`), so two processes opening a new database at once apply each
migration exactly once: the second waits for the first to commit, then finds nothing
left to do. Postgres DDL is transactional, so a migration that fails leaves the database
as it was. A database migrated by a newer graphflow (a higher version) is refused rather
than misread, and a database that has a ``runs`` table but no ``graphflow_schema`` is
someone else's and is left untouched.

Migrations are registered with :func:`migration`, in version order, as lists of SQL
statements.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from graphflow.errors import StoreCorrupt, StoreError

__all__ = ["ADVISORY_LOCK", "FORMAT_VERSION", "MIGRATIONS", "SPEC_DIGEST_SQL", "current_version",
           "migrate", "migration"]  # fmt: skip

#: The advisory lock (two int4 keys: "gflw", 1) held while migrating.
ADVISORY_LOCK = (0x67666C77, 1)

#: version → (name, SQL statements)
MIGRATIONS: dict[int, tuple[str, list[str]]] = {}


def migration(version: int, name: str) -> Callable[[Callable[[], list[str]]], Callable[[], list[str]]]:
    """Register the statements ``fn()`` returns as the migration to ``version``."""

    def register(fn: Callable[[], list[str]]) -> Callable[[], list[str]]:
        MIGRATIONS[version] = (name, fn())
        return fn

    return register


@migration(1, "initial schema")
def _initial() -> list[str]:
    return [
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            n BIGINT GENERATED ALWAYS AS IDENTITY,
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
            parent_node TEXT,
            parent_visit INTEGER,
            failed_node TEXT,
            failed_step INTEGER,
            models TEXT,
            lease_owner TEXT,
            lease_until DOUBLE PRECISION,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX runs_status ON runs (status)",
        "CREATE INDEX runs_created ON runs (created_at, n)",
        "CREATE INDEX runs_parent ON runs (parent_run) WHERE parent_run IS NOT NULL",
        """CREATE TABLE steps (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            nodes TEXT NOT NULL,
            variables TEXT,
            next TEXT NOT NULL,
            usage TEXT,
            started_at DOUBLE PRECISION NOT NULL,
            seconds DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (run_id, step))""",
        """CREATE TABLE messages (
            run_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            step INTEGER NOT NULL,
            node TEXT,
            role TEXT NOT NULL,
            name TEXT,
            content TEXT,
            extra TEXT,
            PRIMARY KEY (run_id, seq))""",
        """CREATE TABLE snapshots (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            variables TEXT NOT NULL,
            visits TEXT NOT NULL,
            PRIMARY KEY (run_id, step))""",
        """CREATE TABLE writes (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            node TEXT NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (run_id, step, node))""",
        """CREATE TABLE effects (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            node TEXT NOT NULL,
            key TEXT NOT NULL,
            result TEXT NOT NULL,
            n BIGINT GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (run_id, step, node, key))""",
        """CREATE TABLE model_calls (
            run_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            step INTEGER NOT NULL,
            node TEXT NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            seconds DOUBLE PRECISION NOT NULL,
            model TEXT,
            base_url TEXT,
            prompt TEXT NOT NULL,
            tools TEXT NOT NULL,
            response TEXT,
            usage TEXT,
            error TEXT,
            PRIMARY KEY (run_id, seq))""",
        """CREATE TABLE prompt_messages (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            message TEXT NOT NULL,
            PRIMARY KEY (run_id, key))""",
        """CREATE TABLE artifacts (
            run_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            node TEXT NOT NULL,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            digest TEXT NOT NULL,
            size BIGINT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (run_id, step, node, name))""",
        "CREATE INDEX artifacts_digest ON artifacts (digest)",
        """CREATE TABLE artifact_blobs (
            digest TEXT PRIMARY KEY,
            data BYTEA NOT NULL)""",
    ]


@migration(2, "usage per node in snapshots")
def _snapshot_usage() -> list[str]:
    # A snapshot also keeps the run's usage per node at its step, so that resuming a run
    # sums at most the usage of the steps since (RunReader.node_usage_parts). Snapshots
    # written before are left without it (NULL): their runs are summed from every step.
    return ["ALTER TABLE snapshots ADD COLUMN usage TEXT"]


#: The key of a spec's text in ``specs``, computed by the server: equal to
#: :func:`graphflow.store.codec.spec_digest` (the SHA-256 of the text's UTF-8 bytes, hex).
SPEC_DIGEST_SQL = "encode(sha256(convert_to(spec, 'UTF8')), 'hex')"


@migration(3, "graph specs kept once")
def _specs_apart() -> list[str]:
    # A run's graph spec (the JSON of the whole graph: ~100 bytes per node) moves out of
    # its row into ``specs``, kept once per digest for every run of that graph; the row
    # names it (``spec_digest``, a foreign key) and keeps ``spec`` empty. Each run of a graph stored the
    # same text again, and every update of the row (status, lease) copied it. The
    # statements may run again on a database whose version rows were rolled back by hand.
    return [
        """CREATE TABLE IF NOT EXISTS specs (
            digest TEXT PRIMARY KEY,
            spec TEXT NOT NULL)""",
        "ALTER TABLE runs ADD COLUMN IF NOT EXISTS spec_digest TEXT",
        "CREATE INDEX IF NOT EXISTS runs_spec ON runs (spec_digest)",
        f"INSERT INTO specs (digest, spec) SELECT {SPEC_DIGEST_SQL}, spec FROM runs"
        " WHERE spec_digest IS NULL ON CONFLICT (digest) DO NOTHING",
        f"UPDATE runs SET spec_digest = {SPEC_DIGEST_SQL}, spec = '' WHERE spec_digest IS NULL",
        # the server itself keeps a spec while a run names it (see ..postgres.specs)
        "ALTER TABLE runs DROP CONSTRAINT IF EXISTS runs_spec_digest_fkey",
        "ALTER TABLE runs ADD CONSTRAINT runs_spec_digest_fkey FOREIGN KEY (spec_digest)"
        " REFERENCES specs (digest)",
    ]


#: The version this graphflow writes (the newest registered migration).
FORMAT_VERSION = max(MIGRATIONS)

_VERSIONS = """CREATE TABLE IF NOT EXISTS graphflow_schema (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL)"""


def current_version(conn: Any) -> int | None:
    """The database's version: ``None`` before any migration (no ``graphflow_schema``),
    else the highest applied. Raises StoreCorrupt for someone else's ``runs`` table."""
    tables = {r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND"
        " c.relnamespace = current_schema()::regnamespace"
        " AND c.relname IN ('graphflow_schema', 'runs')").fetchall()}  # fmt: skip
    if "graphflow_schema" not in tables:
        if "runs" in tables:
            raise StoreCorrupt("the database has a `runs` table but is not a graphflow run "
                               "database (it has no graphflow_schema table); it was left "
                               "untouched: point --db at another database or schema")  # fmt: skip
        return None
    row = conn.execute("SELECT max(version) FROM graphflow_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def migrate(conn: Any, where: str, *, target: int | None = None) -> list[int]:
    """Bring the database ``conn`` is connected to up to ``target`` (default: the newest
    registered migration, :data:`FORMAT_VERSION`) and return the versions applied (``[]``: it was up to date).

    ``conn`` must be outside a transaction; everything happens in one transaction
    under the advisory lock.

    Raises:
        StoreError: the database was migrated by a newer graphflow, or no schema is
            selected to create the tables in.
        StoreCorrupt: the database is not a graphflow run database.
    """
    target = max(MIGRATIONS) if target is None else target
    with conn.transaction():
        version = current_version(conn)
        if version == target:
            return []  # the common case: no lock taken, nothing written
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", ADVISORY_LOCK)
        version = current_version(conn)  # again, under the lock
        if version is not None and version > target:
            raise StoreError(f"{where} was migrated by a newer graphflow (schema version "
                             f"{version}, this one knows up to {target}); upgrade graphflow "
                             "to use it")  # fmt: skip
        if conn.execute("SELECT current_schema()").fetchone()[0] is None:
            raise StoreError(f"{where}: no schema to create the graphflow tables in (the "
                             "search_path names none that exists); create it (CREATE SCHEMA) "
                             "or fix the search_path in the URL's options")  # fmt: skip
        conn.execute(_VERSIONS)
        applied = []
        for number in sorted(MIGRATIONS):
            if (version or 0) < number <= target:
                name, statements = MIGRATIONS[number]
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO graphflow_schema (version, name, applied_at)"
                             " VALUES (%s, %s, %s)", (number, name, time.time()))  # fmt: skip
                applied.append(number)
        return applied
