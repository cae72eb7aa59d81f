"""Rows of the run store as values, and the JSON and transaction helpers of the store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphflow.errors import StoreCorrupt

__all__ = ["RunRecord", "Transaction", "dumps", "loads"]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def loads(text: str, run_id: str, what: str) -> Any:
    """Decode a stored JSON value; a damaged one is reported for its run only."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise StoreCorrupt(
            f"run {run_id!r}: its stored {what} is damaged ({exc}); other runs are not "
            f"affected. Fork the run from an earlier step or delete it with `graphflow prune`"
        ) from None


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``, decoded."""

    run_id: str
    graph: str
    source: str | None
    spec: dict[str, Any]
    topology: str
    status: str
    reason: str | None
    error: str | None
    waiting: dict[str, Any] | None
    last_step: int
    frontier: dict[str, list[str]]
    usage: dict[str, Any]
    parent_run: str | None
    forked_at: int | None
    lease_owner: str | None
    lease_until: float | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunRecord:
        data = dict(row)
        for key in ("spec", "waiting", "frontier", "usage"):
            data[key] = loads(data[key], data["run_id"], f"run {key}") if data[key] else None
        data["usage"] = data["usage"] or {}
        return cls(**data)


class Transaction:
    """``with Transaction(conn):`` runs the block in one ``BEGIN IMMEDIATE … COMMIT``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


