"""Forks and retention in the Postgres store: copying a run's state into a new run,
deleting runs."""

from __future__ import annotations

import time
from collections.abc import Mapping

from graphflow.errors import StoreError
from graphflow.store.codec import dumps, loads
from graphflow.store.postgres.artifacts import BLOB_LOCK, drop_unused_blobs
from graphflow.store.postgres.readers import PostgresReader
from graphflow.store.postgres.specs import drop_spec, lock_spec, put_spec
from graphflow.store.retention import Pruning, fork_frontier

__all__ = ["PostgresRetention"]

_RUN_TABLES = ("messages", "steps", "snapshots", "writes", "effects", "model_calls",
               "prompt_messages", "runs")  # fmt: skip  (and artifacts, below)


class PostgresRetention(PostgresReader, Pruning):
    """Fork, delete and prune."""

    def fork_run(self, run_id: str, at_step: int, new_id: str,
                 initial_frontier: Mapping[str, list[str]]) -> None:  # fmt: skip
        """Create run ``new_id`` holding ``run_id``'s state just before step ``at_step``
        (its messages, variables, visit counts and frontier), ready to resume.

        The source is read in the fork's transaction, after its spec row (the order a
        deleter locks them in) and its run row are locked for key share: a process that
        deletes it meanwhile either committed first (RunNotFound) or waits for the fork to
        commit a whole copy.

        Raises:
            RunNotFound: no run ``run_id`` (or it was deleted before the fork locked it).
            StoreError: ``at_step`` out of range, or ``new_id`` taken.
        """
        spec = self.get_run(run_id).spec  # the spec row to hold first, as a deleter does
        try:
            with self._tx() as conn:
                digest = put_spec(conn, spec or {})
                if not conn.execute("SELECT 1 FROM runs WHERE run_id=%s FOR KEY SHARE",
                                    (run_id,)).fetchone():  # fmt: skip
                    raise self._not_found(run_id)
                record = self._read_run(run_id, conn)
                if record.spec != spec:  # its row repaired, or the run replaced, meanwhile
                    digest = put_spec(conn, record.spec or {})
                step_before = self.step_row(run_id, at_step - 1, conn=conn) if at_step else None
                started = None
                if record.forked_at == at_step:  # the frontier it was made with
                    row = conn.execute("SELECT frontier FROM runs WHERE run_id=%s",
                                       (run_id,)).fetchone()  # fmt: skip
                    started = loads(row[0], run_id, "run frontier") if row else None
                frontier = fork_frontier(record, at_step, step_before, initial_frontier, started)
                variables, visits = self._state_at(run_id, at_step - 1, conn)
                now = time.time()
                conn.execute(
                    "INSERT INTO runs (run_id, graph, source, spec, spec_digest, topology, status,"
                    " last_step, frontier, usage, parent_run, forked_at, created_at, updated_at,"
                    " models) VALUES (%s,%s,%s,'',%s,%s,'ready',%s,%s,'{}',%s,%s,%s,%s,%s)",
                    (new_id, record.graph, record.source, digest,
                     record.topology, at_step - 1, dumps(frontier), run_id, at_step, now, now,
                     dumps(record.models) if record.models else None),
                )  # fmt: skip
                conn.execute(
                    "INSERT INTO messages (run_id, seq, step, node, role, name, content, extra)"
                    " SELECT %s, seq, step, node, role, name, content, extra FROM messages"
                    " WHERE run_id=%s AND step<%s", (new_id, run_id, at_step))  # fmt: skip
                # a fork's usage starts from nothing: it has no steps of its own yet
                conn.execute("INSERT INTO snapshots (run_id, step, variables, visits, usage)"
                             " VALUES (%s,%s,%s,%s,'{}')",
                             (new_id, at_step - 1, dumps(variables), dumps(visits)))  # fmt: skip
                conn.execute(  # the rows of the steps it keeps; their bytes are shared
                    "INSERT INTO artifacts (run_id, step, node, name, media_type, digest, size,"
                    " created_at) SELECT %s, step, node, name, media_type, digest, size,"
                    " created_at FROM artifacts WHERE run_id=%s AND step<%s",
                    (new_id, run_id, at_step))  # fmt: skip
        except self._psycopg.errors.UniqueViolation:
            raise StoreError(f"a run with id {new_id!r} already exists") from None
        except self._psycopg.errors.ForeignKeyViolation:  # put_spec holds its spec: never
            raise StoreError(f"could not fork run {run_id!r}: the spec of its graph was "
                             "dropped meanwhile; try again") from None  # fmt: skip

    def delete_run(self, run_id: str) -> None:
        """Delete the run's rows, and its graph spec and the artifact bytes no other run
        names."""
        with self._tx() as conn:
            digest = lock_spec(conn, run_id)  # first: it may wait for writers of the graph
            for table in _RUN_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE run_id=%s", (run_id,))
            if digest is not None:
                drop_spec(conn, digest)
            if conn.execute("SELECT 1 FROM artifacts WHERE run_id=%s LIMIT 1",
                            (run_id,)).fetchone():  # fmt: skip
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", BLOB_LOCK)
                digests = conn.execute("DELETE FROM artifacts WHERE run_id=%s RETURNING digest",
                                       (run_id,)).fetchall()  # fmt: skip
                drop_unused_blobs(conn, [r[0] for r in digests])
