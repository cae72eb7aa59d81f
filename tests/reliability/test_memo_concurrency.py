"""Several processes teaching at once into one memo database (created by whichever comes
first): no memo lost, none stored twice, and every run names memos that are stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from graphflow.memory import MemoStore

WORKER = """
import json, sys
from pathlib import Path
from graphflow import Graph, Store
from graphflow.context import RunContext
from graphflow.models import ScriptedModel

who, folder, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])

def answer(request):
    text = request.last_text
    if not text.startswith("Message to analyze"):
        return "Noted."
    lesson = text.split("\\n\\n", 1)[1]
    number = lesson.split()[-1]
    return json.dumps({"memos": [
        {"kind": "fact", "topic": "lesson " + lesson, "memo": "Fact of " + lesson + "."},
        {"kind": "fact", "topic": "shared lesson " + number, "memo": "Shared fact " + number + "."}]})

g = Graph("teach", entry="bot")
g.add_node("bot", kind="agent", is_termination_msg=None,
           teachability={"db": str(folder / "memory.db"), "recall": False})
g.add_node("done", kind="end")
g.add_edge("bot", "done")
compiled = g.compile()
learned = []
with Store(folder / f"runs-{who}.db") as store:
    for i in range(runs):
        result = compiled.run_sync(f"{who} {i}", store=store,
                                   context=RunContext.with_models(ScriptedModel(answer)))
        assert result.status == "completed", result.error
        learned.extend(result.variables["bot_memos"]["learned"])
print(json.dumps(learned))
"""


def test_processes_teaching_at_once_lose_and_duplicate_no_memo(tmp_path: Path) -> None:
    writers, runs = ("a", "b", "c"), 8
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, who, str(tmp_path), str(runs)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in writers]  # fmt: skip
    learned: set[str] = set()
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        learned |= set(json.loads(out))
    with MemoStore(tmp_path / "memory.db") as memory:
        memos = memory.memos("bot")
    texts = sorted(m.text for m in memos)
    expected = sorted([f"Fact of {who} {i}." for who in writers for i in range(runs)]
                      + [f"Shared fact {i}." for i in range(runs)])  # fmt: skip
    assert texts == expected  # each lesson once, the shared ones too
    assert learned == {m.id for m in memos}  # every id a run names is stored
