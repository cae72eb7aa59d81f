"""Tests of the harness (run.py) and the peer environment helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import run
from setup_venv import STAMP, peer_python, venv_path

BENCH = Path(run.__file__).resolve().parent


def test_only_must_name_a_system_or_a_row() -> None:
    with pytest.raises(SystemExit):
        run.parse(["--only", "nothing-like-this"])
    args = run.parse(["--only", "graphflow", "--only", "loop"])
    assert args.systems == ["graphflow"] and args.rows == ["loop"]


def test_a_failed_side_shows_na_on_its_rows() -> None:
    doc = run.failed_document("autogen", [], "boom")
    assert {e["row"] for e in doc["errors"]} == set(run.COVERS["autogen"])
    assert run.failed_document("langgraph", ["resume"], "x")["errors"][0]["row"] == "resume.small"


def test_venv_path_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GRAPHFLOW_BENCH_VENV", str(tmp_path / "peers"))
    assert venv_path() == tmp_path / "peers"
    assert peer_python(tmp_path).parent.parent == tmp_path


def test_harness_end_to_end_without_peers(tmp_path, capsys) -> None:
    out = tmp_path / "r.json"
    code = run.main(["--quick", "--only", "floor", "--only", "graphflow",
                     "--only", "loop.durable", "--json", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "| loop of 1000 steps, SQLite |" in printed
    doc = json.loads(out.read_text())
    (line,) = doc["table"]
    assert line["graphflow"] not in ("n/a", "\N{EN DASH}")
    assert line["gf/floor (normal / fsync)"].count("\N{MULTIPLICATION SIGN}") == 2


def _ready_peers() -> Path:
    python = peer_python()
    if not python.exists() or not (venv_path() / STAMP).exists():
        pytest.skip("no peer environment; create it with benchmarks/peers/setup.sh")
    return python


@pytest.mark.parametrize(
    ("script", "row"),
    [("langgraph_bench.py", "resume.small"), ("autogen_bench.py", "agents.chain.small")],
)
def test_peer_scripts_print_results(script: str, row: str) -> None:
    python = _ready_peers()
    done = subprocess.run([str(python), str(BENCH / "peers" / script), "--quick", "--only", row],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    assert doc["errors"] == []
    assert [r["row"] for r in doc["results"]] == [row]
    assert doc["results"][0]["value"] > 0


def test_setup_script_is_idempotent() -> None:
    _ready_peers()
    done = subprocess.run([sys.executable, str(BENCH / "peers" / "setup_venv.py")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "installing" not in done.stderr
    assert "langgraph" in done.stdout


def test_a_crashing_side_becomes_na_with_its_reason(tmp_path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'ImportError: no graphflow here' >&2\nexit 3\n")
    fake.chmod(0o755)
    args = run.parse(["--quick", "--only", "loop"])
    doc = run.run_script("graphflow", fake, args)
    assert doc["failed"] == "exit 3: ImportError: no graphflow here"
    assert {e["row"] for e in doc["errors"]} == {"loop.memory", "loop.durable", "loop.bytes"}


def test_a_side_printing_garbage_becomes_na(tmp_path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'not json'\n")
    fake.chmod(0o755)
    doc = run.run_script("autogen", fake, run.parse(["--quick"]))
    assert doc["failed"] == "printed no JSON document"
