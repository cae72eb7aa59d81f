"""Model calls kept with a run: shown by `graphflow show --calls`, turned off with
--no-record-calls, and stored in linear space (each prompt message once per run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from graphflow import Graph, Store

GRAPH = """graph: pair
entry: writer
models: {scripted: ["Zebras have stripes.", "Say why."]}
nodes:
  writer: {kind: agent, system_message: "Write about zebras.", is_termination_msg: null}
  critic: {kind: agent, system_message: "Criticize.", is_termination_msg: null}
edges:
  - {from: writer, to: critic}
"""


def gf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL")}
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_show_calls_prints_each_prompt_and_answer(tmp_path: Path) -> None:
    (tmp_path / "pair.yaml").write_text(GRAPH)
    run = gf("run", "pair.yaml", "-i", "go", "--db", "r.db", "--run-id", "p1", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    shown = gf("show", "p1", "--calls", "--db", "r.db", cwd=tmp_path).stdout
    assert "call 0 · step 0 · writer · scripted:default" in shown
    assert "system (system): Write about zebras." in shown
    assert "→ answer (stop): Zebras have stripes." in shown
    assert "call 1 · step 1 · critic" in shown and "→ answer (stop): Say why." in shown
    data = json.loads(gf("show", "p1", "--calls", "--json", "--db", "r.db", cwd=tmp_path).stdout)
    assert [c["node"] for c in data["model_calls"]] == ["writer", "critic"]
    assert data["models"]["entries"]["default"]["kind"] == "scripted"
    off = gf("run", "pair.yaml", "-i", "go", "--db", "r.db", "--run-id", "p2",
             "--no-record-calls", cwd=tmp_path)  # fmt: skip
    assert off.returncode == 0
    none = gf("show", "p2", "--calls", "--db", "r.db", cwd=tmp_path).stdout
    assert "no model calls recorded for this run" in none


def test_a_long_runs_calls_take_linear_space(tmp_path: Path) -> None:
    g = Graph("long", entry="a")
    g.add_node("a", kind="agent", is_termination_msg=None)
    g.add_node("done", kind="end")
    g.add_edge("a", "done", when='contains(last.content, "STOP")')
    g.add_edge("a", "a", otherwise=True)
    g.limits(max_steps=60)
    g.models = {"scripted": [f"answer {n}: " + "word " * 200 for n in range(60)]}  # ~1 KB each
    with Store(tmp_path / "runs.db") as store:
        run = g.compile().run_sync("start", store=store)
        calls = store.model_calls(run.run_id)
        assert len(calls) == 60 and len(calls[-1]["prompt"]) == 60  # the whole conversation
        stored = store.conn.execute("SELECT COUNT(*), SUM(LENGTH(message)) FROM prompt_messages"
                                    " WHERE run_id=?", (run.run_id,)).fetchone()  # fmt: skip
        keys = store.conn.execute("SELECT SUM(LENGTH(prompt)) FROM model_calls WHERE run_id=?",
                                  (run.run_id,)).fetchone()[0]  # fmt: skip
    # each distinct message once (the input and 59 answers, ~60 KB), not every prompt
    # whole (60 * 61 / 2 messages, ~1.8 MB)
    assert stored[0] == 60 and stored[1] < 70_000
    assert keys < 60 * 61 / 2 * 30  # a short key per message sent
