"""Tests of the before/after resume benchmark (bench_resume_usage.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bench_resume_usage import main, paused_graph

ROOT = Path(__file__).resolve().parents[2]


def test_the_run_pauses_after_its_billed_steps() -> None:
    result = paused_graph(6).run_sync()
    assert (result.status, result.steps) == ("waiting", 6)
    assert result.usage["by_node"]["writer"]["calls"] == 3 and len(result.messages) == 6


def test_each_side_resumes_with_its_own_tree_in_turn(tmp_path: Path) -> None:
    before = tmp_path / "before"
    shutil.copytree(ROOT / "graphflow", before / "graphflow",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    out = main(["--before", str(before), "--steps", "20", "--samples", "2"])
    assert set(out["20"]["median_ms"]) == {"before", "after"}
    assert all(len(ms) == 2 and min(ms) > 0 for ms in out["20"]["samples"].values())


def test_sides_importing_the_same_tree_are_refused() -> None:
    with pytest.raises(AssertionError, match="both sides import"):
        main(["--before", str(ROOT), "--steps", "4", "--samples", "1"])
