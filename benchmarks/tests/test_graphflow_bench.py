"""Tests of graphflow's workloads (graphflow_bench.py, bench_agents.py): they run the
real engine, at tiny sizes."""

from __future__ import annotations

import json
from pathlib import Path

import bench_agents as ba
import graphflow_bench as gb
import pytest
from measure import ROWS, sizes_for


def _run(capsys, *argv: str) -> dict:
    gb.main(["--quick", "--reps", "1", *argv])
    return json.loads(capsys.readouterr().out)


def test_every_cell_names_a_known_row_and_column(tmp_path: Path) -> None:
    cells = gb.samplers(sizes_for(True), tmp_path)
    assert {s.row for s in cells} | {d for s in cells for d in (s.derived or {})} <= set(ROWS)
    assert {s.column for s in cells} == {"graphflow", "graphflow_full"}


def test_loop_rows_cover_both_store_settings(capsys) -> None:
    doc = _run(capsys, "--only", "loop")
    assert doc["errors"] == []
    found = {(r["row"], r["column"]) for r in doc["results"]}
    assert found == {("loop.memory", "graphflow"), ("loop.durable", "graphflow"),
                     ("loop.durable", "graphflow_full"), ("loop.bytes", "graphflow")}  # fmt: skip
    assert all(r["value"] > 0 for r in doc["results"])


def test_resume_continues_a_paused_run_with_messages(tmp_path: Path) -> None:
    paused = gb.Paused(50, tmp_path)
    millis, extra = paused.once()
    assert millis > 0 and extra["db_bytes"] > 50 * 200
    assert paused.once()[0] > 0  # the prepared run is kept, a copy is resumed each time


def test_agent_rows_use_the_agent_kind(capsys) -> None:
    doc = _run(capsys, "--only", "agents.rr.small", "--only", "agents.fanout")
    assert doc["errors"] == []
    assert {r["row"] for r in doc["results"]} == {"agents.rr.small", "agents.rr.small.flat",
                                                  "agents.fanout"}  # fmt: skip
    kinds = {n.kind for n in ba.chain_graph(3).nodes.values()}
    assert kinds == {"agent", "end"}


def test_a_group_chat_takes_every_turn_and_reports_how_its_cost_moved(tmp_path: Path) -> None:
    millis, stats = ba.group_chat_once(3, 12, "round_robin", tmp_path)
    assert millis > 0 and stats["flat"] > 0 and stats["first50"] > 0


def test_a_long_conversation_reports_turn_costs_and_memory(tmp_path: Path) -> None:
    stats = ba.long_conversation("window", 40, 4, tmp_path)
    assert stats["turns"] >= 40 and stats["rss"] > 10 and stats["growth"] > 0
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_result_is_reported_not_hidden() -> None:
    graph = gb.loop_graph(5)
    with pytest.raises(AssertionError, match="variables"):
        gb.timed_run(graph, None, 5, lambda r: r.variables["i"] == 6, variables={"i": 0})


def test_growth_store_grows_linearly(tmp_path: Path) -> None:
    empty = gb.empty_db(tmp_path)
    sizes = []
    for steps in (20, 40):
        ok = lambda r, s=steps: len(r.messages) == s  # noqa: E731
        _, extra = gb.durable_once(gb.speaking_graph(steps, gb.payload), tmp_path, "normal",
                                   steps, ok, empty)  # fmt: skip
        sizes.append(extra["db_bytes"] - empty)
    # twice the steps, about twice the bytes (never four times: no whole-state copies)
    assert 1.5 < sizes[1] / sizes[0] < 2.5


def test_cold_start_runs_this_checkouts_graphflow() -> None:
    assert gb.fresh_interpreter(["-c", "import graphflow"]) > 0
