"""A scripted model continued after a pause goes on where the run left its replies.

A scripted model from a graph file used to find its place in its reply list only from
the conversation it is sent. Where its earlier replies are not in the request — a
group-chat manager's answers are never messages; a member with ``context: {last: 1}``
does not see its own earlier replies — a run continued with new model instances (in a
new process after a crash or a person's answer, or after an answer typed at the
terminal) replayed replies it had already used. The crash campaigns found it; now a
scripted model created for a run that already used it is advanced past every billed call
recorded in the run's committed steps and in its uncommitted step. Here a group chat
pauses for a person (a crash at the same point does the same) and continues.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from graphflow import Store
from graphflow.loader import load
from graphflow.patterns.runner import Runner

from .evidence import transcript

CHAT = """
graph: paused_chat
entry: manager
limits: {max_steps: 40}
models:
  team:
    scripted:
      replies:
        - "Plan: one short paragraph."
        - "Draft 1: graphs of agents."
        - "Draft 2: graphs of agents, checkpointed at every step."
        - "Approved. TERMINATE"
  selector:
    scripted: %(selector)s
nodes:
  manager: {kind: router, selection: auto, model: selector, max_round: 20}
  writer:
    kind: agent
    description: Writes the draft.
    model: team
    is_termination_msg: null%(view)s
  critic:
    kind: agent
    description: Plans and reviews.
    model: team
    is_termination_msg: null%(view)s
  person: {kind: human, name: person, description: The person who asked., prompt: "Wishes?"}
  done: {kind: end}
edges:
  - {from: manager, to: [writer, critic, person, done]}
  - {from: writer, to: manager}
  - {from: critic, to: manager}
  - {from: person, to: manager}
"""
ORDER = ["critic", "writer", "person", "writer", "critic"]
MODULE = f"""
ORDER = {ORDER!r}


def select(request):
    spoken = [m for m in request.messages if m.get("name") in ("writer", "critic", "person")]
    return ORDER[min(len(spoken), len(ORDER) - 1)]
"""
GAPS = {
    # the manager's answers are never messages, so none are found in the request
    "manager on a reply list": {"selector": "{replies: %s}" % ORDER, "view": ""},  # noqa: UP031
    # members that see only the last message do not see their earlier replies
    "members with a short view": {
        "selector": '{function: "gapmod:select"}',
        "view": "\n    context: {last: 1}",
    },
}


def gf(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args, "--db", "runs.db"],
                          cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60)  # fmt: skip


def write(folder: Path, case: str) -> None:
    folder.mkdir()
    (folder / "gapmod.py").write_text(MODULE)
    (folder / "chat.yaml").write_text(CHAT % GAPS[case])


def said(folder: Path) -> list[tuple[str, str]]:
    return [
        (m[1], (m[4] or "").split(":")[0]) for m in transcript(folder / "runs.db", "r")["messages"]
    ]


EXPECTED = [("critic", "Plan"), ("writer", "Draft 1"), ("person", "Shorter, please."),
            ("writer", "Draft 2"), ("critic", "Approved. TERMINATE")]  # fmt: skip


@pytest.mark.parametrize("case", list(GAPS))
def test_in_one_process_the_chat_goes_as_scripted(tmp_path: Path, case: str) -> None:
    """The reference: the pattern runner answers the person and keeps its models."""
    folder = tmp_path / "one"
    write(folder, case)
    store = Store(folder / "runs.db")
    runner = Runner(load(folder / "chat.yaml"), store=store, human_input=["Shorter, please."])
    result = asyncio.run(runner.start(None, run_id="r"))
    store.close()
    assert result.status == "completed", result.error
    assert said(folder) == EXPECTED


@pytest.mark.parametrize("how", ["in a new process", "typed at the terminal"])
@pytest.mark.parametrize("case", list(GAPS))
def test_continued_after_the_answer_the_chat_goes_as_scripted(
    tmp_path: Path, case: str, how: str
) -> None:
    folder = tmp_path / "two"
    write(folder, case)
    if how == "typed at the terminal":
        done = gf("run", "chat.yaml", "--run-id", "r", "--interactive", cwd=folder,
                  stdin="Shorter, please.\n")  # fmt: skip
    else:
        paused = gf("run", "chat.yaml", "--run-id", "r", "--no-interactive", cwd=folder)
        assert paused.returncode == 3, paused.stderr
        done = gf("resume", "r", "--input", "Shorter, please.", "--no-interactive", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert said(folder) == EXPECTED


LONG = """
graph: long_chat
entry: bot
limits: {max_steps: 1000}
models:
  team:
    scripted:
      replies: %(replies)s
nodes:
  bot: {kind: agent, model: team, is_termination_msg: null, context: {last: 1},
        max_consecutive_auto_reply: 1000}
  person: {kind: human, name: person, prompt: "More?"}
  done: {kind: end}
edges:
  - {from: bot, to: person, when: "visits.bot == 250"}
  - {from: bot, to: done, when: "visits.bot >= 260"}
  - {from: bot, to: bot, else: true}
  - {from: person, to: bot}
"""


def test_continued_after_many_turns_the_model_goes_on_from_the_snapshot_s_count(
        tmp_path: Path) -> None:  # fmt: skip
    """Past a snapshot, the billed calls before it come from the snapshot's usage per node
    (its split per model), the later ones from the steps since: the reply list goes on at
    reply 250, not at the 50 calls made since the snapshot at step 199."""
    (tmp_path / "long.yaml").write_text(LONG % {"replies": [f"reply {i}" for i in range(300)]})
    graph = load(tmp_path / "long.yaml")
    with Store(tmp_path / "runs.db") as store:
        assert graph.run_sync(store=store, run_id="r").status == "waiting"
        assert len(store.node_usage_parts("r")) == 1 + 50  # the totals at 199, steps 200..249
        done = graph.resume_sync("r", input="go on", store=store)  # new model instances
    assert done.status == "completed", done.error
    bot = [m.content for m in done.messages if m.node == "bot"]
    assert bot == [f"reply {i}" for i in range(260)]
