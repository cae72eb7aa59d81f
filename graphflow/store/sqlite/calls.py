"""The models a run uses and its model calls, in the SQLite store (see
:mod:`graphflow.store.model_calls` for how prompts are kept)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.store.codec import dumps
from graphflow.store.model_calls import call_columns, call_row, prompt_entries
from graphflow.store.protocol import ModelCall, ModelCallRow
from graphflow.store.sqlite.base import Connection, SQLiteBase

__all__ = ["SQLiteCalls", "insert_calls"]

#: one call as :func:`graphflow.store.model_calls.encoded_calls` gives it
Encoded = tuple[list[tuple[str, str]], dict[str, Any]]


def insert_calls(conn: Connection, run_id: str, calls: Sequence[Encoded]) -> None:
    """Insert encoded model calls of ``run_id`` in the open transaction of ``conn``,
    numbered after the run's last one; each prompt message once per run."""
    if not calls:
        return
    seq = conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM model_calls"
                       " WHERE run_id=?", (run_id,)).fetchone()[0]  # fmt: skip
    for entries, columns in calls:
        conn.executemany("INSERT OR IGNORE INTO prompt_messages (run_id, key, message)"
                         " VALUES (?,?,?)",
                         [(run_id, key, text) for key, text in dict(entries).items()])  # fmt: skip
        names = ", ".join(columns)
        conn.execute(f"INSERT INTO model_calls (run_id, seq, {names}) VALUES (?,?,"
                     + ",".join("?" * len(columns)) + ")",
                     (run_id, seq, *columns.values()))  # fmt: skip
        seq += 1


class SQLiteCalls(SQLiteBase):
    """``set_models``, ``record_model_call`` and ``model_calls``."""

    def set_models(self, run_id: str, models: Mapping[str, Any]) -> None:
        with self._tx() as conn:
            updated = conn.execute("UPDATE runs SET models=?, updated_at=? WHERE run_id=?",
                                   (dumps(models), time.time(), run_id))  # fmt: skip
            if updated.rowcount == 0:
                raise self._not_found(run_id)

    def record_model_call(self, run_id: str, call: ModelCall) -> None:
        entries = prompt_entries(call["prompt"])
        columns = call_columns(call, [key for key, _ in entries])
        with self._tx() as conn:
            insert_calls(conn, run_id, [(entries, columns)])

    def model_calls(self, run_id: str) -> list[ModelCallRow]:
        rows = self._rows("SELECT * FROM model_calls WHERE run_id=? ORDER BY seq", [run_id])
        if not rows:
            return []
        messages = dict(self.conn.execute(
            "SELECT key, message FROM prompt_messages WHERE run_id=?", (run_id,)).fetchall())  # fmt: skip
        return [call_row(row, messages) for row in rows]
