"""Forks and retention in the SQLite store: copying a run's state into a new run,
deleting runs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping

from graphflow.errors import StoreError
from graphflow.store.codec import dumps, loads
from graphflow.store.retention import Pruning, fork_frontier
from graphflow.store.sqlite.artifacts import drop_unused_blobs
from graphflow.store.sqlite.readers import SQLiteReader
from graphflow.store.sqlite.runs import put_spec

__all__ = ["SQLiteRetention"]


class SQLiteRetention(SQLiteReader, Pruning):
    """Fork, delete and prune."""

    def fork_run(self, run_id: str, at_step: int, new_id: str,
                 initial_frontier: Mapping[str, list[str]]) -> None:  # fmt: skip
        """Create run ``new_id`` holding ``run_id``'s state just before step ``at_step``
        (its messages, variables, visit counts and frontier), ready to resume.

        The source is read in the fork's own (write-locked) transaction: a process that
        deletes it meanwhile either finished first (RunNotFound) or waits for the fork to
        commit a whole copy.

        Raises:
            RunNotFound: no run ``run_id`` (or it was deleted before the fork began).
            StoreError: ``at_step`` out of range, or ``new_id`` taken.
        """
        with self._tx() as conn:
            record = self.get_run(run_id)
            started = None
            if record.forked_at == at_step:  # the frontier it was made with
                row = conn.execute("SELECT frontier FROM runs WHERE run_id=?",
                                   (run_id,)).fetchone()  # fmt: skip
                started = loads(row[0], run_id, "run frontier") if row else None
            frontier = fork_frontier(record, at_step,
                                     self.step_row(run_id, at_step - 1) if at_step else None,
                                     initial_frontier, started)  # fmt: skip
            variables, visits = self.load_variables(run_id, at_step - 1)
            now = time.time()
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, graph, source, spec, spec_digest, topology,"
                    " status, last_step, frontier, usage, parent_run, forked_at, created_at,"
                    " updated_at, models) VALUES (?,?,?,'',?,?,'ready',?,?,'{}',?,?,?,?,?)",
                    (new_id, record.graph, record.source, put_spec(conn, record.spec or {}),
                     record.topology,
                     at_step - 1, dumps(frontier), run_id, at_step, now, now,
                     dumps(record.models) if record.models else None),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise StoreError(f"a run with id {new_id!r} already exists") from None
            conn.execute(
                "INSERT INTO messages (run_id, seq, step, node, role, name, content, extra)"
                " SELECT ?, seq, step, node, role, name, content, extra FROM messages"
                " WHERE run_id=? AND step<?",
                (new_id, run_id, at_step),
            )
            conn.execute(  # a fork's usage starts from nothing: it has no steps of its own yet
                "INSERT INTO snapshots (run_id, step, variables, visits, usage)"
                " VALUES (?,?,?,?,'{}')",
                (new_id, at_step - 1, dumps(variables), dumps(visits)),
            )
            conn.execute(
                "INSERT INTO artifacts (run_id, step, node, name, media_type, digest, size,"
                " created_at) SELECT ?, step, node, name, media_type, digest, size, created_at"
                " FROM artifacts WHERE run_id=? AND step<?",
                (new_id, run_id, at_step),
            )

    def delete_run(self, run_id: str) -> None:
        with self._tx() as conn:
            named = conn.execute("SELECT spec_digest FROM runs WHERE run_id=?",
                                 (run_id,)).fetchone()  # fmt: skip
            for table in ("messages", "steps", "snapshots", "writes", "effects", "model_calls",
                          "prompt_messages", "artifacts", "runs"):
                conn.execute(f"DELETE FROM {table} WHERE run_id=?", (run_id,))
            drop_unused_blobs(conn)
            if named is not None and named[0] is not None:  # its spec, unless another run has it
                conn.execute("DELETE FROM specs WHERE digest=? AND NOT EXISTS (SELECT 1 FROM"
                             " runs WHERE spec_digest=?)", (named[0], named[0]))  # fmt: skip
