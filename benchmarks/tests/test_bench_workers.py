"""Tests of the scale-out benchmark (bench_workers.py): its graph and its one-process
side for real, on the loopback model server; the worker side runs in
tests/distributed."""

from __future__ import annotations

from pathlib import Path

from bench_models import server_process
from bench_workers import graph_text, one_process

from graphflow.loader import load
from graphflow.store import Store


def test_the_graph_has_one_model_call_per_step_and_runs_complete(tmp_path: Path) -> None:
    with server_process(0.0) as (base_url, count):
        graph_file = tmp_path / "g.yaml"
        graph_file.write_text(graph_text(3, base_url))
        assert [n for n in load(graph_file).nodes if n != "done"] == ["a0", "a1", "a2"]
        assert one_process(graph_file, tmp_path / "one.db", 2) > 0
    assert count == [6]  # 2 runs of 3 agents, none from the cache
    store = Store(tmp_path / "one.db")
    assert [r.status for r in store.list_runs()] == ["completed", "completed"]
    store.close()
