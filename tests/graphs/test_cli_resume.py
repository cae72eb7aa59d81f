"""A group chat paused at a manual speaker choice survives the process: `graphflow run`
exits with code 3, and `graphflow resume RUN --input NAME` (new processes) finishes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GRAPH = Path(__file__).resolve().parents[2] / "graphs" / "group_chat_manual.yaml"


def gf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_manual_speaker_choice_pauses_the_process_and_resumes_from_the_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    first = gf("run", str(GRAPH), "-i", "Reverse a string", "--no-interactive", "--db", db,
               "--run-id", "team1", cwd=tmp_path)  # fmt: skip
    assert first.returncode == 3, first.stderr
    assert "waiting at manager" in first.stdout + first.stderr
    assert "planner, coder, critic" in first.stdout + first.stderr
    codes = []
    for answer in ("planner", "coder", "critic"):
        step = gf("resume", "team1", "--input", answer, "--db", db, "--no-interactive",
                  cwd=tmp_path)  # fmt: skip
        codes.append(step.returncode)
    assert codes == [3, 3, 0], step.stderr
    shown = json.loads(gf("show", "team1", "--db", db, "--json", cwd=tmp_path).stdout)
    assert shown["status"] == "completed"
    text = json.dumps(shown)
    assert "terminated: critic sent a termination message" in text
    speakers = [m.get("node") for m in shown["messages"] if m.get("node")]
    assert speakers == ["planner", "coder", "critic"]


def test_render_of_a_pattern_graph_writes_dot(tmp_path: Path) -> None:
    out = tmp_path / "team.dot"
    proc = gf("render", str(GRAPH), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    dot = out.read_text()
    assert "manager -> planner" in dot and "planner -> manager" in dot


def test_a_person_asked_in_a_two_agent_chat_answers_from_another_process(tmp_path: Path) -> None:
    from graphflow.execution import unavailable_reason
    from tests.conftest import require

    problem = unavailable_reason("sandbox")
    require(problem is None, f"the sandbox executor cannot run here: {problem}")
    db = str(tmp_path / "runs.db")
    graph = GRAPH.parent / "two_agent.yaml"
    first = gf("run", str(graph), "-i", "Sum of squares of 1 to 10?", "--no-interactive",
               "--db", db, "--run-id", "pair", cwd=tmp_path)  # fmt: skip
    assert first.returncode == 3, first.stderr
    assert "waiting at user_proxy_human" in first.stdout + first.stderr
    done = gf("resume", "pair", "--input", "", "--db", db, "--no-interactive", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "user_proxy: termination message from assistant" in done.stdout + done.stderr
