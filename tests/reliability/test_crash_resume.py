"""Kill a run with SIGKILL at random moments, resume it, and compare with a clean run.

The graph: a linear chain, a fan-out of four branches joined (``join: all``), a loop of
40 steps and a human checkpoint. CI runs a few trials (GRAPHFLOW_CRASH_TRIALS, default
12); run many on demand (see docs/reliability.md):
``GRAPHFLOW_CRASH_TRIALS=200 pytest -s tests/reliability/test_crash_resume.py``.
The shared machinery is in ``crashkit.py``; more shapes in ``test_crash_shapes.py``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from .crashkit import KillPlan, cli, run_attempt
from .evidence import check_messages, status, transcript

MODULE = """
import random, time
from graphflow import Message, Update

def step(state, ctx):
    time.sleep(random.uniform(0.0, 0.012))
    count = state.visits.get(ctx.node_id, 0)
    text = f"{ctx.node_id}:{count}:{len(state.messages)}"
    return Update(messages=[Message(content=text)],
                  variables={"i": state.variables.get("i", 0) + (ctx.node_id == "loop")})
"""

GRAPH = """
graph: crashy
entry: s0
limits: {max_steps: 500}
variables:
  i: {merge: max, default: 0}   # parallel branches write it unchanged; the loop counts
nodes:
%(nodes)s
  join: {kind: function, call: "crashmod:step", join: all}
  loop: {kind: function, call: "crashmod:step"}
  approve: {kind: human, prompt: "continue?"}
  after: {kind: function, call: "crashmod:step"}
  done: {kind: end}
edges:
%(edges)s
  - {from: join, to: loop}
  - {from: loop, to: loop, when: "state.i < 40"}
  - {from: loop, to: approve, else: true}
  - {from: approve, to: after}
  - {from: after, to: done}
"""


def write_graph(folder: Path) -> Path:
    (folder / "crashmod.py").write_text(MODULE)
    nodes = [f"s{i}" for i in range(15)] + [f"b{b}_{k}" for b in range(4) for k in range(3)]
    node_text = "\n".join(f'  {n}: {{kind: function, call: "crashmod:step"}}' for n in nodes)
    edges = [f"  - {{from: s{i}, to: s{i + 1}}}" for i in range(14)]
    for b in range(4):
        edges.append(f"  - {{from: s14, to: b{b}_0}}")
        edges += [f"  - {{from: b{b}_{k}, to: b{b}_{k + 1}}}" for k in range(2)]
        edges.append(f"  - {{from: b{b}_2, to: join}}")
    path = folder / "crashy.yaml"
    path.write_text(GRAPH % {"nodes": node_text, "edges": "\n".join(edges)})
    return path


def test_sigkill_at_random_points_then_resume_gives_the_clean_transcript(tmp_path: Path) -> None:
    trials = int(os.environ.get("GRAPHFLOW_CRASH_TRIALS", "12"))
    graph = write_graph(tmp_path)
    clean_db = tmp_path / "clean.db"
    proc = cli("run", str(graph), "--db", str(clean_db), "--run-id", "clean", "--quiet",
               "--no-interactive", cwd=tmp_path)  # fmt: skip
    assert proc.wait(60) == 3, proc.stderr.read().decode() if proc.stderr else ""
    proc = cli("resume", "clean", "--input", "yes", "--db", str(clean_db), "--quiet", cwd=tmp_path)
    assert proc.wait(60) == 0, proc.stderr.read().decode() if proc.stderr else ""
    expected = transcript(clean_db, "clean")
    assert expected["status"] == "completed" and len(expected["messages"]) == 15 + 12 + 1 + 40 + 2
    rng = random.Random(int(os.environ.get("GRAPHFLOW_CRASH_SEED", "7")))
    kills = 0
    for trial in range(trials):
        db = tmp_path / f"crash{trial}.db"
        run_id = f"r{trial}"
        for _attempt in range(50):
            state = status(db, run_id)
            if state == "completed":
                break
            args = ["resume", run_id] if state else ["run", str(graph), "--run-id", run_id]
            if state == "waiting":
                args += ["--input", "yes"]
            plan = KillPlan(at=rng.uniform(0.35, 1.2)) if rng.random() < 0.8 else KillPlan()
            outcome = run_attempt([*args, "--db", str(db), "--no-interactive"], cwd=tmp_path,
                                  env={}, plan=plan)  # fmt: skip
            kills += outcome.killed
            assert outcome.killed or outcome.code in (0, 3), outcome.stderr
        got = transcript(db, run_id)
        assert got["status"] == "completed"
        check_messages(got)
        assert got["messages"] == expected["messages"]
        assert got["variables"] == expected["variables"] and got["visits"] == expected["visits"]
    if trials:
        assert kills >= 1
    print(f"{trials} trials, {kills} kills, transcripts identical")
