"""The journal of a run besides its steps, in the Postgres store: the side effects of
the step in flight (recorded as each completes, with the model calls that produced it in
the same transaction; replayed when the step runs again, deleted by its commit), the models a run uses and its model calls (see
:mod:`graphflow.store.model_calls` for how prompts are kept)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphflow.store.codec import dumps, loads
from graphflow.store.model_calls import EncodedCall, call_rows
from graphflow.store.postgres.base import PostgresBase
from graphflow.store.protocol import ModelCall, ModelCallRow

__all__ = ["PostgresJournal"]


class PostgresJournal(PostgresBase):
    """Effects, ``set_models``, ``record_model_call`` and ``model_calls``."""

    # ---- effects of the step in flight -----------------------------------------------

    def get_effect(self, run_id: str, step: int, node: str, key: str) -> tuple[bool, Any]:
        rows = self._values("SELECT result FROM effects WHERE run_id=%s AND step=%s AND"
                            " node=%s AND key=%s", [run_id, step, node, key])  # fmt: skip
        return (True, loads(rows[0][0], run_id, "effect")) if rows else (False, None)

    def put_effect(self, run_id: str, step: int, node: str, key: str, result: Any, *,
                   calls: Sequence[ModelCall] = (),
                   joined: Callable[[], None] | None = None) -> None:  # fmt: skip
        values = (run_id, step, node, key, dumps(result))
        sql = ("INSERT INTO effects (run_id, step, node, key, result)"
               " VALUES (%s,%s,%s,%s,%s) ON CONFLICT (run_id, step, node, key)"
               " DO UPDATE SET result = EXCLUDED.result")  # fmt: skip
        encoded = self._chains.encode(run_id, calls)
        if not encoded and joined is None:
            self._write(sql, values)
            return
        with self._tx() as conn:
            if joined is not None:
                joined()
            seqs = self._insert_calls(conn, run_id, encoded)
            conn.execute(sql, values)
        self._chains.kept(encoded, seqs)

    def effect_results(self, run_id: str) -> list[Any]:
        """Results of the effects recorded by the run's uncommitted step, in the order
        they were recorded."""
        rows = self._values("SELECT result FROM effects WHERE run_id=%s ORDER BY n", [run_id])
        return [loads(r[0], run_id, "effect") for r in rows]

    # ---- models and model calls ------------------------------------------------------

    def set_models(self, run_id: str, models: Mapping[str, Any]) -> None:
        if not self._write("UPDATE runs SET models=%s, updated_at=%s WHERE run_id=%s",
                           (dumps(models), time.time(), run_id)):  # fmt: skip
            raise self._not_found(run_id)

    def record_model_call(self, run_id: str, call: ModelCall) -> None:
        encoded = self._chains.encode(run_id, [call])
        with self._tx() as conn:
            seqs = self._insert_calls(conn, run_id, encoded)
        self._chains.kept(encoded, seqs)

    def _insert_calls(self, conn: Any, run_id: str, calls: Sequence[EncodedCall]) -> list[int]:
        """Insert encoded model calls in the open transaction of ``conn``; returns their
        numbers (``seq``)."""
        if not calls:
            return []
        # the run's row lock orders the calls of one run (their seq numbers)
        conn.execute("SELECT 1 FROM runs WHERE run_id=%s FOR UPDATE", (run_id,))
        seqs = []
        for entries, columns, _ in calls:
            names = ", ".join(columns)
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO prompt_messages (run_id, key, message)"
                                " VALUES (%s,%s,%s) ON CONFLICT DO NOTHING",
                                [(run_id, key, text) for key, text in dict(entries).items()])  # fmt: skip
            row = conn.execute(f"INSERT INTO model_calls (run_id, seq, {names}) SELECT %s,"
                               " COALESCE(MAX(seq), -1) + 1, "
                               + ",".join(["%s"] * len(columns))
                               + " FROM model_calls WHERE run_id=%s RETURNING seq",
                               (run_id, *columns.values(), run_id)).fetchone()  # fmt: skip
            seqs.append(int(row[0]))
        return seqs

    def model_calls(self, run_id: str) -> list[ModelCallRow]:
        rows = self._rows("SELECT * FROM model_calls WHERE run_id=%s ORDER BY seq", [run_id])
        if not rows:
            return []
        messages = dict(self._values("SELECT key, message FROM prompt_messages WHERE run_id=%s",
                                     [run_id]))  # fmt: skip
        return call_rows(rows, messages)
