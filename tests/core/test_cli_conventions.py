"""Command-line conventions: errors on stderr, '-' for stdin and stdout, --json on every
command that prints data, readable tables with whole ids, -q one line, help for every
option, -V, shell completion, graphs with their descriptions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click

from graphflow.cli import main

HELLO = """graph: hello
description: Says hello. Nothing else.
entry: greet
nodes:
  greet: {kind: function, call: 'nodes.tools.text:word_count', args: {text: last.content},
          output: words, message: true}
"""
BROKEN = """graph: broken
entry: boom
nodes:
  boom: {kind: function, call: 'boom:explode'}
"""
ASKS = """graph: asks
entry: ask
nodes:
  ask: {kind: human, prompt: "Ready?", variable: answer}
  done: {kind: end, status: "answered {answer}"}
edges:
  - {from: ask, to: done}
"""


def gf(*args: str, cwd: Path, input: str | None = None,
       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          capture_output=True, text=True, input=input, timeout=120,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_a_failed_runs_error_goes_to_stderr(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text("def explode(state):\n    raise ValueError('it broke')\n")
    (tmp_path / "broken.yaml").write_text(BROKEN)
    proc = gf("run", "broken.yaml", "--db", "r.db", cwd=tmp_path)
    assert proc.returncode == 1
    assert "it broke" in proc.stderr and "failed" in proc.stderr
    assert "it broke" not in proc.stdout


def test_dash_reads_the_graph_or_the_input_from_stdin(tmp_path: Path) -> None:
    piped = gf("run", "-", "-i", "three small words", "--db", "r.db", "--json", cwd=tmp_path,
               input=HELLO)  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["variables"]["words"] == 3
    (tmp_path / "hello.yaml").write_text(HELLO)
    text = gf("run", "hello.yaml", "--input", "-", "--db", "r.db", "--json", cwd=tmp_path,
              input="four words come in")  # fmt: skip
    assert json.loads(text.stdout)["variables"]["words"] == 4
    both = gf("run", "-", "--input", "-", "--db", "r.db", cwd=tmp_path, input=HELLO)
    assert both.returncode == 2 and "cannot both be read from standard input" in both.stderr
    checked = gf("validate", "-", "--json", cwd=tmp_path, input=HELLO)
    assert json.loads(checked.stdout) == [{"file": "-", "valid": True, "graph": "hello",
                                           "nodes": 1, "edges": 0}]  # fmt: skip


def test_dash_writes_the_report_and_the_drawing_to_stdout(tmp_path: Path) -> None:
    (tmp_path / "hello.yaml").write_text(HELLO)
    run_id = json.loads(gf("run", "hello.yaml", "-i", "hi", "--db", "r.db", "--json",
                           cwd=tmp_path).stdout)["run_id"]  # fmt: skip
    report = gf("report", run_id, "-o", "-", "--db", "r.db", cwd=tmp_path)
    assert report.returncode == 0 and report.stdout.lstrip().startswith("<!DOCTYPE html>")
    assert not (tmp_path / "-").exists()
    drawn = gf("render", "hello.yaml", "-o", "-", "--format", "dot", cwd=tmp_path)
    assert drawn.returncode == 0 and drawn.stdout.startswith("digraph")
    assert not (tmp_path / "-").exists()


def test_json_on_the_commands_that_print_data(tmp_path: Path) -> None:
    (tmp_path / "asks.yaml").write_text(ASKS)
    first = gf("run", "asks.yaml", "--db", "r.db", "--json", "--run-id", "j1", cwd=tmp_path)
    assert first.returncode == 3
    data = json.loads(first.stdout)
    assert (data["run_id"], data["status"], data["waiting"]) == ("j1", "waiting",
                                                                 {"ask": "Ready?"})  # fmt: skip
    done = json.loads(gf("resume", "j1", "--input", "yes", "--db", "r.db", "--json",
                         cwd=tmp_path).stdout)  # fmt: skip
    assert (done["status"], done["reason"]) == ("completed", "answered yes")
    listed = json.loads(gf("graphs", "--json", cwd=tmp_path).stdout)
    assert {"quickstart", "two_agent"} <= {g["name"] for g in listed}
    assert all(g["description"] for g in listed)
    bad = gf("validate", "asks.yaml", "missing.yaml", "--json", cwd=tmp_path)
    reports = json.loads(bad.stdout)
    assert bad.returncode == 2 and [r["valid"] for r in reports] == [True, False]
    assert reports[1]["problems"][0]["what"] == "no such graph file or graph name"
    forked = json.loads(gf("fork", "j1", "--at", "0", "--db", "r.db", "--json",
                           cwd=tmp_path).stdout)  # fmt: skip
    assert forked["forked_from"] == "j1"


def test_quiet_prints_one_line(tmp_path: Path) -> None:
    (tmp_path / "asks.yaml").write_text(ASKS)
    proc = gf("run", "asks.yaml", "--db", "r.db", "-q", "--run-id", "q1", cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == "q1 waiting\n" and proc.stderr == ""
    quickstart = gf("run", "quickstart", "--db", "r.db", "-q", cwd=tmp_path)
    assert len(quickstart.stdout.splitlines()) == 1 and quickstart.stderr == ""


def test_runs_shows_whole_ids_piped_and_fits_a_narrow_terminal(tmp_path: Path) -> None:
    (tmp_path / "asks.yaml").write_text(ASKS)
    for n in range(3):
        gf("run", "asks.yaml", "--db", "r.db", "--run-id", f"a-rather-long-run-id-{n}",
           "--no-interactive", cwd=tmp_path)  # fmt: skip
    piped = gf("runs", "--db", "r.db", cwd=tmp_path).stdout.splitlines()
    assert [line.split("\t")[0] for line in piped] == [f"a-rather-long-run-id-{n}"
                                                       for n in (2, 1, 0)]  # fmt: skip
    terminal = gf("runs", "--db", "r.db", cwd=tmp_path,
                  env={"FORCE_COLOR": "1", "COLUMNS": "80", "TERM": "xterm"}).stdout  # fmt: skip
    plain = re.sub(r"\x1b\[[0-9;]*m", "", terminal).splitlines()
    assert len(plain) == 4 and all(len(line) <= 80 for line in plain), plain
    assert all(f"a-rather-long-run-id-{n}" in terminal for n in range(3))


def test_every_option_has_help_and_every_command_a_summary() -> None:
    missing = []
    for name, command in main.commands.items():
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"{name} {param.opts[0]}")
    for param in main.params:
        if isinstance(param, click.Option) and not param.help and "--version" not in param.opts:
            missing.append(f"graphflow {param.opts[0]}")
    assert missing == []


def test_version_and_completion(tmp_path: Path) -> None:
    short = gf("-V", cwd=tmp_path)
    assert short.returncode == 0 and re.fullmatch(r"graphflow \d+\.\d+\.\d+\S*\n", short.stdout)
    command = str(Path(sys.executable).parent / "graphflow")
    script = subprocess.run([command], env={**os.environ, "_GRAPHFLOW_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert script.returncode == 0 and "_graphflow_completion" in script.stdout


def test_graphs_lists_names_with_what_they_show(tmp_path: Path) -> None:
    lines = gf("graphs", cwd=tmp_path).stdout.splitlines()
    names = dict(line.split("\t", 1) for line in lines)
    assert names["critic_loop"].startswith("A writer drafts, a critic reviews;")
    assert "/" not in names["quickstart"]  # a description, not a path
