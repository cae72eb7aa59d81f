from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def gf(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          capture_output=True, text=True, input=input, timeout=120)  # fmt: skip


def assert_clean_error(proc: subprocess.CompletedProcess[str], code: int, *parts: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    text = re.sub(r"\s+", " ", proc.stderr)
    for part in parts:
        assert part in text, (part, proc.stderr)


def test_quickstart_waits_then_resume_completes(tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    first = gf("run", "quickstart", "--db", db, "--no-interactive", cwd=tmp_path)
    assert first.returncode == 3, first.stderr
    assert "waiting" in first.stdout and re.search(r"Publish this text of \d+ words\?", first.stdout)
    assert "no model configured: using the scripted offline model" in first.stderr
    runs = json.loads(gf("runs", "--db", db, "--json", cwd=tmp_path).stdout)
    run_id = runs[0]["run_id"]
    assert runs[0]["status"] == "waiting"
    done = gf("resume", run_id[:6], "--input", "yes", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout and "published" in done.stdout
    shown = gf("show", run_id, "--db", db, cwd=tmp_path).stdout
    assert "approve (user): yes" in shown and "status completed after 7 steps" in shown
    again = gf("resume", run_id, "--input", "yes", "--db", db, cwd=tmp_path)
    assert_clean_error(again, 2, "already ended (status completed: published)")


def test_interactive_answer_at_the_terminal(tmp_path: Path) -> None:
    proc = gf("run", "quickstart", "--db", str(tmp_path / "q.db"), "--interactive", cwd=tmp_path,
              input="no\n")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "discarded" in proc.stdout


def test_events_jsonl_and_vars(tmp_path: Path) -> None:
    proc = gf("run", "quickstart", "--db", str(tmp_path / "q.db"), "--events", "jsonl",
              "--var", "topic=durable runs", cwd=tmp_path)  # fmt: skip
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["type"] == "run_started" and lines[-1]["type"] == "waiting"
    messages = [e["message"]["content"] for e in lines if e["type"] == "message"]
    assert "Write three sentences about durable runs" in messages[0]


BAD_INPUTS = {
    "malformed.yaml": ("graph: x\nnodes: {a: [}\n", "not valid YAML", "line 2"),
    "unknown.yaml": ("graph: x\nentry: a\nnodes:\n  a: {kind: end}\nedges:\n  - {from: a, to: ghost}\n",
                     "unknown node 'ghost'", "add it under nodes:"),
    "condition.yaml": ("graph: x\nentry: a\nnodes:\n  a: {kind: function, call: 'nodes.tools.text:draft'}\n"
                       "  b: {kind: end}\nedges:\n  - {from: a, to: b, when: 'len(last.content) >'}\n",
                       "edge a → b", "bad condition", "syntax error"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_graph_files_give_one_clear_error_and_store_nothing(tmp_path: Path, name: str) -> None:
    text, *parts = BAD_INPUTS[name]
    (tmp_path / name).write_text(text)
    db = tmp_path / "runs.db"
    proc = gf("run", name, "--db", str(db), cwd=tmp_path)
    assert_clean_error(proc, 2, name, *parts)
    assert not db.exists()
    proc = gf("validate", name, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_unknown_run_ids_and_missing_database(tmp_path: Path) -> None:
    assert_clean_error(gf("show", "nope", "--db", str(tmp_path / "none.db"), cwd=tmp_path), 2,
                       "no run database at")
    db = str(tmp_path / "q.db")
    gf("run", "quickstart", "--db", db, "--no-interactive", cwd=tmp_path)
    before = (tmp_path / "q.db").read_bytes()
    for command in (["show", "nope"], ["resume", "nope"], ["fork", "nope", "--at", "1"],
                    ["render", "nope", "-o", "x.svg"]):
        assert_clean_error(gf(*command, "--db", db, cwd=tmp_path), 2, "no run 'nope'")
    assert (tmp_path / "q.db").read_bytes() == before
    runs = json.loads(gf("runs", "--db", db, "--json", cwd=tmp_path).stdout)
    assert_clean_error(gf("resume", runs[0]["run_id"], "--db", db, cwd=tmp_path), 2,
                       "is waiting for input at node 'approve'", "--input")


def test_fork_and_prune(tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    gf("run", "quickstart", "--db", db, "--no-interactive", cwd=tmp_path)
    run_id = json.loads(gf("runs", "--db", db, "--json", cwd=tmp_path).stdout)[0]["run_id"]
    forked = gf("fork", run_id, "--at", "2", "--db", db, cwd=tmp_path)
    assert forked.returncode == 0, forked.stderr
    new_id = forked.stdout.strip()
    resumed = gf("resume", new_id, "--db", db, "--no-interactive", cwd=tmp_path)
    assert resumed.returncode == 3 and "waiting at approve" in resumed.stdout
    dry = gf("prune", "--status", "waiting", "--keep", "1", "--dry-run", "--db", db, cwd=tmp_path)
    assert "would delete 1 run(s)" in dry.stdout
    assert_clean_error(gf("prune", "--db", db, cwd=tmp_path), 2, "prune needs")
    assert_clean_error(gf("prune", "--older-than", "soon", "--db", db, cwd=tmp_path), 2, "30d")


def test_fork_of_a_run_whose_stored_spec_is_not_a_graph(tmp_path: Path) -> None:
    """A spec edited by hand into JSON that is not a whole graph: one paragraph saying
    what, where and how to fix, exit code 2, no fork."""
    import sqlite3

    db = str(tmp_path / "q.db")
    gf("run", "quickstart", "--db", db, "--no-interactive", cwd=tmp_path)
    run_id = json.loads(gf("runs", "--db", db, "--json", cwd=tmp_path).stdout)[0]["run_id"]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE specs SET spec = '{\"graph\": \"x\"}'")
    conn.close()
    for at in ("0", "2"):
        assert_clean_error(gf("fork", run_id, "--at", at, "--db", db, cwd=tmp_path), 2,
                           f"run '{run_id}': its stored graph spec is incomplete", "'entry'",
                           "backup", f"graphflow resume {run_id} --graph FILE")  # fmt: skip
    assert len(json.loads(gf("runs", "--db", db, "--json", cwd=tmp_path).stdout)) == 1


def test_render_graph_and_run(tmp_path: Path, has_dot: None) -> None:
    svg = tmp_path / "q.svg"
    proc = gf("render", "quickstart", "-o", str(svg), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text and "Generated by graphviz" in text
    assert "review" in text and "needs work" in text
    for suffix in ("dot", "mmd", "png"):
        out = tmp_path / f"q.{suffix}"
        assert gf("render", "quickstart", "-o", str(out), cwd=tmp_path).returncode == 0
        assert out.stat().st_size > 100
    assert (tmp_path / "q.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "flowchart TD" in (tmp_path / "q.mmd").read_text()
    assert_clean_error(gf("render", "quickstart", "-o", "q.gif", cwd=tmp_path), 2, ".svg, .png")


def test_missing_dot_gives_the_install_hint(tmp_path: Path) -> None:
    import os

    env_path = str(Path(sys.executable).parent)
    proc = subprocess.run([sys.executable, "-m", "graphflow.cli", "render", "quickstart", "-o",
                           "q.svg"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": env_path})  # fmt: skip
    if shutil.which("dot", path=env_path):
        pytest.skip("dot is next to the interpreter")
    assert_clean_error(proc, 2, "apt-get install graphviz")


def test_every_command_is_documented() -> None:
    from graphflow.cli import main

    doc = (ROOT / "docs" / "cli.md").read_text()
    for name in main.commands:
        assert f"graphflow {name}" in doc, name


def test_resuming_a_python_built_run_from_the_cli_says_to_resume_it_from_python(
        tmp_path: Path) -> None:  # fmt: skip
    from graphflow import Graph

    g = Graph("py-built", entry="a")
    g.add_node("a", lambda state: "drafted")
    g.add_node("ask", kind="human", prompt="ok?")
    g.add_node("done", kind="end")
    g.add_edge("a", "ask")
    g.add_edge("ask", "done")
    db = tmp_path / "runs.db"
    result = g.compile().run_sync(store=str(db))
    assert result.status == "waiting"
    proc = gf("resume", result.run_id, "--input", "yes", "--db", str(db), cwd=tmp_path)
    assert_clean_error(proc, 2, "cannot be rebuilt here", "resume it from Python")
