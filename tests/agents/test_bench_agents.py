"""The agent benchmark script runs (tiny sizes) and prints its table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_agents.py"


def test_bench_agents_runs_every_workload(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_agents", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.run_all(turns=6, reps=1, store_kind="memory")
    assert {(r["workload"], r["members"]) for r in rows} == {
        (w, n) for w in ("group round_robin", "group auto", "chain", "ring") for n in (5, 50)
    }
    assert all(r["ms_per_turn"] > 0 for r in rows)
    group = [r for r in rows if r["workload"].startswith("group")]
    assert all(r["turns"] == 6 for r in group)
    assert module.main(["--turns", "4", "--reps", "1", "--store", "memory"]) == 0
    assert "ms/turn" in capsys.readouterr().out
