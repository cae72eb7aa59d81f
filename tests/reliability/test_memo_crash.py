"""A teachable agent's memos across a crash: a process killed in the middle of the step
that learned a memo neither loses the memo nor stores it twice when the run resumes in
another process, and the analyzer is not asked again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from graphflow import Store
from graphflow.memory import MemoStore
from graphflow.models.reply_script import ScriptRequest
from graphflow.testing import ModelServer

from .crashkit import wait_until

GRAPH = """
graph: teach-crash
entry: bot
models:
  default: {model: scripted, base_url: "%(url)s", api_key: sk-local, timeout: 120}
nodes:
  bot:
    kind: agent
    is_termination_msg: null
    teachability: true
  done: {kind: end}
edges:
  - {from: bot, to: done}
"""
TAUGHT = {"memos": [{"kind": "fact", "topic": "when do we deploy",
                     "memo": "The team deploys on Tuesdays."},
                    {"kind": "preference", "topic": "tone of answers",
                     "memo": "The user wants short answers."}]}


class Script:
    """Answers analyzer requests at once; holds the first reply until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.analyzed = 0
        self.replies = 0

    def __call__(self, request: ScriptRequest) -> Any:
        if request.last_text.startswith("Message to analyze"):
            self.analyzed += 1
            return json.dumps(TAUGHT)
        self.replies += 1
        self.release.wait(60)  # the first attempt is killed while it waits here
        return "Noted: Tuesdays, and short answers."


def memo_rows(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT id, memo FROM memos ORDER BY rowid").fetchall()
    except sqlite3.Error:
        return []


@pytest.mark.parametrize("window", ["after the write was recorded",
                                    "between the write and its record"])
def test_a_kill_mid_step_neither_loses_nor_duplicates_a_memo(tmp_path: Path, window: str) -> None:
    script = Script()
    with ModelServer(script) as server:
        graph = tmp_path / "g.yaml"
        graph.write_text(GRAPH % {"url": server.base_url})
        db, memory = tmp_path / "runs.db", tmp_path / "graphflow-memory.db"
        env = {k: v for k, v in os.environ.items() if k != "GRAPHFLOW_MEMORY_DB"}
        base = [sys.executable, "-m", "graphflow.cli"]
        proc = subprocess.Popen([*base, "run", str(graph), "--db", str(db), "--run-id", "r",
                                 "--quiet", "--no-interactive", "-i",
                                 "We deploy on Tuesdays. Keep answers short, please."],
                                cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
        # Kill once the memos are written and the agent waits for its reply: mid-step.
        wait_until(lambda: len(memo_rows(memory)) == 2 and script.replies == 1,
                   "the memos are stored and the reply is asked for", proc=proc, timeout=60)  # fmt: skip
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert Store(db).get_run("r").status == "running"  # the step did not commit
        before = memo_rows(memory)
        with sqlite3.connect(db) as conn:
            keys = {k for (k,) in conn.execute("SELECT key FROM effects WHERE run_id = 'r'")}
            assert {"memory:recall", "memory:analyze", "memory:store"} <= keys
            if window == "between the write and its record":
                conn.execute("DELETE FROM effects WHERE run_id = 'r' AND key = 'memory:store'")
        script.release.set()
        done = subprocess.run([*base, "resume", "r", "--db", str(db), "--quiet"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert script.analyzed == 1  # the analyzer's recorded answer was replayed
    assert memo_rows(memory) == before and len(before) == 2  # none lost, none twice
    with Store(db) as store:
        record = store.get_run("r")
        assert record.status == "completed"
        variables, _ = store.load_variables("r", record.last_step)
    assert variables["bot_memos"]["learned"] == [memo_id for memo_id, _ in before]
    with MemoStore(memory) as opened:
        assert [m.run_id for m in opened.memos("bot")] == ["r", "r"]
