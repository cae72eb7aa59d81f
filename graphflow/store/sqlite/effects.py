"""Side effects of the step in flight, in the SQLite store: recorded as each completes
(with the model calls that produced it and the rows joined to it, in one transaction),
replayed when the step is executed again, deleted by the step's commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphflow.store.codec import dumps, loads
from graphflow.store.protocol import ModelCall
from graphflow.store.sqlite.base import SQLiteBase
from graphflow.store.sqlite.calls import insert_calls

__all__ = ["SQLiteEffects"]


class SQLiteEffects(SQLiteBase):
    """The effect journal of uncommitted steps."""

    def get_effect(self, run_id: str, step: int, node: str, key: str) -> tuple[bool, Any]:
        row = self.conn.execute(
            "SELECT result FROM effects WHERE run_id=? AND step=? AND node=? AND key=?",
            (run_id, step, node, key),
        ).fetchone()
        return (True, loads(row[0], run_id, "effect")) if row else (False, None)

    def put_effect(self, run_id: str, step: int, node: str, key: str, result: Any, *,
                   calls: Sequence[ModelCall] = (),
                   joined: Callable[[], None] | None = None) -> None:  # fmt: skip
        text = dumps(result)
        encoded = self._chains.encode(run_id, calls)
        with self._tx() as conn:
            if joined is not None:
                joined()
            seqs = insert_calls(conn, run_id, encoded)
            conn.execute(
                "INSERT OR REPLACE INTO effects (run_id, step, node, key, result)"
                " VALUES (?,?,?,?,?)",
                (run_id, step, node, key, text),
            )
        self._chains.kept(encoded, seqs)

    def effect_results(self, run_id: str) -> list[Any]:
        """Results of the effects recorded by the run's uncommitted step."""
        rows = self.conn.execute("SELECT result FROM effects WHERE run_id=?", (run_id,))
        return [loads(r[0], run_id, "effect") for r in rows]
