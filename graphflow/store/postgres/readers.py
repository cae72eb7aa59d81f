"""Reading runs from the Postgres store: runs, steps, messages, usage, child runs, and
the state at a step (the fold of deltas from the nearest snapshot)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from graphflow.conversation import Conversation
from graphflow.errors import StoreCorrupt
from graphflow.messages import Message
from graphflow.store.codec import (
    dumps,
    listed_record,
    listed_specs,
    loads,
    step_row,
    usage_parts,
    with_spec_texts,
)
from graphflow.store.codec import message as decode_message
from graphflow.store.codec import message_row as decode_message_row
from graphflow.store.postgres.base import (
    LISTED_COLUMNS,
    NUL_CONTENT,
    RUN_FROM,
    PostgresBase,
    connection_problem,
    fetch,
)
from graphflow.store.protocol import ChildRun, MessageRow, RunRecord, StepRow
from graphflow.store.values import fold

if TYPE_CHECKING:
    import psycopg

__all__ = ["TAIL_MESSAGES", "PostgresReader"]

#: How many of its last messages :meth:`PostgresReader.load_conversation` reads at once.
TAIL_MESSAGES = 16

_MESSAGE = "seq, node, role, name, content, extra"


def _content(row: dict[str, Any], run_id: str) -> dict[str, Any]:
    """The row with a content that holds NUL characters (which Postgres text cannot
    hold: it was kept in ``extra``) put back in its column."""
    extra = row.get("extra")
    if extra and NUL_CONTENT in extra:
        fields = loads(extra, run_id, "message")
        if isinstance(fields, dict) and NUL_CONTENT in fields:
            row = {**row, "content": fields.pop(NUL_CONTENT)}
            row["extra"] = dumps(fields) if fields else None
    return row


def message(row: dict[str, Any], run_id: str) -> Message:
    return decode_message(_content(row, run_id), run_id)


def message_row(row: dict[str, Any], run_id: str) -> MessageRow:
    return decode_message_row(_content(row, run_id), run_id)


class PostgresReader(PostgresBase):
    """The :class:`~graphflow.store.RunReader` side of the Postgres store."""

    # ---- runs -----------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        """The run's row, with its head (``last_step``, ``frontier``) taken from its newest
        committed step when it has one. Raises RunNotFound, StoreCorrupt."""
        return self._read_run(run_id)

    def find_runs(self, prefix: str) -> list[str]:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._values("SELECT run_id FROM runs WHERE run_id LIKE %s ESCAPE '\\'"
                            " ORDER BY created_at, n", [pattern])  # fmt: skip
        return [r[0] for r in rows]

    def list_runs(self, *, status: str | None = None,
                  limit: int | None = None) -> list[RunRecord]:  # fmt: skip
        where, params = ("WHERE runs.status = %s", [status]) if status else ("", [])
        sql = (f"SELECT {LISTED_COLUMNS}, (SELECT MAX(step) FROM steps s WHERE s.run_id ="
               f" runs.run_id) AS head FROM {RUN_FROM} {where}"
               " ORDER BY runs.created_at DESC, runs.n DESC")  # fmt: skip
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self._rows(sql, params)
        wanted = listed_specs(rows)  # each graph's text read once, not a copy in every row
        texts = dict(self._values("SELECT digest, spec FROM specs WHERE digest = ANY(%s)",
                                  [wanted])) if wanted else {}  # fmt: skip
        specs: dict[str, dict[str, Any]] = {}  # the runs of one graph share its spec
        return [listed_record(row, specs) for row in with_spec_texts(rows, texts)]

    def child_runs(self, run_id: str) -> list[ChildRun]:
        """Runs whose parent is ``run_id``: forks (with their fork step) and subgraph runs
        (with their node and visit), oldest first."""
        rows = self._values("SELECT run_id, forked_at, parent_node, parent_visit FROM runs"
                            " WHERE parent_run=%s ORDER BY created_at, n", [run_id])  # fmt: skip
        return [ChildRun(str(r[0]), r[1], r[2], r[3]) for r in rows]

    # ---- messages -------------------------------------------------------------------

    def load_messages(self, run_id: str, *, before_step: int | None = None) -> list[Message]:
        sql = f"SELECT {_MESSAGE} FROM messages WHERE run_id=%s"
        params: list[Any] = [run_id]
        if before_step is not None:
            sql += " AND step < %s"
            params.append(before_step)
        return [message(row, run_id) for row in self._rows(sql + " ORDER BY seq", params)]

    def load_conversation(self, run_id: str) -> Conversation:
        """The run's messages: its last :data:`TAIL_MESSAGES` and its first read now (with
        the count, from the newest ``seq``), the others when first used — through the
        pool, or once the store is closed through a connection of their own."""
        rows = self._rows(f"SELECT {_MESSAGE} FROM messages WHERE run_id=%s AND (seq = 0 OR"
                          " seq > (SELECT MAX(seq) FROM messages WHERE run_id=%s) - %s)"
                          " ORDER BY seq DESC", [run_id, run_id, TAIL_MESSAGES])  # fmt: skip
        if not rows:
            return Conversation([])
        count = int(rows[0]["seq"]) + 1  # seq numbers 0, 1, … in a run
        first = rows[-1] if rows[-1]["seq"] == 0 else None
        tail_rows = [r for r in rows if count - int(r["seq"]) <= TAIL_MESSAGES]
        tail = [message(row, run_id) for row in reversed(tail_rows)]
        if count == len(tail):
            return Conversation(tail)
        return Conversation.lazy(count, tail, functools.partial(self._first_messages, run_id,
                                                                count),
                                 first=message(first, run_id) if first else None)  # fmt: skip

    def _first_messages(self, run_id: str, count: int) -> list[Message]:
        """The run's first ``count`` messages (also once the store is closed)."""
        sql = f"SELECT {_MESSAGE} FROM messages WHERE run_id=%s AND seq<%s ORDER BY seq"
        if not self._closed:
            rows = self._rows(sql, [run_id, count])
        else:
            from psycopg.rows import dict_row

            try:
                with self._psycopg.connect(self.url, connect_timeout=10,
                                           row_factory=dict_row) as conn:  # fmt: skip
                    rows = conn.execute(sql, [run_id, count]).fetchall()
            except self._psycopg.Error as exc:
                raise connection_problem(self.where, exc) from None
        return [message(row, run_id) for row in rows]

    def message_rows(self, run_id: str, *, from_seq: int = 0) -> list[MessageRow]:
        """Messages with their step and sequence numbers (from ``from_seq`` on)."""
        rows = self._rows("SELECT seq, step, node, role, name, content, extra FROM messages"
                          " WHERE run_id=%s AND seq>=%s ORDER BY seq", [run_id, from_seq])  # fmt: skip
        return [message_row(row, run_id) for row in rows]

    def message_count(self, run_id: str) -> int:
        return int(self._values("SELECT COUNT(*) FROM messages WHERE run_id=%s", [run_id])[0][0])

    # ---- steps and state ------------------------------------------------------------

    def load_variables(self, run_id: str, at_step: int) -> tuple[dict[str, Any], dict[str, int]]:
        """Variables and visit counts after step ``at_step``: the nearest snapshot at or
        before it, plus the deltas of the steps after the snapshot."""
        return self._state_at(run_id, at_step)

    def _state_at(self, run_id: str, at_step: int,
                  conn: psycopg.Connection[Any] | None = None,
                  ) -> tuple[dict[str, Any], dict[str, int]]:  # fmt: skip
        """:meth:`load_variables`, read on ``conn`` (inside its transaction) when given."""
        def values(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
            if conn is None:
                return self._values(sql, params)
            return [tuple(row.values()) for row in fetch(conn, sql, params)]

        snap = values("SELECT step, variables, visits FROM snapshots WHERE run_id=%s"
                      " AND step<=%s ORDER BY step DESC LIMIT 1", [run_id, at_step])  # fmt: skip
        if not snap:
            self._read_run(run_id, conn)  # RunNotFound for an unknown run
            raise StoreCorrupt(f"run {run_id!r} has no snapshot; the database is damaged")
        base, stored_variables, stored_visits = snap[0]
        variables = loads(stored_variables, run_id, "snapshot")
        visits = loads(stored_visits, run_id, "snapshot")
        rows = values("SELECT nodes, variables FROM steps WHERE run_id=%s AND step>%s"
                      " AND step<=%s ORDER BY step", [run_id, base, at_step])  # fmt: skip
        for nodes, delta in rows:
            for node in loads(nodes, run_id, "step"):
                visits[node] = visits.get(node, 0) + 1
            if delta:
                fold(variables, loads(delta, run_id, "step"))
        return variables, visits

    def steps(self, run_id: str, *, from_step: int = 0) -> list[StepRow]:
        """The run's committed step rows from ``from_step`` on, decoded, in order."""
        return self.steps_between(run_id, from_step if from_step > 0 else -1, 2**31 - 1)

    def step_row(self, run_id: str, step: int, *,
                 conn: psycopg.Connection[Any] | None = None) -> StepRow | None:  # fmt: skip
        """Step ``step``'s row, or ``None``; read on ``conn`` (inside its transaction)
        when given."""
        if conn is None:
            rows = self.steps_between(run_id, step, step)
            return rows[0] if rows else None
        found = fetch(conn, "SELECT * FROM steps WHERE run_id=%s AND step=%s", [run_id, step])
        return step_row(found[0]) if found else None

    def steps_between(self, run_id: str, first: int, last: int) -> list[StepRow]:
        rows = self._rows("SELECT * FROM steps WHERE run_id=%s AND step BETWEEN %s AND %s"
                          " ORDER BY step", [run_id, first, last])  # fmt: skip
        return [step_row(row) for row in rows]

    def step_usages(self, run_id: str) -> list[dict[str, Any]]:
        """The ``usage`` of every step that used a model (``{node: usage}`` each)."""
        rows = self._values("SELECT usage FROM steps WHERE run_id=%s AND usage IS NOT NULL"
                            " ORDER BY step", [run_id])  # fmt: skip
        return [loads(r[0], run_id, "step usage") for r in rows]

    def node_usage_parts(self, run_id: str, at_step: int | None = None) -> list[dict[str, Any]]:
        """The per-node totals of the newest snapshot at or before ``at_step`` that kept
        them, then the ``usage`` of the steps after it (see
        :meth:`~graphflow.store.RunReader.node_usage_parts`); one query."""
        last = 2**31 - 1 if at_step is None else at_step
        rows = self._values(  # the snapshot's totals come first, as "step" -2
            "WITH snap AS (SELECT step, usage FROM snapshots WHERE run_id=%s AND step<=%s"
            " AND usage IS NOT NULL ORDER BY step DESC LIMIT 1)"
            " SELECT -2 AS step, usage FROM snap UNION ALL"
            " SELECT step, usage FROM steps WHERE run_id=%s AND usage IS NOT NULL AND step<=%s"
            " AND step > COALESCE((SELECT step FROM snap), -1) ORDER BY step",
            [run_id, last, run_id, last])  # fmt: skip
        totals = rows[0][1] if rows and rows[0][0] == -2 else None
        return usage_parts(totals, [r[1] for r in rows if r[0] != -2], run_id)
