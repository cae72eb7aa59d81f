"""What the parts of the Postgres store share: the connection pool, the one transaction
idiom, turning psycopg's errors into one-paragraph StoreErrors, and reading a run's row
with its head."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from graphflow.errors import RunNotFound, StoreCorrupt, StoreError, StoreFull
from graphflow.messages import Message
from graphflow.store.codec import dumps, loads, message_extra, run_record
from graphflow.store.model_calls import PromptChains
from graphflow.store.protocol import RunRecord

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["LISTED_COLUMNS", "NUL_CONTENT", "RUN_COLUMNS", "RUN_FROM", "PostgresBase", "connection_problem", "fetch", "messages_insert",
           "public_url", "url_secrets"]

#: The columns of a run row, its spec's text joined in (``spec_text``, ``NULL`` when the
#: spec it names is missing; see :func:`~graphflow.store.codec.run_record`), read
#: ``FROM`` :data:`RUN_FROM`.
RUN_COLUMNS = ("runs.run_id, runs.graph, runs.source, runs.spec, runs.spec_digest, "
               "specs.spec AS spec_text, runs.topology, runs.status, runs.reason, runs.error, "
               "runs.waiting, runs.last_step, runs.frontier, runs.usage, runs.parent_run, "
               "runs.forked_at, runs.lease_owner, runs.lease_until, runs.created_at, "
               "runs.updated_at, runs.failed_node, runs.failed_step, runs.parent_node, "
               "runs.parent_visit, runs.models")  # fmt: skip
#: The tables :data:`RUN_COLUMNS` come from: a run and the spec it names (kept once for
#: every run of its graph, see :mod:`graphflow.store.postgres.specs`).
RUN_FROM = "runs LEFT JOIN specs ON specs.digest = runs.spec_digest"
#: A listing's columns: :data:`RUN_COLUMNS` with whether the spec a row names is there
#: (``spec_found``) rather than its text, read once per graph
#: (:func:`~graphflow.store.codec.with_spec_texts`).
LISTED_COLUMNS = RUN_COLUMNS.replace("specs.spec AS spec_text", "specs.digest AS spec_found")


#: Query parameters of a libpq URL that hold secrets: never shown.
_SECRET_PARAMS = frozenset({"password", "sslpassword"})


def public_url(url: str) -> str:
    """``url`` without its password (in the user part or as a ``password=`` query
    parameter), fit for messages and logs. A malformed URL (a port that is not a number,
    an unclosed ``[``) is cut the same way, by hand, never raising.

    Example:
        >>> public_url("postgresql://ann:s3cret@db.example:5432/runs")
        'postgresql://ann@db.example:5432/runs'
        >>> public_url("postgresql://ann@db.example/runs?password=s3cret&sslmode=require")
        'postgresql://ann@db.example/runs?sslmode=require'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "the Postgres database"
    rest = rest.split("#", 1)[0]
    head, question, query = rest.partition("?")
    if "@" in head:  # the last @ ends the user part: a password may hold @ and /
        userinfo, _, head = head.rpartition("@")
        user = userinfo.split(":", 1)[0]
        head = f"{user}@{head}" if user else head
    kept = [part for part in query.split("&")
            if part and unquote(part.split("=", 1)[0]).strip().lower() not in _SECRET_PARAMS]
    return f"{scheme}://{head}" + (f"?{'&'.join(kept)}" if question and kept else "")


def url_secrets(url: str) -> list[str]:
    """The password of ``url`` (user part or ``password=`` parameter) and, when it holds
    an ``@`` that libpq may split the URL at, its pieces: the texts an error about
    ``url`` must not repeat."""
    head = url.partition("://")[2].split("?", 1)[0]
    found: list[str] = []
    if "@" in head:
        userinfo = head.rpartition("@")[0]
        if ":" in userinfo:
            found.append(unquote(userinfo.split(":", 1)[1]))
    for part in url.partition("?")[2].split("#", 1)[0].split("&"):
        name, _, value = part.partition("=")
        if unquote(name).strip().lower() in _SECRET_PARAMS:
            found.append(unquote(value))
    pieces = [piece for secret in found for piece in secret.split("@") if "@" in secret]
    return sorted({s for s in found + pieces if len(s) >= 2}, key=len, reverse=True)


def connection_problem(where: str, exc: BaseException, secrets: Iterable[str] = ()) -> StoreError:
    """A psycopg failure as one paragraph naming the database, the cause and the fix: a
    full disk (SQLSTATE 53100) is :class:`~graphflow.errors.StoreFull`, as on SQLite.
    ``secrets`` (see :func:`url_secrets`) are masked in the server's or libpq's text."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    low = text.lower()
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == DISK_FULL:
        return StoreFull(f"{where}: the server's disk is full ({text}); nothing of the write "
                         "in progress was kept: the run stays at its last committed step. "
                         "Free some space on the database server, then resume the run "
                         "(`graphflow resume RUN_ID`)")  # fmt: skip
    if sqlstate == QUERY_CANCELED or "canceling statement due to" in low:
        return StoreError(f"{where}: the server cancelled a statement ({text}); nothing of "
                          "the write in progress was kept: the run stays at its last "
                          "committed step. If a statement_timeout (or lock_timeout) is set "
                          "for this user or database, raise it for graphflow's user (ALTER "
                          "ROLE … SET statement_timeout = …, or options=-cstatement_timeout%3D… "
                          "in the URL), then resume the run")  # fmt: skip
    if sqlstate == TOO_MANY_CONNECTIONS or "too many connections" in low or (
            "too many clients" in low):  # fmt: skip
        return StoreError(f"{where} has no free connection: {text}. Each worker process "
                          "keeps a pool of up to 8 connections: lower `graphflow worker "
                          "--concurrency` (or PostgresStore's max_size), put a pooler "
                          "(PgBouncer) in front, or raise the server's max_connections (or "
                          "the role's CONNECTION LIMIT)")  # fmt: skip
    if "password authentication failed" in low or "no password supplied" in low or (
            "authentication" in low and "fail" in low) or (
            "role" in low and "does not exist" in low):  # fmt: skip
        return StoreError(f"cannot log in to {where}: {text}. Check the user name and password "
                          "in the URL (postgresql://USER:PASSWORD@HOST/DB) or in ~/.pgpass")
    if "does not exist" in low and "database" in low:
        return StoreError(f"{where}: {text}. Create it first (`createdb NAME`, or CREATE "
                          "DATABASE NAME in psql), or point --db at an existing database")
    if any(word in low for word in ("connection refused", "could not connect", "timeout expired",
                                    "could not translate host", "connection failed",
                                    "no route to host", "couldn't get a connection")):  # fmt: skip
        return StoreError(f"cannot reach the Postgres server of {where}: {text}. Start the "
                          "server, or check the host and port in the URL (--db or "
                          "GRAPHFLOW_DB)")  # fmt: skip
    if any(word in low for word in ("terminating connection", "server closed the connection",
                                    "connection is lost", "connection is closed",
                                    "consuming input failed", "the connection is closed",
                                    "eof detected", "ssl syscall")):  # fmt: skip
        return StoreError(f"the connection to {where} was lost ({text}); nothing of the "
                          "write in progress was kept: the run stays at its last committed "
                          "step. Resume it (`graphflow resume RUN_ID`) once the server "
                          "answers again")  # fmt: skip
    if "does not exist" in low and ("relation" in low or "column" in low):
        return StoreCorrupt(f"{where} is damaged: {text} (a table was dropped or changed); "
                            "restore it from a backup, or point --db at another database")
    if "permission denied" in low or "read-only" in low:
        return StoreError(f"{where}: {text}. Grant the user the rights on the graphflow "
                          "tables (SELECT, INSERT, UPDATE, DELETE), or use another user")
    return StoreError(f"{where}: {text}")


#: SQLSTATE of "disk full" (class 53, insufficient resources).
DISK_FULL = "53100"
#: SQLSTATE of "too many connections" (the server's max_connections, a role's limit).
TOO_MANY_CONNECTIONS = "53300"
#: SQLSTATE of a statement cancelled (statement_timeout, lock_timeout, pg_cancel_backend).
QUERY_CANCELED = "57014"


class PostgresBase:
    """The state the parts of :class:`~graphflow.store.postgres.PostgresStore` share."""

    url: str
    where: str
    pool: ConnectionPool[Any]
    lease_owner: str
    #: when this store last renewed a lease (``time.time()``); commits renew it too
    _renewed: float
    _chains: PromptChains
    _closed: bool = False
    _psycopg: Any

    # ---- connections and transactions ----------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection from the pool (autocommit: each statement commits on its own). A
        psycopg failure (the server gone, the connection killed mid-commit) becomes a
        :func:`connection_problem` StoreError; the pool drops the broken connection and
        hands out a fresh one next time. A unique or foreign key violation is left to the
        caller, who says what it means (an id taken, a step committed twice, a run's
        graph spec dropped meanwhile)."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except self._psycopg.Error as exc:
            if isinstance(exc, (self._psycopg.errors.UniqueViolation,
                                self._psycopg.errors.ForeignKeyViolation)):  # fmt: skip
                raise
            raise connection_problem(self.where, exc) from None
        except self._pool_errors() as exc:
            raise connection_problem(self.where, exc) from None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in one transaction: committed when the block ends, rolled back
        when it raises (errors as in :meth:`_connection`)."""
        with self._connection() as conn, conn.transaction():
            yield conn

    def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement, committed on its own; the number of rows it touched."""
        with self._connection() as conn:
            return conn.execute(sql, params).rowcount

    def _pool_errors(self) -> type[BaseException]:
        from psycopg_pool import PoolTimeout

        return PoolTimeout

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query as dicts (column name → value); a query that fails on a
        connection the server closed is tried once more on a fresh one."""
        from psycopg.rows import dict_row

        for attempt in (1, 2):
            try:
                with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                    cur.execute(sql, params)
                    return cur.fetchall()
            except self._psycopg.OperationalError as exc:
                if attempt == 1 and _broken(exc):
                    continue
                raise connection_problem(self.where, exc) from None
            except self._psycopg.Error as exc:
                raise connection_problem(self.where, exc) from None
            except self._pool_errors() as exc:
                raise connection_problem(self.where, exc) from None
        raise AssertionError("unreachable")

    def _values(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query as tuples."""
        return [tuple(row.values()) for row in self._rows(sql, params)]

    def _not_found(self, run_id: str) -> RunNotFound:
        return RunNotFound(run_id, self.where)

    # ---- shared reads and writes ---------------------------------------------------

    def _read_run(self, run_id: str, conn: psycopg.Connection[Any] | None = None,
                  *, lock: bool = False) -> RunRecord:  # fmt: skip
        """The run's row with its head (``last_step``, ``frontier``) from its newest
        committed step when it has one, in one query; ``lock`` takes the row's lock (in
        ``conn``'s transaction). Raises RunNotFound, StoreCorrupt."""
        sql = (f"SELECT {RUN_COLUMNS}, h.head_step, h.head_next FROM {RUN_FROM} LEFT JOIN LATERAL"
               " (SELECT s.step AS head_step, s.next AS head_next FROM steps s"
               " WHERE s.run_id = runs.run_id ORDER BY s.step DESC LIMIT 1) h ON true"
               " WHERE runs.run_id = %s" + (" FOR UPDATE OF runs" if lock else ""))  # fmt: skip
        rows = self._rows(sql, [run_id]) if conn is None else fetch(conn, sql, [run_id])
        if not rows:
            raise self._not_found(run_id)
        row = rows[0]
        step, frontier = row.pop("head_step"), row.pop("head_next")
        if step is not None and step > row["last_step"]:
            row["last_step"], row["frontier"] = step, frontier
        return run_record(row)

    def _insert_messages(self, conn: psycopg.Connection[Any], run_id: str, first_seq: int,
                         step: int, messages: Iterable[Message]) -> None:  # fmt: skip
        statement = messages_insert(run_id, first_seq, step, messages)
        if statement is not None:
            conn.execute(*statement)


#: The key of ``extra`` that keeps a content holding NUL characters, which a Postgres
#: text column cannot hold (the JSON text of ``extra`` escapes them).
NUL_CONTENT = "$content"


def messages_insert(run_id: str, first_seq: int, step: int,
                    messages: Iterable[Message]) -> tuple[str, list[Any]] | None:  # fmt: skip
    """One multi-row INSERT of ``messages`` (numbered from ``first_seq``), or ``None``."""
    params: list[Any] = []
    for i, m in enumerate(messages):
        content, extra = m.content, message_extra(m)
        if content is not None and "\x00" in content:
            fields = loads(extra, run_id, "message") if extra else {}
            content, extra = None, dumps({**fields, NUL_CONTENT: m.content})
        params += [run_id, first_seq + i, step, m.node, m.role, m.name, content, extra]
    if not params:
        return None
    rows = ",".join(["(%s,%s,%s,%s,%s,%s,%s,%s)"] * (len(params) // 8))
    return ("INSERT INTO messages (run_id, seq, step, node, role, name, content, extra)"
            f" VALUES {rows}", params)  # fmt: skip


def fetch(conn: psycopg.Connection[Any], sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of a query on ``conn`` (inside its transaction) as dicts."""
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def _broken(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection itself is gone (not the query is wrong)."""
    text = str(exc).lower()
    return any(word in text for word in ("terminating connection", "server closed the connection",
                                         "connection is lost", "connection is closed",
                                         "consuming input failed", "eof detected"))  # fmt: skip
