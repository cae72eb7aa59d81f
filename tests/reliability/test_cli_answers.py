"""Answers typed at the terminal continue the run with the command's options: a run
paused at a human checkpoint and answered in the same ``graphflow run --interactive``
process keeps using the endpoint given with ``--model``/``--base-url``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphflow.testing import ModelServer

from .evidence import transcript

OVERRIDE = """
graph: override
entry: ask
nodes:
  ask: {kind: human, prompt: "Topic?"}
  writer: {kind: agent, system_message: One line on the topic.}
  done: {kind: end}
edges:
  - {from: ask, to: writer}
  - {from: writer, to: done}
"""


def test_an_answer_typed_at_the_terminal_keeps_the_model_given_on_the_command_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "g.yaml").write_text(OVERRIDE)
    with ModelServer(script=lambda request: "From the server.") as server:
        done = gf("run", "g.yaml", "--run-id", "r", "--interactive", "--model", "m",
                  "--base-url", server.base_url, cwd=tmp_path, stdin="graphs\n")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert server.requests == 1, done.stdout
    assert [m[4] for m in transcript(tmp_path / "runs.db", "r")["messages"]] == [
        "graphs",
        "From the server.",
    ]


def gf(*args: str, cwd: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args, "--db", "runs.db"],
                          cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60)  # fmt: skip
