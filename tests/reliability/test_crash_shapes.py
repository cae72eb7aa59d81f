"""SIGKILL campaigns across the shapes of conversation graphflow runs: conditional
branching, parallel fan-out with a slow branch, an agent calling tools, a group chat,
and human checkpoints. Every trial kills ``graphflow run``/``resume`` at random moments,
resumes until the run completes, checks each attempt's side effects against what was
committed (see ``crashkit.py``), and compares the final run with an uninterrupted one.

CI runs GRAPHFLOW_CRASH_TRIALS=3 trials per shape with at most GRAPHFLOW_CRASH_KILLS=3
kills each (about 30 kills in about 25 s). The long campaign (docs/reliability.md)::

    GRAPHFLOW_CRASH_TRIALS=60 GRAPHFLOW_CRASH_KILLS=5 pytest -s tests/reliability/test_crash_shapes.py
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from .crashkit import drive
from .evidence import check_messages, comparable, read_log, transcript
from .shapes import SHAPES

TRIALS = int(os.environ.get("GRAPHFLOW_CRASH_TRIALS", "3"))
KILLS = int(os.environ.get("GRAPHFLOW_CRASH_KILLS", "3"))
SEED = int(os.environ.get("GRAPHFLOW_CRASH_SEED", "7"))


def check_fanout_variables(variables: dict[str, Any]) -> None:
    """What the fan-out's four branches wrote in its five rounds (they see the round
    counter at 1, 3, 5, 7, 9), merged by the declared rules."""
    branches = ("fast1", "fast2", "fast3", "slow")
    assert variables["trail"] == [(b, r) for r in (1, 3, 5, 7, 9) for b in branches]
    assert variables["total"] == Decimal("5.00")
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert variables["stamps"] == {b: start + dt.timedelta(days=9) for b in branches}
    assert variables["tags"] == {"fast", "slow", 0, 1, 2}


@pytest.mark.parametrize("name", list(SHAPES))
def test_killed_runs_end_like_uninterrupted_ones(tmp_path: Path, name: str) -> None:
    shape = SHAPES[name]
    rng = random.Random(f"{SEED}:{name}")
    clean_dir = tmp_path / "clean"
    graph = shape.write(clean_dir)
    clean_log = clean_dir / "effects.log"
    report = drive(graph, clean_dir / "runs.db", "clean", rng=rng, log=clean_log, max_kills=0)
    assert report.kills == 0 and report.window_repeats == report.interrupted_calls == 0
    events = report.events
    starts = Counter((e.step, e.node) for e in read_log(clean_log) if e.event == "start")
    assert all(n == 1 for n in starts.values()), "a clean run executed a node twice"
    expected = transcript(clean_dir / "runs.db", "clean")
    assert expected["status"] == "completed", expected
    check_messages(expected)
    if name == "fanout":  # typed variables and merge rules: every branch's write kept
        check_fanout_variables(expected["variables"])

    kills = attempts = interrupted = window = 0
    started = time.perf_counter()
    for trial in range(TRIALS):
        folder = tmp_path / f"trial{trial}"
        graph = shape.write(folder)
        db = folder / "runs.db"
        report = drive(graph, db, f"r{trial}", rng=rng, log=folder / "effects.log",
                       max_kills=KILLS, events=events, steps=expected["steps"])  # fmt: skip
        kills += report.kills
        attempts += report.attempts
        interrupted += report.interrupted_calls
        window += report.window_repeats
        got = transcript(db, f"r{trial}")
        check_messages(got)
        assert comparable(got) == comparable(expected), f"trial {trial} of {name} differs"
    if TRIALS and KILLS:
        assert kills >= 1, "no attempt was killed: the kill plans miss the run"
    print(f"\n{name}: {TRIALS} trials, {attempts} attempts, {kills} kills, "
          f"{time.perf_counter() - started:.1f} s; tool calls run again: {interrupted} cut "
          f"short, {window} finished but unrecorded; every run identical to the uninterrupted "
          "one")  # fmt: skip
