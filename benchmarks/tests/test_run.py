"""Tests of the harness (run.py, worker.py) and the peer environment helpers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import run
from setup_venv import STAMP, peer_python, venv_path
from worker import Sampler, serve

BENCH = Path(run.__file__).resolve().parent


def test_only_must_name_a_system_or_a_row() -> None:
    with pytest.raises(SystemExit):
        run.parse(["--only", "nothing-like-this"])
    args = run.parse(["--only", "graphflow", "--only", "loop"])
    assert args.systems == ["graphflow"] and args.rows == ["loop"]


def test_a_side_that_did_not_start_shows_na_on_its_rows() -> None:
    args = run.parse(["--only", "agents.rr"])
    docs = run.documents({}, {"autogen": "peer setup: offline"}, args)
    assert {e["row"] for e in docs[1]["errors"]} == {
        "agents.rr.small", "agents.rr.small.flat", "agents.rr.large", "agents.rr.large.flat"}
    assert {e["column"] for e in docs[1]["errors"]} == {"autogen"}


def test_a_worker_answers_hello_and_samples_on_its_own_line(monkeypatch) -> None:
    out = io.StringIO()
    cells = [Sampler("loop.memory", "graphflow", lambda: 2.5),
             Sampler("loop.durable", "graphflow", lambda: (3.0, {"bytes": 7}),
                     derived={"loop.bytes": "bytes"}),
             Sampler("loop.durable", "graphflow_full", lambda: 1 / 0)]  # fmt: skip
    requests = [{"cmd": "hello"}, {"cmd": "sample", "row": "loop.durable", "column": "graphflow"},
                {"cmd": "sample", "row": "loop.durable", "column": "graphflow_full"},
                {"cmd": "sample", "row": "nope", "column": "graphflow"}, {"cmd": "bye"}]  # fmt: skip
    read, write = os.pipe()
    monkeypatch.setattr(sys, "stdout", os.fdopen(write, "w"))
    saved = os.dup(1)
    try:
        os.dup2(write, 1)
        serve(cells, {"x": "1"}, stdin=io.StringIO("".join(json.dumps(r) + "\n" for r in requests)))
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    with os.fdopen(read) as pipe:
        answers = [json.loads(line) for line in pipe.read().splitlines() if line.strip()]
    out.close()
    assert answers[0]["versions"] == {"x": "1"} and len(answers[0]["cells"]) == 3
    assert answers[1] == {"value": 3.0, "extra": {"bytes": 7}}
    assert answers[2]["error"].startswith("ZeroDivisionError")
    assert "no such cell" in answers[3]["error"]


def test_harness_end_to_end_without_peers(tmp_path, capsys) -> None:
    out = tmp_path / "r.json"
    code = run.main(["--quick", "--reps", "2", "--only", "floor", "--only", "graphflow",
                     "--only", "loop.durable", "--json", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "| loop of 1000 steps, SQLite |" in printed
    doc = json.loads(out.read_text())
    line = next(line for line in doc["table"] if line["unit"] == "µs/step")
    assert [other["unit"] for other in doc["table"]] == ["µs/step", "B/step"]  # bytes come along
    assert line["graphflow"] not in ("n/a", "\N{EN DASH}")
    assert line["gf/floor (normal / fsync)"].count("\N{MULTIPLICATION SIGN}") == 2
    samples = {r["column"]: r["samples"] for r in doc["results"] if r["row"] == "loop.durable"}
    assert {len(v) for v in samples.values()} == {2}  # one sample per side per round
    assert set(samples) == {"graphflow", "graphflow_full", "floor", "floor_full"}


def test_a_crashing_worker_becomes_na_with_its_reason(tmp_path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'ImportError: no graphflow here' >&2\nexit 3\n")
    fake.chmod(0o755)
    worker = run.Worker("graphflow", fake, run.parse(["--quick"]))
    with pytest.raises(run.WorkerGone, match=r"exit 3.*ImportError: no graphflow here"):
        worker.start()
    worker.stop()


def test_a_worker_printing_garbage_is_reported(tmp_path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nread line\necho 'not json'\nsleep 5\n")
    fake.chmod(0o755)
    worker = run.Worker("autogen", fake, run.parse(["--quick"]))
    with pytest.raises(run.WorkerGone, match="not JSON"):
        worker.start()
    worker.proc.kill()  # type: ignore[union-attr]
    worker.stop()


def test_venv_path_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GRAPHFLOW_BENCH_VENV", str(tmp_path / "peers"))
    assert venv_path() == tmp_path / "peers"
    assert peer_python(tmp_path).parent.parent == tmp_path


def _ready_peers() -> Path:
    python = peer_python()
    if not python.exists() or not (venv_path() / STAMP).exists():
        pytest.skip("no peer environment; create it with benchmarks/peers/setup.sh")
    return python


@pytest.mark.parametrize(
    ("script", "row", "columns"),
    [("langgraph_bench.py", "resume.small", {"langgraph", "langgraph_delta"}),
     ("autogen_bench.py", "agents.chain.small", {"autogen"})],
)  # fmt: skip
def test_peer_scripts_print_results(script: str, row: str, columns: set[str]) -> None:
    python = _ready_peers()
    done = subprocess.run([str(python), str(BENCH / "peers" / script), "--quick", "--only", row],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    assert doc["errors"] == []
    assert {r["row"] for r in doc["results"]} == {row}
    assert {r["column"] for r in doc["results"]} == columns
    assert all(r["value"] > 0 for r in doc["results"])


def test_setup_script_is_idempotent() -> None:
    _ready_peers()
    done = subprocess.run([sys.executable, str(BENCH / "peers" / "setup_venv.py")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "installing" not in done.stderr
    assert "langgraph" in done.stdout
