"""The models a run uses and its model calls, in the SQLite store (see
:mod:`graphflow.store.model_calls` for how prompts are kept)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.store.codec import dumps
from graphflow.store.model_calls import EncodedCall, call_rows
from graphflow.store.protocol import ModelCall, ModelCallRow
from graphflow.store.sqlite.base import Connection, SQLiteBase

__all__ = ["SQLiteCalls", "insert_calls"]

def insert_calls(conn: Connection, run_id: str, calls: Sequence[EncodedCall]) -> list[int]:
    """Insert encoded model calls of ``run_id`` in the open transaction of ``conn``,
    numbered after the run's last one, each new prompt message once per run; returns
    their numbers (``seq``)."""
    if not calls:
        return []
    seq = conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM model_calls"
                       " WHERE run_id=?", (run_id,)).fetchone()[0]  # fmt: skip
    seqs = []
    for entries, columns, _ in calls:
        conn.executemany("INSERT OR IGNORE INTO prompt_messages (run_id, key, message)"
                         " VALUES (?,?,?)",
                         [(run_id, key, text) for key, text in dict(entries).items()])  # fmt: skip
        names = ", ".join(columns)
        conn.execute(f"INSERT INTO model_calls (run_id, seq, {names}) VALUES (?,?,"
                     + ",".join("?" * len(columns)) + ")",
                     (run_id, seq, *columns.values()))  # fmt: skip
        seqs.append(seq)
        seq += 1
    return seqs


class SQLiteCalls(SQLiteBase):
    """``set_models``, ``record_model_call`` and ``model_calls``."""

    def set_models(self, run_id: str, models: Mapping[str, Any]) -> None:
        with self._tx() as conn:
            updated = conn.execute("UPDATE runs SET models=?, updated_at=? WHERE run_id=?",
                                   (dumps(models), time.time(), run_id))  # fmt: skip
            if updated.rowcount == 0:
                raise self._not_found(run_id)

    def record_model_call(self, run_id: str, call: ModelCall) -> None:
        encoded = self._chains.encode(run_id, [call])
        with self._tx() as conn:
            seqs = insert_calls(conn, run_id, encoded)
        self._chains.kept(encoded, seqs)

    def model_calls(self, run_id: str) -> list[ModelCallRow]:
        rows = self._rows("SELECT * FROM model_calls WHERE run_id=? ORDER BY seq", [run_id])
        if not rows:
            return []
        messages = dict(self.conn.execute(
            "SELECT key, message FROM prompt_messages WHERE run_id=?", (run_id,)).fetchall())  # fmt: skip
        return call_rows(rows, messages)
