"""Kills aimed at the narrow windows of the durability contract, one per test.

A node is held mid-step (it sleeps until killed) while the test watches the store, so
the kill lands exactly where the contract makes a promise:

- a parallel step whose fast branches finished and whose slow branch did not: only the
  slow branch runs again;
- a tool call whose work finished but whose result was not yet recorded: it runs again
  (the documented at-least-once window), while its recorded siblings do not;
- an agent that got its model's answer in a step that did not commit: resuming does
  not pay for the answer again — whether the branch result, the journaled effect or
  only the response cache survived. Only with all three gone is the model asked again.

The last states (rows missing) are what a kill a few microseconds earlier leaves; they
are produced by deleting the rows a later write added, then resuming.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from graphflow.testing import ModelServer

from .crashkit import ATTEMPT_ENV, LOG_ENV, cli, drive, kill, wait_until
from .evidence import check_messages, comparable, read_log, stored, transcript
from .shapes import NODES, SHAPES

FAST = ("fast1", "fast2", "fast3")


def clean_run(name: str, folder: Path) -> dict[str, Any]:
    graph = SHAPES[name].write(folder)
    drive(graph, folder / "runs.db", "clean", rng=random.Random(1), log=folder / "effects.log",
          max_kills=0)  # fmt: skip
    return transcript(folder / "runs.db", "clean")


def held(folder: Path, args: list[str], **env: str) -> Any:
    """Start attempt 0 of a run with a node told to hold."""
    log = folder / "effects.log"
    return cli(*args, "--db", str(folder / "runs.db"), "--quiet", "--no-interactive",
               cwd=folder, env={LOG_ENV: str(log), ATTEMPT_ENV: "0", **env})  # fmt: skip


def test_only_the_unfinished_branch_of_a_parallel_step_runs_again(tmp_path: Path) -> None:
    expected = clean_run("fanout", tmp_path / "clean")
    folder = tmp_path / "held"
    graph = SHAPES["fanout"].write(folder)
    db = folder / "runs.db"
    proc = held(folder, ["run", str(graph), "--run-id", "r"], CRASHKIT_HOLD="slow")
    wait_until(lambda: {(1, n) for n in FAST} <= stored(db, "r").writes,
               "the fast branches of step 1 are saved", proc=proc)  # fmt: skip
    kill(proc)
    before = stored(db, "r")
    assert before.status == "running" and before.head == 0
    assert before.writes == {(1, n) for n in FAST}

    drive(graph, db, "r", rng=random.Random(2), log=folder / "effects.log", max_kills=0)
    starts = Counter((e.step, e.node) for e in read_log(folder / "effects.log")
                     if e.event == "start")  # fmt: skip
    assert starts[(1, "slow")] == 2, "the held branch must run again"
    assert all(starts[(1, n)] == 1 for n in FAST), "a saved branch ran again"
    got = transcript(db, "r")
    assert comparable(got) == comparable(expected)
    assert stored(db, "r").writes == frozenset(), "the commit must fold in the saved branches"


def test_a_tool_call_cut_off_before_its_result_was_recorded_runs_again_alone(
    tmp_path: Path,
) -> None:
    expected = clean_run("tools", tmp_path / "clean")
    folder = tmp_path / "held"
    graph = SHAPES["tools"].write(folder)
    db = folder / "runs.db"
    first = held(folder, ["run", str(graph), "--run-id", "r"])
    assert first.wait(60) == 3, first.stderr.read().decode() if first.stderr else ""
    proc = held(folder, ["resume", "r", "--input", "yes"], CRASHKIT_HOLD_AFTER="c2")
    log = folder / "effects.log"

    def c2_done_siblings_recorded() -> bool:
        finished = {e.key for e in read_log(log) if e.event == "after"}
        return {"c1", "c2", "c3"} <= finished and {"c1", "c3"} <= stored(db, "r").recorded_calls

    wait_until(c2_done_siblings_recorded, "c2 did its work and c1, c3 were recorded", proc=proc)
    kill(proc)
    before = stored(db, "r")
    assert before.recorded_calls == {"c1", "c3"} and before.head == 1

    report = drive(graph, db, "r", rng=random.Random(3), log=log, max_kills=0)
    runs = Counter(e.key for e in read_log(log) if e.event == "before")
    assert runs == {"c1": 1, "c2": 2, "c3": 1, **{f"c{i}": 1 for i in range(4, 11)}}
    assert (report.interrupted_calls, report.window_repeats) == (0, 1)
    got = transcript(db, "r")
    check_messages(got)
    assert comparable(got) == comparable(expected)


BILLED = """
graph: billed
entry: split
models: {model: scripted-gpt, base_url: "%(url)s", max_retries: 0, timeout: 10}
nodes:
  split: {kind: function, call: "crashnodes:gather"}
  writer: {kind: agent, system_message: Write one line about the last message.}
  slow: {kind: function, call: "crashnodes:branch"}
  join: {kind: function, call: "crashnodes:gather", join: all}
  done: {kind: end}
edges:
  - {from: split, to: [writer, slow]}
  - {from: writer, to: join}
  - {from: slow, to: join}
  - {from: join, to: done}
"""

#: What survives the kill → how many requests the model gets in all.
SURVIVORS = {"branch result": 1, "journaled answer": 1, "cached answer": 1, "nothing": 2}


@pytest.mark.parametrize("survivor", list(SURVIVORS))
def test_an_answer_received_before_a_crash_is_not_paid_for_again(
    tmp_path: Path, survivor: str
) -> None:
    with ModelServer(script=lambda request: f"A line after {len(request.messages)} messages.") \
            as server:  # fmt: skip
        folder = tmp_path / "run"
        folder.mkdir()
        (folder / "crashnodes.py").write_text(NODES)
        graph = folder / "billed.yaml"
        graph.write_text(BILLED % {"url": server.base_url})
        db = folder / "runs.db"
        proc = held(folder, ["run", str(graph), "--run-id", "r"], CRASHKIT_HOLD="slow")
        wait_until(lambda: (1, "writer") in stored(db, "r").writes,
                   "the writer's branch is saved", proc=proc, timeout=60)  # fmt: skip
        kill(proc)
        assert server.requests == 1
        with sqlite3.connect(db) as conn:
            if survivor != "branch result":
                conn.execute("DELETE FROM writes WHERE node='writer'")
            if survivor in ("cached answer", "nothing"):
                conn.execute("DELETE FROM effects WHERE node='writer'")
            if survivor == "nothing":
                conn.execute("DELETE FROM model_cache")
        drive(graph, db, "r", rng=random.Random(4), log=folder / "effects.log", max_kills=0)
        assert server.requests == SURVIVORS[survivor]
    got = transcript(db, "r")
    assert got["status"] == "completed"
    line = [m for m in got["messages"] if m[1] == "writer"]
    assert [m[4] for m in line] == ["A line after 2 messages."]
    writer = got["usage"]["by_node"]["writer"]  # calls counts cache hits too
    billed = writer["calls"] - writer.get("cached_calls", 0)
    assert (writer["calls"], billed) == (1, 0 if survivor == "cached answer" else 1)
