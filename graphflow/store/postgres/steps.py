"""Committing steps in the Postgres store, and the branch writes of a parallel step in
flight."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.errors import StoreError
from graphflow.messages import Message
from graphflow.store.codec import branch_result, check_status, dumps, dumps_record, usage_totals
from graphflow.store.lease import LEASE_SECONDS
from graphflow.store.postgres.base import PostgresBase, messages_insert
from graphflow.store.protocol import SNAPSHOT_EVERY, RunStatus, UsageTotal

__all__ = ["SNAPSHOT_EVERY", "PostgresSteps"]

logger = logging.getLogger(__name__)


class PostgresSteps(PostgresBase):
    """Step commits and branch writes."""

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
        state: tuple[Mapping[str, Any], Mapping[str, int]],
        had_writes: bool = False,
        had_effects: bool = True,
        usage_by_node: Mapping[str, UsageTotal] | None = None,
        ending: tuple[RunStatus, str | None] | None = None,
    ) -> None:
        """Commit one step in one transaction: its messages and its step row (which is
        the run's new head), plus what changed of the run row, a snapshot every
        :data:`SNAPSHOT_EVERY` steps, and the deletion of the step's writes and effects.
        It is ONE statement (the other writes are data-modifying CTEs of the step row's
        INSERT): one round trip, as one INSERT takes. Raises StoreError (the step is committed already; the connection was
        lost, and then nothing of the step was kept)."""
        now = time.time()
        renew = now - self._renewed > LEASE_SECONDS / 3
        parts: list[tuple[str, Sequence[Any]]] = []  # run with the step row, in one statement
        inserted = messages_insert(run_id, first_seq, step, messages)
        if inserted is not None:
            parts.append(inserted)
        if ending:  # one UPDATE of the run row, never two: its end, with its usage
            check_status(ending[0])
            usage_set = "usage=%s, " if run_usage is not None else ""
            parts.append((f"UPDATE runs SET {usage_set}status=%s, reason=%s, error=NULL,"
                          " waiting=NULL, failed_node=NULL, failed_step=NULL, updated_at=%s,"
                          " lease_owner=NULL, lease_until=NULL WHERE run_id=%s",
                          ([dumps(run_usage)] if run_usage is not None else [])
                          + [ending[0], ending[1], now, run_id]))  # fmt: skip
        elif run_usage is not None and renew:  # one UPDATE of the run row, never two
            parts.append(("UPDATE runs SET usage=%s, lease_until=CASE WHEN lease_owner=%s THEN"
                          " %s ELSE lease_until END, updated_at=CASE WHEN lease_owner=%s THEN %s"
                          " ELSE updated_at END WHERE run_id=%s",
                          (dumps(run_usage), self.lease_owner, now + LEASE_SECONDS,
                           self.lease_owner, now, run_id)))  # fmt: skip
        elif run_usage is not None:
            parts.append(("UPDATE runs SET usage=%s WHERE run_id=%s", (dumps(run_usage), run_id)))
        elif renew:
            parts.append(("UPDATE runs SET lease_until=%s, updated_at=%s WHERE run_id=%s"
                          " AND lease_owner=%s",
                          (now + LEASE_SECONDS, now, run_id, self.lease_owner)))  # fmt: skip
        if (step + 1) % SNAPSHOT_EVERY == 0:
            parts.append((
                "INSERT INTO snapshots (run_id, step, variables, visits, usage) VALUES"
                " (%s,%s,%s,%s,%s) ON CONFLICT (run_id, step) DO UPDATE SET"
                " variables = EXCLUDED.variables, visits = EXCLUDED.visits,"
                " usage = EXCLUDED.usage",
                (run_id, step, dumps(state[0]), dumps(state[1]),
                 usage_totals(usage_by_node))))  # fmt: skip
        if had_writes:
            parts.append(("DELETE FROM writes WHERE run_id=%s AND step=%s", (run_id, step)))
        if had_effects:
            parts.append(("DELETE FROM effects WHERE run_id=%s AND step=%s", (run_id, step)))
        # The other writes ride along as data-modifying CTEs of the step row's INSERT: one
        # statement, so one round trip, one transaction and a plan the server keeps.
        sql = ("WITH " + ", ".join(f"w{i} AS ({text})" for i, (text, _) in enumerate(parts))
               + " " if parts else "")  # fmt: skip
        sql += ("INSERT INTO steps (run_id, step, nodes, variables, next, usage, started_at,"
                " seconds) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)")  # fmt: skip
        params = [value for _, values in parts for value in values]
        params += [run_id, step, dumps_record(nodes), dumps(variables) if variables else None,
                   dumps_record(frontier), dumps_record(usage) if usage else None, started_at,
                   now - started_at]  # fmt: skip
        try:
            self._write(sql, params)
        except self._psycopg.errors.UniqueViolation:
            raise StoreError(
                f"step {step} of run {run_id!r} is already committed: another process "
                "advanced this run; resume it to continue from its head") from None  # fmt: skip
        if renew and not ending:
            self._renewed = now
        logger.debug("run %s: committed step %d (%s; %d messages)", run_id, step,
                     ", ".join(nodes), len(messages))  # fmt: skip

    def save_writes(self, run_id: str, step: int,
                    payloads: Mapping[str, Mapping[str, Any]]) -> None:  # fmt: skip
        """Save the results of finished branches of a parallel step, in one transaction."""
        params = [value for node, p in payloads.items() for value in (run_id, step, node, dumps(p))]
        if not params:
            return
        rows = ",".join(["(%s,%s,%s,%s)"] * len(payloads))
        self._write(f"INSERT INTO writes (run_id, step, node, payload) VALUES {rows}"
                    " ON CONFLICT (run_id, step, node) DO UPDATE SET payload = EXCLUDED.payload",
                    params)  # fmt: skip

    def load_writes(self, run_id: str, step: int) -> dict[str, dict[str, Any]]:
        rows = self._values("SELECT node, payload FROM writes WHERE run_id=%s AND step=%s",
                            [run_id, step])  # fmt: skip
        return {node: branch_result(payload, run_id) for node, payload in rows}
