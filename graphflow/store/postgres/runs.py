"""Runs and leases in the Postgres store: creating a run, setting its status, and the
lease that lets one process — on any machine — advance it at a time.

The lease is the run row's ``lease_owner`` and ``lease_until`` (seconds since the
epoch). :meth:`PostgresRuns.acquire_lease` reads the row ``FOR UPDATE`` (its row lock
makes two takers on two machines queue), decides with the same
:func:`~graphflow.store.lease.check_lease` as every store, and writes the new owner in
the same transaction: of two takers, the second reads the first's committed lease and is
refused. Expiry is honoured everywhere; ``holder_is_gone`` (a dead process) only frees
a lease taken on this host. Renewals and releases are conditional UPDATEs that only
touch a lease this store still holds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from graphflow.errors import StoreError
from graphflow.messages import Message
from graphflow.store.codec import check_status, dumps
from graphflow.store.lease import LEASE_SECONDS, check_lease
from graphflow.store.postgres.base import PostgresBase, messages_insert
from graphflow.store.postgres.specs import spec_statement
from graphflow.store.protocol import RunRecord, RunStatus

__all__ = ["PostgresRuns"]

#: How many times ``create_run`` runs its statement again when the spec it names was
#: dropped meanwhile (each time the statement adds it again; with 24 processes creating
#: and deleting runs of one graph at once, five was the most seen).
_ATTEMPTS = 10


class PostgresRuns(PostgresBase):
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
        """Insert a new run with its initial state, holding the lease, and keep its graph's
        spec (once for all its runs), in ONE statement: one round trip and one transaction
        (see :mod:`graphflow.store.postgres.specs`).

        Raises:
            StoreError: a run with that id exists; the spec cannot be stored; the server
                failed (nothing of the run was kept).
        """
        now = time.time()
        writes: list[tuple[str, Sequence[Any]]] = [(
            "INSERT INTO runs (run_id, graph, source, spec, spec_digest, topology, status,"
            " last_step, frontier, usage, parent_run, parent_node, parent_visit, lease_owner,"
            " lease_until, created_at, updated_at) VALUES (%s,%s,%s,'',(SELECT digest FROM"
            " spec_given),%s,'running',-1,%s,'{}',%s,%s,%s,%s,%s,%s,%s)",
            (run_id, graph, source, topology, dumps(frontier), parent_run, parent_node,
             parent_visit, self.lease_owner, now + LEASE_SECONDS, now, now))]  # fmt: skip
        inserted = messages_insert(run_id, 0, -1, messages)
        if inserted is not None:
            writes.append(inserted)
        writes.append(("INSERT INTO snapshots (run_id, step, variables, visits, usage)"
                       " VALUES (%s,-1,%s,'{}','{}')", (run_id, dumps(variables))))  # fmt: skip
        sql, params = spec_statement(spec, writes)
        for _ in range(_ATTEMPTS):
            try:
                self._write(sql, params)
                break
            except self._psycopg.errors.UniqueViolation:
                raise StoreError(f"a run with id {run_id!r} already exists in {self.where}; "
                                 "choose another run id or resume that run") from None  # fmt: skip
            except self._psycopg.errors.ForeignKeyViolation:
                continue  # its spec was dropped since the statement began: nothing was kept
        else:
            raise StoreError(f"could not create run {run_id!r} in {self.where}: the spec of "
                             f"graph {graph!r} was dropped {_ATTEMPTS} times in a row while "
                             "its runs were deleted; try again")  # fmt: skip
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
        self._write("UPDATE runs SET status=%s, reason=%s, error=%s, waiting=%s, failed_node=%s,"
                    " failed_step=%s, updated_at=%s"
                    + (", lease_owner=NULL, lease_until=NULL" if release else "")
                    + " WHERE run_id=%s",
                    (status, reason, error, dumps(waiting) if waiting else None, failed_node,
                     failed_step, time.time(), run_id))  # fmt: skip

    # ---- leases ---------------------------------------------------------------------

    def acquire_lease(self, run_id: str) -> RunRecord:
        """Take the run's lease and return the run as read under it; raise RunInUse
        naming the holder when another live holder has it (on any machine)."""
        now = time.time()
        with self._tx() as conn:
            record = self._read_run(run_id, conn, lock=True)
            check_lease(run_id, record.lease_owner, record.lease_until, self.lease_owner, now)
            conn.execute("UPDATE runs SET lease_owner=%s, lease_until=%s WHERE run_id=%s",
                         (self.lease_owner, now + LEASE_SECONDS, run_id))  # fmt: skip
        self._renewed = now
        return replace(record, lease_owner=self.lease_owner, lease_until=now + LEASE_SECONDS)

    def release_lease(self, run_id: str) -> None:
        self._write("UPDATE runs SET lease_owner=NULL, lease_until=NULL WHERE run_id=%s"
                    " AND lease_owner=%s", (run_id, self.lease_owner))  # fmt: skip

    def renew_lease(self, run_id: str) -> None:
        now = time.time()
        self._write("UPDATE runs SET lease_until=%s WHERE run_id=%s AND lease_owner=%s",
                    (now + LEASE_SECONDS, run_id, self.lease_owner))  # fmt: skip
        self._renewed = now
