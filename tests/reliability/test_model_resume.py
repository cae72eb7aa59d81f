"""A run killed after its model answer arrived does not ask the model again on resume,
and the API key used for real HTTP calls never reaches the run database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from graphflow import Store
from graphflow.testing import ModelServer

from .crashkit import wait_until
from .evidence import stored

KEY = "sk-test-0123456789-never-store-me"

GRAPH = """
graph: slow-step
entry: start
models:
  default: {model: scripted, base_url: "%(url)s", api_key_env: GF_TEST_KEY, timeout: 5}
nodes:
  start: {kind: function, call: "slowmod:start"}
  writer:
    kind: agent
    system_message: "Answer briefly."
    is_termination_msg: null
  slow: {kind: function, call: "slowmod:slow", thread: true}
  after: {kind: function, call: "slowmod:after", join: all}
edges:
  - {from: start, to: writer}
  - {from: start, to: slow}
  - {from: writer, to: after}
  - {from: slow, to: after}
"""
MODULE = """
import os, time
def start(state):
    return "go"
def slow(state):
    if not os.path.exists(os.environ["SLOW_MARK"]):
        open(os.environ["SLOW_MARK"], "w").close()
        time.sleep(30)          # the first attempt is killed while it sleeps
    return "slow done"
def after(state):
    return "after: " + " | ".join(m.content for m in state.messages[-2:])
"""


def test_a_killed_run_does_not_pay_twice_for_a_received_answer(tmp_path: Path) -> None:
    (tmp_path / "slowmod.py").write_text(MODULE)
    with ModelServer(["the model's one answer"], api_key=KEY) as server:
        graph = tmp_path / "g.yaml"
        graph.write_text(GRAPH % {"url": server.base_url})
        db = tmp_path / "runs.db"
        env = {**os.environ, "PYTHONPATH": str(tmp_path), "GF_TEST_KEY": KEY,
               "SLOW_MARK": str(tmp_path / "slow.mark")}  # fmt: skip
        base = [sys.executable, "-m", "graphflow.cli"]
        proc = subprocess.Popen([*base, "run", str(graph), "--db", str(db), "--run-id", "r",
                                 "--quiet", "--no-interactive"], cwd=tmp_path, env=env,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        # Kill once the writer's branch (the model's answer) is saved, while the parallel
        # slow branch still sleeps.
        wait_until(lambda: (1, "writer") in stored(db, "r").writes,
                   "the writer's branch is saved", proc=proc, timeout=60)  # fmt: skip
        assert server.requests == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert Store(db).get_run("r").status == "running"
        done = subprocess.run([*base, "resume", "r", "--db", str(db), "--quiet"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert server.requests == 1  # replayed, not asked again
    store = Store(db)
    contents = [m.content for m in store.load_messages("r")]
    assert contents == ["go", "the model's one answer", "slow done",
                        "after: the model's one answer | slow done"]
    store.size_bytes()
    store.close()
    for file in tmp_path.glob("runs.db*"):
        assert KEY.encode() not in file.read_bytes(), file
