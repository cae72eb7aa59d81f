"""Tests of bench_commit_thread.py: every way commits every step, in order, and a
failing commit on the writer thread reaches the stepping thread."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from bench_commit_thread import WAYS, _database, inline, measure, threaded


@pytest.mark.parametrize("way", WAYS)
def test_each_way_commits_every_step(tmp_path: Path, way: str) -> None:
    conn = _database(tmp_path / "c.db")
    if way == "inline":
        inline(conn, 50, 10)
    else:
        threaded(conn, 50, 10, durable_first=way == "thread, durable first")
    assert [r[0] for r in conn.execute("SELECT step FROM steps ORDER BY rowid")] == list(range(50))
    conn.close()


def test_a_failed_commit_on_the_writer_thread_is_raised(tmp_path: Path) -> None:
    conn = _database(tmp_path / "c.db")
    conn.execute("INSERT INTO steps (run_id, step, data) VALUES ('run', 3, '{}')")
    with pytest.raises(sqlite3.IntegrityError):
        threaded(conn, 10, 10, durable_first=True)
    conn.close()


def test_measure_reports_every_way_and_its_ratio() -> None:
    out = measure(steps=20, rounds=2, work=1.0)
    per_step, ratios = out["us_per_step"], out["ratio_to_inline"]
    assert isinstance(per_step, dict) and isinstance(ratios, dict)
    assert set(per_step) == set(WAYS) and all(v > 0 for v in per_step.values())
    assert set(ratios) == set(WAYS[1:]) and all(r > 0 for r in ratios.values())
