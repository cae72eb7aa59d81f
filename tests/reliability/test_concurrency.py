"""Two processes on one run: one advances it, the other is refused. Many runs in
parallel in one database: no 'database is locked'."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from graphflow import Store

SLOW_GRAPH = """
graph: slow
entry: ask
nodes:
  ask: {kind: human, prompt: "go?"}
  work: {kind: function, call: "slowmod:work"}
edges:
  - {from: ask, to: work}
"""
# The node says when it works (its process holds the run's lease by then) and goes on
# only when the test says so: no sleep decides who comes first.
SLOW_MODULE = """
import time
from pathlib import Path


def work(state):
    Path("working").touch()
    deadline = time.monotonic() + 60
    while not Path("release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "done"
"""

BUSY_MODULE = """
import sys
from graphflow import Graph, Store

g = Graph("busy", variables={"i": 0})
g.add_node("a", lambda s: {"i": s.variables["i"] + 1})
g.add_node("end", kind="end")
g.add_edge("a", "a", when="state.i < 60")
g.add_edge("a", "end", otherwise=True)
graph = g.compile()
store = Store(sys.argv[1])
for n in range(int(sys.argv[2])):
    result = graph.run_sync(store=store, run_id=f"{sys.argv[3]}-{n}")
    assert result.status == "completed", result
print("ok")
"""


def cli(tmp: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "graphflow.cli", *args], cwd=tmp,
                            env={"PYTHONPATH": str(tmp), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_second_process_resuming_the_same_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "slow.yaml").write_text(SLOW_GRAPH)
    (tmp_path / "slowmod.py").write_text(SLOW_MODULE)
    db = str(tmp_path / "runs.db")
    first = cli(tmp_path, "run", "slow.yaml", "--db", db, "--run-id", "r1", "--no-interactive")
    assert first.wait(30) == 3
    a = cli(tmp_path, "resume", "r1", "--input", "yes", "--db", db)
    deadline = time.monotonic() + 60
    while not (tmp_path / "working").exists() and a.poll() is None:
        assert time.monotonic() < deadline, "the first resume never reached its node"
        time.sleep(0.01)
    assert a.poll() is None, a.communicate()
    b = cli(tmp_path, "resume", "r1", "--input", "yes", "--db", db)
    out_b, err_b = b.communicate(timeout=60)
    (tmp_path / "release").touch()
    _out_a, err_a = a.communicate(timeout=60)
    assert a.returncode == 0, err_a
    assert b.returncode == 5, (out_b, err_b)
    assert "is in use by process" in err_b and "Traceback" not in err_b
    store = Store(db)
    assert store.get_run("r1").status == "completed"
    assert [m.content for m in store.load_messages("r1")] == ["yes", "done"]


def test_many_runs_in_parallel_in_one_database(tmp_path: Path) -> None:
    (tmp_path / "busy.py").write_text(BUSY_MODULE)
    db = str(tmp_path / "runs.db")
    procs = [subprocess.Popen([sys.executable, str(tmp_path / "busy.py"), db, "15", f"p{i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(4)]  # fmt: skip
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "locked" not in err, err
    store = Store(db)
    runs = store.list_runs()
    assert len(runs) == 60 and {r.status for r in runs} == {"completed"}
    assert json.loads(json.dumps(store.load_variables(runs[0].run_id, runs[0].last_step)[0])) == {"i": 60}
