"""Tests of the raw SQLite floor (floor.py)."""

from __future__ import annotations

import sqlite3

import pytest
from floor import FLOOR_ROWS, floor_once, measure_floor
from measure import Recorder


def test_floor_commits_every_step(tmp_path) -> None:
    path = tmp_path / "f.db"
    assert floor_once(path, "NORMAL", 25) > 0
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*), max(step) FROM steps").fetchone() == (25, 24)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_floor_rejects_unknown_settings(tmp_path) -> None:
    with pytest.raises(ValueError, match="NORMAL or FULL"):
        floor_once(tmp_path / "f.db", "OFF", 1)


def test_measure_floor_records_both_settings_on_durable_rows() -> None:
    rec = Recorder("floor", reps=2, quick=True)
    medians = measure_floor(rec, 20)
    assert set(medians) == {"floor", "floor_full"}
    assert {(r["row"], r["column"]) for r in rec.results} == {
        (row, column) for row in FLOOR_ROWS for column in ("floor", "floor_full")
    }
