"""Tests of graphflow's workloads (graphflow_bench.py): they run the real engine."""

from __future__ import annotations

import json

import graphflow_bench as gb
import pytest


def _run(capsys, *argv: str) -> dict:
    gb.main(["--quick", "--reps", "1", *argv])
    return json.loads(capsys.readouterr().out)


def test_loop_rows_cover_both_store_settings(capsys) -> None:
    doc = _run(capsys, "--only", "loop")
    assert doc["errors"] == []
    found = {(r["row"], r["column"]) for r in doc["results"]}
    assert found == {("loop.memory", "graphflow"), ("loop.durable", "graphflow"),
                     ("loop.durable", "graphflow_full"), ("loop.bytes", "graphflow")}  # fmt: skip
    assert all(r["value"] > 0 for r in doc["results"])


def test_resume_continues_the_paused_run(capsys) -> None:
    doc = _run(capsys, "--only", "resume.small")
    assert doc["errors"] == []
    (result,) = doc["results"]
    assert result["row"] == "resume.small" and result["extra"]["db_bytes"] > 0


def test_agent_rows(capsys) -> None:
    doc = _run(capsys, "--only", "agents.chat.small", "--only", "agents.fanout")
    assert doc["errors"] == []
    assert {r["row"] for r in doc["results"]} == {"agents.chat.small", "agents.fanout"}


def test_a_wrong_result_is_reported_not_hidden() -> None:
    graph = gb.loop_graph(5)
    with pytest.raises(AssertionError, match="variables"):
        gb.timed_run(graph, None, 5, lambda r: r.variables["i"] == 6, variables={"i": 0})


def test_chat_graph_speaks_round_robin() -> None:
    result = gb.chat_graph(3, 7).run_sync(variables={"turns": 0})
    assert result.status == "completed"
    assert [m.node for m in result.messages] == ["a0", "a1", "a2", "a0", "a1", "a2", "a0"]


def test_growth_store_grows_linearly(tmp_path) -> None:
    empty = gb.empty_db(tmp_path)
    sizes = []
    for steps in (20, 40):
        ok = lambda r, s=steps: len(r.messages) == s  # noqa: E731
        _, size = gb.durable_once(gb.growth_graph(steps), tmp_path, "normal", steps, ok,
                                  variables={"i": 0})  # fmt: skip
        sizes.append(size - empty)
    # twice the steps, about twice the bytes (never four times: no whole-state copies)
    assert 1.5 < sizes[1] / sizes[0] < 2.5
