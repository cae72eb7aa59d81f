"""Runs and leases in the SQLite store: creating a run, setting its status, and the lease
that lets one process at a time advance it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.errors import StoreError
from graphflow.messages import Message
from graphflow.store.codec import check_status, dumps, dumps_spec_digest
from graphflow.store.lease import LEASE_SECONDS, check_lease
from graphflow.store.protocol import RunRecord, RunStatus
from graphflow.store.sqlite.base import SQLiteBase

__all__ = ["SQLiteRuns", "put_spec"]


def put_spec(conn: Any, spec: Mapping[str, Any]) -> str:
    """Keep ``spec`` in the ``specs`` table (once per digest, inside the caller's
    transaction) and return its digest, which the run row names. A compiled graph's
    :class:`~graphflow.store.codec.StoredSpec` keeps its text and digest for its next runs.
    A row of that digest whose text differs (damaged or edited: the digest is the text's)
    is written again, so the run is not born damaged and the older runs read again."""
    text, digest = dumps_spec_digest(spec)
    conn.execute(
        "INSERT INTO specs (digest, spec) VALUES (?, ?) ON CONFLICT (digest) DO UPDATE"
        " SET spec=excluded.spec WHERE spec IS NOT excluded.spec",
        (digest, text),
    )
    return digest


class SQLiteRuns(SQLiteBase):
    """Creating runs, their status and their lease."""

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
        parent_node: str | None = None,
        parent_visit: int | None = None,
    ) -> None:
        """Insert a new run with its initial state, holding the lease, in one transaction."""
        now = time.time()
        with self._tx() as conn:
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, graph, source, spec, spec_digest, topology, status,"
                    " last_step, frontier, usage, parent_run, parent_node, parent_visit,"
                    " lease_owner, lease_until, created_at, updated_at)"
                    " VALUES (?,?,?,'',?,?,'running',-1,?,'{}',?,?,?,?,?,?,?)",
                    (run_id, graph, source, put_spec(conn, spec), topology, dumps(frontier),
                     parent_run, parent_node, parent_visit, self.lease_owner,
                     now + LEASE_SECONDS, now, now),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise StoreError(
                    f"a run with id {run_id!r} already exists in {self.path}; "
                    "choose another run id or resume that run"
                ) from None
            if messages:  # (a statement SQLite would prepare for nothing)
                self._insert_messages(run_id, 0, -1, messages)
            conn.execute(
                "INSERT INTO snapshots (run_id, step, variables, visits, usage)"
                " VALUES (?,-1,?,'{}','{}')",
                (run_id, dumps(variables)),
            )
        self._renewed = now  # the lease was just taken: the first steps need not renew it

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        reason: str | None = None,
        error: str | None = None,
        waiting: Mapping[str, Any] | None = None,
        failed_node: str | None = None,
        failed_step: int | None = None,
        release: bool = True,
    ) -> None:
        check_status(status)
        with self._tx():
            self._write_status(run_id, status, reason, error=error, waiting=waiting,
                               failed_node=failed_node, failed_step=failed_step,
                               release=release)  # fmt: skip

    # ---- leases ---------------------------------------------------------------------

    def acquire_lease(self, run_id: str) -> RunRecord:
        """Take the run's lease and return the run as read under it; raise RunInUse
        naming the holder when another live process holds it."""
        now = time.time()
        with self._tx() as conn:
            record = self._read_run(run_id)
            check_lease(run_id, record.lease_owner, record.lease_until, self.lease_owner, now)
            conn.execute(
                "UPDATE runs SET lease_owner=?, lease_until=? WHERE run_id=?",
                (self.lease_owner, now + LEASE_SECONDS, run_id),
            )
            self._renewed = now
        return _with_lease(record, self.lease_owner, now + LEASE_SECONDS)

    def release_lease(self, run_id: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE runs SET lease_owner=NULL, lease_until=NULL WHERE run_id=? AND lease_owner=?",
                (run_id, self.lease_owner),
            )

    def renew_lease(self, run_id: str) -> None:
        now = time.time()
        with self._tx() as conn:
            conn.execute(
                "UPDATE runs SET lease_until=? WHERE run_id=? AND lease_owner=?",
                (now + LEASE_SECONDS, run_id, self.lease_owner),
            )
            self._renewed = now


def _with_lease(record: RunRecord, owner: str, until: float) -> RunRecord:
    from dataclasses import replace

    return replace(record, lease_owner=owner, lease_until=until)
