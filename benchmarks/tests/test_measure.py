"""Tests of the shared benchmark vocabulary (measure.py)."""

from __future__ import annotations

import json

import pytest
from measure import (
    MESSAGE_BYTES,
    PAYLOAD_BYTES,
    ROWS,
    Recorder,
    db_bytes,
    message_text,
    parse_args,
    payload,
    per_turn,
    row_label,
    scratch_dir,
    sizes_for,
)


@pytest.mark.parametrize("quick", [False, True])
def test_every_row_has_a_filled_label(quick: bool) -> None:
    sizes = sizes_for(quick)
    for row in ROWS:
        label = row_label(row, sizes)
        assert "{" not in label and label


def test_quick_sizes_are_smaller() -> None:
    full, quick = sizes_for(False), sizes_for(True)
    assert quick.loop < full.loop and quick.linear < full.linear
    assert full.resume == (10, 1_000, 10_000, 100_000)
    assert full.long_turns == (2_000, 10_000) and full.chat_turns == 400


def test_payload_is_one_kilobyte_and_distinct() -> None:
    assert {len(payload(k)) for k in range(3)} == {PAYLOAD_BYTES}
    assert payload(1) != payload(2)
    assert {len(message_text(k)) for k in range(3)} == {MESSAGE_BYTES}


def test_turn_costs_compare_early_and_late_turns() -> None:
    stamps, now = [], 0.0
    for turn in range(400):
        now += 0.001 if turn < 200 else 0.002  # turns get twice as dear halfway
        stamps.append(now)
    stats = per_turn(stamps)
    assert round(stats["early"]) == 1000 and round(stats["last100"]) == 2000
    assert stats["growth"] == pytest.approx(2.0) and stats["flat"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="too few"):
        per_turn([0.0, 1.0])


def test_db_bytes_counts_the_wal(tmp_path) -> None:
    (tmp_path / "a.db").write_bytes(b"x" * 10)
    (tmp_path / "a.db-wal").write_bytes(b"y" * 5)
    assert db_bytes(tmp_path / "a.db") == 15
    assert db_bytes(tmp_path / "missing.db") == 0


def test_scratch_dir_is_removed() -> None:
    with scratch_dir("test") as folder:
        (folder / "f").write_text("x")
    assert not folder.exists()


def test_recorder_takes_the_median_and_keeps_samples() -> None:
    values = iter([5.0, 1.0, 3.0])
    rec = Recorder("t", reps=3, quick=True)
    rec.measure("loop.memory", "graphflow", lambda: next(values))
    assert rec.results[0]["value"] == 3.0
    assert rec.results[0]["samples"] == [5.0, 1.0, 3.0]


def test_recorder_turns_a_failure_into_an_error_entry() -> None:
    rec = Recorder("t", reps=2, quick=True)

    def broken() -> float:
        raise RuntimeError("boom\nsecond line")

    rec.measure("loop.memory", "graphflow", broken)
    assert rec.results == []
    assert rec.errors == [
        {"row": "loop.memory", "column": "graphflow", "error": "RuntimeError: boom"}
    ]


def test_recorder_only_filters_rows() -> None:
    rec = Recorder("t", reps=1, quick=True, only=("resume",))
    rec.measure("loop.memory", "graphflow", lambda: 1.0)
    rec.measure("resume.small", "graphflow", lambda: 2.0)
    assert [r["row"] for r in rec.results] == ["resume.small"]


def test_recorder_rejects_unknown_rows() -> None:
    with pytest.raises(KeyError, match="unknown benchmark row"):
        Recorder("t", reps=1, quick=True).add("nope", "graphflow", [1.0])


def test_emit_prints_one_json_document(capsys) -> None:
    rec = Recorder("t", reps=1, quick=True)
    rec.add("loop.memory", "graphflow", [2.0])
    rec.emit(0.0)
    doc = json.loads(capsys.readouterr().out)
    assert doc["system"] == "t" and doc["results"][0]["value"] == 2.0


def test_parse_args_defaults() -> None:
    assert parse_args("x", []).reps == 5
    assert parse_args("x", ["--quick"]).reps == 1
    assert parse_args("x", ["--quick", "--reps", "3"]).reps == 3
    with pytest.raises(SystemExit):
        parse_args("x", ["--reps", "0"])


def test_peak_memory_is_the_programs_own_not_its_parents() -> None:
    """A child of a large process reports its own peak, not the size it was forked at."""
    import subprocess
    import sys
    from pathlib import Path

    held = b"x" * (96 * 1024 * 1024)  # the parent is large
    code = "import measure; print(measure.peak_rss_mb())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert float(done.stdout) < 90 and len(held) > 0
