"""Tests of the raw SQLite floor (floor.py)."""

from __future__ import annotations

import sqlite3

import pytest
from floor import FLOOR_ROWS, floor_once, floor_steps, samplers
from measure import sizes_for
from worker import take


def test_floor_commits_every_step_into_a_table_with_the_unique_step_index(tmp_path) -> None:
    path = tmp_path / "f.db"
    assert floor_once(path, "NORMAL", 25) > 0
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*), max(step) FROM steps").fetchone() == (25, 24)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = conn.execute("PRAGMA index_list(steps)").fetchall()
    assert [(name, unique) for _, name, unique, *_ in indexes] == [("steps_key", 1)]
    conn.close()


def test_a_message_step_inserts_a_kilobyte(tmp_path) -> None:
    floor_once(tmp_path / "m.db", "NORMAL", 3, message=1024)
    conn = sqlite3.connect(tmp_path / "m.db")
    assert {len(d) for (d,) in conn.execute("SELECT data FROM steps")} == {1024}
    conn.close()


def test_floor_rejects_unknown_settings(tmp_path) -> None:
    with pytest.raises(ValueError, match="NORMAL or FULL"):
        floor_once(tmp_path / "f.db", "OFF", 1)


def test_the_floor_offers_both_settings_on_every_durable_row(tmp_path) -> None:
    cells = samplers(sizes_for(True), tmp_path)
    assert {(s.row, s.column) for s in cells} == {
        (row, column) for row in FLOOR_ROWS for column in ("floor", "floor_full")}
    value, _ = take(cells[0])
    assert value > 0 and list(tmp_path.iterdir()) == []  # each sample cleans up


def test_each_floor_commits_as_many_steps_as_its_workload_has_nodes(tmp_path) -> None:
    """A floor of another length would compare unlike things: the cost of a commit
    depends on how many came before it (WAL growth, then checkpoints)."""
    sizes = sizes_for(True)
    assert [floor_steps(row, sizes) for row in FLOOR_ROWS] == [
        sizes.linear, sizes.fanout + 2, sizes.loop, *sizes.growth]
    import floor as floor_module

    seen: list[int] = []

    def counted(path, synchronous, steps, message=0):  # type: ignore[no-untyped-def]
        seen.append(steps)
        return 1.0

    cells = {(s.row, s.column): s for s in samplers(sizes, tmp_path)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(floor_module, "floor_once", counted)
        take(cells[("linear.durable", "floor")])
        take(cells[("loop.durable", "floor_full")])
    assert seen[-2:] == [sizes.linear, sizes.loop]  # the last, after the uncounted first
