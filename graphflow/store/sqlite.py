"""The SQLite run store: append-only, one transaction per committed step.

See docs/durability.md for the contract. In short:

- ``runs`` holds one row per run: the graph (spec JSON, written once), the head it
  started from (``last_step``, ``frontier``: -1 and the entry, or a fork's point), status,
  usage totals and lease. It is updated in place when these change, not every step.
- each committed step appends one ``steps`` row (the nodes that ran, the variables they
  changed, the next frontier) and its new ``messages`` rows, in ONE transaction. The
  newest ``steps`` row is the run's head. Nothing already written is rewritten, so storage
  grows with what the run produced, never with how long it already is.
- ``snapshots`` of variables and visit counts every ``SNAPSHOT_EVERY`` steps keep loading
  a long run O(1) in steps (messages are read once, in order).
- ``writes`` keeps the result of each finished branch of a parallel step until the step
  commits; ``effects`` records side effects (tool calls) of an uncommitted step; both are
  deleted by the commit that folds them in.

sqlite-utils opens the database and serves queries; the hot path (``commit_step``) uses
prepared statements on the same connection, because it runs once per step.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from graphflow.errors import RunInUse, RunNotFound, StoreCorrupt, StoreError
from graphflow.messages import Message
from graphflow.store.lease import HOST, LEASE_SECONDS, holder_is_gone
from graphflow.store.records import RunRecord, Transaction, dumps, loads
from graphflow.store.retention import RetentionMixin
from graphflow.store.schema import FORMAT_VERSION, MARKER, apply_migrations

__all__ = ["LEASE_SECONDS", "RunRecord", "Store"]

SNAPSHOT_EVERY = 200
#: Tables other graphflow layers keep in the run database (the model response cache).
_COMPANION_TABLES = {"model_cache"}


class Store(RetentionMixin):
    """A run database in one SQLite file (``":memory:"`` for a throwaway one).

    Args:
        path: the database file; created with its folder when missing.
        durability: ``"normal"`` (WAL, synchronous=NORMAL: a committed step survives any
            crash of the process) or ``"full"`` (synchronous=FULL: it also survives a
            power loss, at the price of an fsync per step).

    Example:
        >>> store = Store(":memory:")
        >>> store.list_runs()
        []
    """

    def __init__(self, path: str | Path = "graphflow.db", *, durability: str = "normal") -> None:
        self.path = str(path)
        self.durability = durability
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            sync = "FULL" if durability == "full" else "NORMAL"
            conn.execute(f"PRAGMA synchronous = {sync}")
            self.db = sqlite_utils.Database(conn)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(
                f"{self.path} is not a usable SQLite database ({exc}); point --db at a "
                "graphflow run database, or move this file away to start a new one"
            ) from None
        self.conn = conn
        self.lease_owner = f"{HOST}:{os.getpid()}:{id(self):x}"
        self._renewed = 0.0

    # ---- opening ------------------------------------------------------------------

    def _migrate(self) -> None:
        conn = self.db.conn
        tables = set(self.db.table_names()) - _COMPANION_TABLES
        if tables and "meta" not in tables:
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
        apply_migrations(conn, version)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> Transaction:
        return Transaction(self.conn)

    # ---- runs -----------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        *,
        graph: str,
        spec: Mapping[str, Any],
        topology: str,
        frontier: Mapping[str, list[str]],
        variables: Mapping[str, Any],
        messages: Sequence[Message] = (),
        source: str | None = None,
        parent_run: str | None = None,
        forked_at: int | None = None,
        visits: Mapping[str, int] | None = None,
        last_step: int = -1,
        usage: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert a new run with its initial state, holding the lease, in one transaction."""
        now = time.time()
        with self._tx():
            try:
                self.conn.execute(
                    "INSERT INTO runs (run_id, graph, source, spec, topology, status, last_step,"
                    " frontier, usage, parent_run, forked_at, lease_owner, lease_until,"
                    " created_at, updated_at) VALUES (?,?,?,?,?,'running',?,?,?,?,?,?,?,?,?)",
                    (run_id, graph, source, dumps(spec), topology, last_step, dumps(frontier),
                     dumps(usage or {}), parent_run, forked_at, self.lease_owner,
                     now + LEASE_SECONDS, now, now),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise StoreError(
                    f"a run with id {run_id!r} already exists in {self.path}; "
                    "choose another run id or resume that run"
                ) from None
            self._insert_messages(run_id, 0, last_step, messages)
            self.conn.execute(
                "INSERT INTO snapshots (run_id, step, variables, visits) VALUES (?,?,?,?)",
                (run_id, last_step, dumps(variables), dumps(visits or {})),
            )

    def get_run(self, run_id: str) -> RunRecord:
        """The run's row, with its head (``last_step``, ``frontier``) taken from its newest
        committed step when it has one."""
        cursor = self.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        columns = [c[0] for c in cursor.description]
        found = cursor.fetchone()
        if found is None:
            raise RunNotFound(run_id, None if self.path == ":memory:" else self.path)
        row = dict(zip(columns, found, strict=True))
        head = self.conn.execute(
            "SELECT step, next FROM steps WHERE run_id=? AND step>? ORDER BY step DESC LIMIT 1",
            (run_id, row["last_step"]),
        ).fetchone()
        if head is not None:
            row["last_step"], row["frontier"] = head
        return RunRecord.from_row(row)

    def find_runs(self, prefix: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT run_id FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY created_at",
            (prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
        )
        return [r[0] for r in rows]

    def list_runs(
        self, *, status: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        where, params = ("status = ?", [status]) if status else ("1 = 1", [])
        sql = ("SELECT *, (SELECT MAX(step) FROM steps s WHERE s.run_id = runs.run_id) AS head"
               f" FROM runs WHERE {where} ORDER BY created_at DESC")
        if limit:
            sql += f" LIMIT {int(limit)}"
        cursor = self.conn.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        out = []
        for values in cursor.fetchall():
            row = dict(zip(columns, values, strict=True))
            head = row.pop("head")
            if head is not None and head > row["last_step"]:
                row["last_step"] = head
            try:
                out.append(RunRecord.from_row(row))
            except StoreCorrupt as exc:  # list the others; show this one as damaged
                out.append(RunRecord.from_row({**row, "spec": "{}", "waiting": None,
                                               "frontier": "{}", "usage": "{}",
                                               "status": "damaged", "error": str(exc)}))  # fmt: skip
        return out

    def child_runs(self, run_id: str) -> list[tuple[str, int | None]]:
        """Runs whose parent is ``run_id``: forks (with their fork step) and subgraph runs
        (fork step ``None``), oldest first."""
        rows = self.conn.execute(
            "SELECT run_id, forked_at FROM runs WHERE parent_run=? ORDER BY created_at", (run_id,)
        )
        return [(str(r[0]), r[1]) for r in rows]

    def set_status(
        self,
        run_id: str,
        status: str,
        *,
        reason: str | None = None,
        error: str | None = None,
        waiting: Mapping[str, Any] | None = None,
        release: bool = True,
    ) -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE runs SET status=?, reason=?, error=?, waiting=?, updated_at=?"
                + (", lease_owner=NULL, lease_until=NULL" if release else "")
                + " WHERE run_id=?",
                (status, reason, error, dumps(waiting) if waiting else None, time.time(),
                 run_id),
            )  # fmt: skip

    # ---- leases ---------------------------------------------------------------------

    def acquire_lease(self, run_id: str) -> None:
        """Take the run's lease, or raise RunInUse naming the holder."""
        now = time.time()
        with self._tx():
            row = self.conn.execute(
                "SELECT lease_owner, lease_until FROM runs WHERE run_id=?", (run_id,)
            ).fetchone()
            if row is None:
                raise RunNotFound(run_id, None if self.path == ":memory:" else self.path)
            owner, until = row
            if (owner and owner != self.lease_owner and until and until > now
                    and not holder_is_gone(owner)):  # fmt: skip
                host, pid = owner.split(":")[:2]
                raise RunInUse(
                    f"run {run_id!r} is in use by process {pid} on {host} (lease until "
                    f"{time.strftime('%H:%M:%S', time.localtime(until))}); wait for it to "
                    "finish or stop that process, then resume"
                )
            self.conn.execute(
                "UPDATE runs SET lease_owner=?, lease_until=? WHERE run_id=?",
                (self.lease_owner, now + LEASE_SECONDS, run_id),
            )
            self._renewed = now

    def release_lease(self, run_id: str) -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE runs SET lease_owner=NULL, lease_until=NULL WHERE run_id=? AND lease_owner=?",
                (run_id, self.lease_owner),
            )

    def renew_lease(self, run_id: str) -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE runs SET lease_until=? WHERE run_id=? AND lease_owner=?",
                (time.time() + LEASE_SECONDS, run_id, self.lease_owner),
            )

    # ---- steps ----------------------------------------------------------------------

    def commit_step(
        self,
        run_id: str,
        step: int,
        *,
        nodes: Sequence[str],
        messages: Sequence[Message],
        first_seq: int,
        variables: Mapping[str, Any] | None,
        frontier: Mapping[str, Any],
        usage: Mapping[str, Any] | None,
        run_usage: Mapping[str, Any] | None,
        started_at: float,
        snapshot: tuple[Mapping[str, Any], Mapping[str, int]] | None = None,
        had_writes: bool = False,
        had_effects: bool = True,
    ) -> None:
        """Commit one step in one transaction: its messages and its step row (which is
        the run's new head), plus what changed of the run row."""
        now = time.time()
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if messages:
                self._insert_messages(run_id, first_seq, step, messages)
            conn.execute(
                "INSERT INTO steps (run_id, step, nodes, variables, next, usage, started_at,"
                " seconds) VALUES (?,?,?,?,?,?,?,?)",
                (run_id, step, dumps(nodes), dumps(variables) if variables else None,
                 dumps(frontier), dumps(usage) if usage else None, started_at,
                 now - started_at),
            )  # fmt: skip
            if run_usage is not None:
                conn.execute("UPDATE runs SET usage=? WHERE run_id=?", (dumps(run_usage), run_id))
            if now - self._renewed > LEASE_SECONDS / 3:
                conn.execute("UPDATE runs SET lease_until=?, updated_at=? WHERE run_id=? AND "
                             "lease_owner=?", (now + LEASE_SECONDS, now, run_id, self.lease_owner))  # fmt: skip
                self._renewed = now
            if snapshot is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO snapshots (run_id, step, variables, visits)"
                    " VALUES (?,?,?,?)",
                    (run_id, step, dumps(snapshot[0]), dumps(snapshot[1])),
                )
            if had_writes:
                conn.execute("DELETE FROM writes WHERE run_id=? AND step=?", (run_id, step))
            if had_effects:
                conn.execute("DELETE FROM effects WHERE run_id=? AND step=?", (run_id, step))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _insert_messages(
        self, run_id: str, first_seq: int, step: int, messages: Iterable[Message]
    ) -> None:
        rows = []
        for i, m in enumerate(messages):
            extra: dict[str, Any] = {}
            if m.tool_calls:
                extra["tool_calls"] = m.tool_calls
            if m.tool_call_id:
                extra["tool_call_id"] = m.tool_call_id
            rows.append((run_id, first_seq + i, step, m.node, m.role, m.name, m.content,
                         dumps(extra) if extra else None))  # fmt: skip
        self.conn.executemany(
            "INSERT INTO messages (run_id, seq, step, node, role, name, content, extra)"
            " VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )

    def save_writes(self, run_id: str, step: int,
                    payloads: Mapping[str, Mapping[str, Any]]) -> None:  # fmt: skip
        """Save the results of finished branches of a parallel step, in one transaction."""
        with self._tx():
            self.conn.executemany(
                "INSERT OR REPLACE INTO writes (run_id, step, node, payload) VALUES (?,?,?,?)",
                [(run_id, step, node, dumps(p)) for node, p in payloads.items()],
            )

    def effect_results(self, run_id: str) -> list[Any]:
        """Results of the effects recorded by the run's uncommitted step."""
        rows = self.conn.execute("SELECT result FROM effects WHERE run_id=?", (run_id,))
        return [loads(r[0], run_id, "effect") for r in rows]

    def load_writes(self, run_id: str, step: int) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT node, payload FROM writes WHERE run_id=? AND step=?", (run_id, step)
        )
        return {node: json.loads(payload) for node, payload in rows}

    def get_effect(self, run_id: str, step: int, node: str, key: str) -> tuple[bool, Any]:
        row = self.conn.execute(
            "SELECT result FROM effects WHERE run_id=? AND step=? AND node=? AND key=?",
            (run_id, step, node, key),
        ).fetchone()
        return (True, json.loads(row[0])) if row else (False, None)

    def put_effect(self, run_id: str, step: int, node: str, key: str, result: Any) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT OR REPLACE INTO effects (run_id, step, node, key, result)"
                " VALUES (?,?,?,?,?)",
                (run_id, step, node, key, dumps(result)),
            )

    # ---- reading state --------------------------------------------------------------

    def load_messages(self, run_id: str, *, before_step: int | None = None) -> list[Message]:
        sql = "SELECT node, role, name, content, extra FROM messages WHERE run_id=?"
        params: list[Any] = [run_id]
        if before_step is not None:
            sql += " AND step < ?"
            params.append(before_step)
        out = []
        try:
            rows = self.conn.execute(sql + " ORDER BY seq", params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"run {run_id!r}: cannot read its messages ({exc})") from None
        for node, role, name, content, extra in rows:
            fields = loads(extra, run_id, "message") if extra else {}
            try:
                out.append(Message(role=role, name=name, content=content, node=node, **fields))
            except (TypeError, ValueError) as exc:
                raise StoreCorrupt(f"run {run_id!r}: a stored message is damaged ({exc})") from None
        return out

    def message_rows(self, run_id: str) -> list[dict[str, Any]]:
        """Messages with their step and sequence numbers, for reports."""
        return [dict(r) for r in self.db.query(
            "SELECT seq, step, node, role, name, content, extra FROM messages WHERE run_id=?"
            " ORDER BY seq", [run_id])]  # fmt: skip

    def load_variables(self, run_id: str, at_step: int) -> tuple[dict[str, Any], dict[str, int]]:
        """Variables and visit counts after step ``at_step``: the nearest snapshot at or
        before it, plus the deltas of the steps after the snapshot."""
        snap = self.conn.execute(
            "SELECT step, variables, visits FROM snapshots WHERE run_id=? AND step<=?"
            " ORDER BY step DESC LIMIT 1",
            (run_id, at_step),
        ).fetchone()
        if snap is None:
            raise StoreCorrupt(f"run {run_id!r} has no snapshot; the database is damaged")
        base = snap[0]
        variables = loads(snap[1], run_id, "snapshot")
        visits = loads(snap[2], run_id, "snapshot")
        rows = self.conn.execute(
            "SELECT nodes, variables FROM steps WHERE run_id=? AND step>? AND step<=?"
            " ORDER BY step",
            (run_id, base, at_step),
        )
        for nodes, delta in rows:
            for node in loads(nodes, run_id, "step"):
                visits[node] = visits.get(node, 0) + 1
            if delta:
                variables.update(loads(delta, run_id, "step"))
        return variables, visits

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        """The run's committed step rows, decoded, in order."""
        return self.steps_between(run_id, -1, 2**62)

    def step_row(self, run_id: str, step: int) -> dict[str, Any] | None:
        rows = self.steps_between(run_id, step, step)
        return rows[0] if rows else None

    def steps_between(self, run_id: str, first: int, last: int) -> list[dict[str, Any]]:
        out = []
        for row in self.db.query(
            "SELECT * FROM steps WHERE run_id=? AND step BETWEEN ? AND ? ORDER BY step",
            [run_id, first, last],
        ):
            for key in ("nodes", "variables", "next", "usage"):
                row[key] = loads(row[key], run_id, "step") if row[key] else None
            out.append(row)
        return out

    def step_usages(self, run_id: str) -> list[dict[str, Any]]:
        """The ``usage`` of every step that used a model (``{node: usage}`` each)."""
        rows = self.conn.execute(
            "SELECT usage FROM steps WHERE run_id=? AND usage IS NOT NULL ORDER BY step", (run_id,)
        )
        return [loads(r[0], run_id, "step usage") for r in rows]

    def message_count(self, run_id: str) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM messages WHERE run_id=?", (run_id,))
        return int(row.fetchone()[0])

    def size_bytes(self) -> int:
        if self.path == ":memory:":
            page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
            pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
            return int(page_size * pages)
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return os.path.getsize(self.path)


