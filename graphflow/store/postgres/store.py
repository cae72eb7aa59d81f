"""The Postgres run store: the SQLite store's contract and layout on a shared server.

Runs, steps, messages, snapshots, branch writes, effects and model calls are kept exactly
as in the SQLite store (see :mod:`graphflow.store.sqlite.store`): each committed step
appends one ``steps`` row and its new ``messages`` rows in ONE transaction, nothing
already written is rewritten (storage grows with what a run produced), and every JSON
value is text written and read by :mod:`graphflow.store.codec`. What Postgres adds:

- many processes on many machines share one database; the lease on a run (its row's
  ``lease_owner`` and ``lease_until``) is taken under the row's lock, so two of them
  never advance a run at once (:mod:`.runs`);
- a connection pool (psycopg_pool): each call borrows a connection for one statement
  or one transaction; a connection the server dropped is replaced on the next call, and
  a read that met one is tried once more;
- schema migrations in one transaction under an advisory lock (:mod:`.schema`).

The parts live in their own modules: runs and leases (:mod:`.runs`), step commits and
branch writes (:mod:`.steps`), effects and model calls (:mod:`.journal`), artifacts
(:mod:`.artifacts`), graph specs kept once for all the runs of a graph (:mod:`.specs`),
reading (:mod:`.readers`), forks and retention (:mod:`.retention`).
"""

from __future__ import annotations

import logging
from typing import Any

from graphflow.errors import StoreError, StoreFull
from graphflow.store.lease import new_owner
from graphflow.store.model_calls import PromptChains
from graphflow.store.postgres.artifacts import PostgresArtifacts
from graphflow.store.postgres.base import connection_problem, public_url, url_secrets
from graphflow.store.postgres.journal import PostgresJournal
from graphflow.store.postgres.retention import PostgresRetention
from graphflow.store.postgres.runs import PostgresRuns
from graphflow.store.postgres.schema import FORMAT_VERSION, migrate
from graphflow.store.postgres.steps import PostgresSteps
from graphflow.store.postgres.url import INSTALL_HINT

__all__ = ["PostgresStore"]

logger = logging.getLogger(__name__)

def _drivers() -> tuple[Any, Any]:
    """psycopg and psycopg_pool, or a StoreError naming the extra to install."""
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:
        raise StoreError(f"a postgresql:// run database needs psycopg 3 and psycopg_pool, "
                         f"which are not installed ({exc}); install them with "
                         f"`{INSTALL_HINT}`, or use an SQLite file for --db") from None  # fmt: skip
    return psycopg, psycopg_pool




def _migration_failed(where: str, exc: BaseException, secrets: list[str]) -> StoreError:
    """A failure while the database was being migrated (one transaction: nothing of it
    was kept) as one paragraph: what failed, that no run was touched, and the fix."""
    problem = connection_problem(where, exc, secrets)
    if isinstance(problem, StoreFull) or getattr(exc, "sqlstate", None) is None:
        return problem  # a full disk, a lost connection (no server state): as for any
    text = " ".join(str(exc).split())
    for secret in secrets:
        text = text.replace(secret, "***")
    return StoreError(f"{where}: migrating the database to graphflow's schema version "
                      f"{FORMAT_VERSION} failed ({text}); nothing was changed (a migration is "
                      "one transaction) and no run was touched. A migration rewrites every "
                      "run: if a statement_timeout or lock_timeout cancelled it, raise it for "
                      "graphflow's user (ALTER ROLE … SET statement_timeout = 0) and open the "
                      "store again; otherwise fix what the server says, then open it again")

def read_committed(conn: Any) -> None:
    """Run ``conn``'s transactions at READ COMMITTED, whatever the database's or role's
    ``default_transaction_isolation`` says: the store's rules for specs, leases and
    migrations rely on each statement seeing what other transactions committed before it
    began (at REPEATABLE READ a deleter's check would miss a run committed while it waited
    for a lock, and the migration's version check under its lock would read a stale
    version)."""
    conn.execute("SET default_transaction_isolation = 'read committed'")

class PostgresStore(PostgresRetention, PostgresRuns, PostgresSteps, PostgresJournal,
                    PostgresArtifacts):
    """A run database on a Postgres server (psycopg 3, with a connection pool).

    Implements :class:`~graphflow.store.RunStore` (the reader and writer protocols, forks
    and retention) and passes the same contract suite as the SQLite store. Opening it
    creates or migrates the schema (in the URL's database and search_path schema).

    Args:
        url: a libpq URL, ``postgresql://USER:PASSWORD@HOST:PORT/DATABASE`` (query
            parameters such as ``sslmode`` or ``options=-csearch_path%3Dmyschema``
            are passed on).
        min_size: connections the pool keeps open.
        max_size: connections the pool opens at most (calls beyond wait for one).
        timeout: seconds to connect, and to wait for a connection from the pool.

    Raises:
        StoreError: psycopg is not installed (the message names the extra); the server
            cannot be reached, refuses the login, or has no such database (one paragraph
            with the fix); the schema was migrated by a newer graphflow.
        StoreCorrupt: the database holds a ``runs`` table that is not graphflow's.

    Example (needs a server)::

        store = PostgresStore("postgresql://graphflow@db.internal/runs")
        graph.run_sync("hello", store=store)
    """

    #: other processes, on this machine or others, open the same database
    shared = True

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8,
                 timeout: float = 10.0) -> None:  # fmt: skip
        psycopg, pool_module = _drivers()
        self._psycopg = psycopg
        self.url = url
        self.where = public_url(url)
        self._renewed = 0.0
        self._chains = PromptChains()
        self._closed = False
        self.lease_owner = new_owner(self)
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout)))
        except psycopg.Error as exc:
            raise connection_problem(self.where, exc, url_secrets(url)) from None
        with conn:
            try:
                read_committed(conn)
                applied = migrate(conn, self.where)
            except psycopg.Error as exc:
                raise _migration_failed(self.where, exc, url_secrets(url)) from None
        if applied:
            logger.info("migrated run database %s to schema version %d", self.where, applied[-1])
        self.pool = pool_module.ConnectionPool(
            url, min_size=min_size, max_size=max_size, timeout=timeout, open=True,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
            configure=read_committed, name=f"graphflow-{self.lease_owner}")  # fmt: skip

    def close(self) -> None:
        """Close the pool's connections. Conversations it handed out stay readable (see
        :meth:`load_conversation`)."""
        self._closed = True
        self.pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
