"""One answer per question (issue finding 4): racing `graphflow resume --input` processes
record exactly one answer per question; the losers exit with code 5 naming the question
they would have answered — never landing on the next question, not even when the same
checkpoint is asked again in a loop. The same through the Python API."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow import Graph
from graphflow.errors import RunNotResumable, StaleAnswer
from graphflow.store import MemoryStore, Store

from .crashkit import cli

TWO_QUESTIONS = """
graph: two
entry: ask1
nodes:
  ask1: {kind: human, prompt: "first?"}
  slow: {kind: function, call: "answermod:slow"}
  ask2: {kind: human, prompt: "second?"}
  done: {kind: end}
edges:
  - {from: ask1, to: slow}
  - {from: slow, to: ask2}
  - {from: ask2, to: done}
"""
LOOP = """
graph: loop
entry: ask
limits: {max_steps: 20}
nodes:
  ask: {kind: human, prompt: "again?"}
  slow: {kind: function, call: "answermod:slow"}
  done: {kind: end}
edges:
  - {from: ask, to: slow}
  - {from: slow, to: ask, when: "visits.ask < 3"}
  - {from: slow, to: done, else: true}
"""
MODULE = """
import os
import time

# a racer that read the run, then is slow to load the graph (imports it), so that it
# takes the lease only after another racer's answer was recorded
time.sleep(float(os.environ.get("IMPORT_DELAY", "0")))


def slow(state):
    time.sleep(float(os.environ.get("SLOW", "1.5")))  # racers arrive while the winner works
"""


def race(folder: Path, db: str, args: list[list[str]],
         delays: tuple[float, ...] = ()) -> list[tuple[int, str]]:  # fmt: skip
    procs = [cli("resume", "r", *a, "--db", db, "--quiet", "--no-interactive", cwd=folder,
                 env={"IMPORT_DELAY": str(delays[i] if i < len(delays) else 0), "SLOW": "0.1"}
                 if delays else None)
             for i, a in enumerate(args)]  # fmt: skip
    out = []
    for proc in procs:
        code = proc.wait(120)
        out.append((code, proc.stderr.read().decode() if proc.stderr else ""))
    return out


def answers_by_question(db: str) -> list[tuple[str, int]]:
    store = Store(db)
    try:
        return [(row["node"] or "", row["step"]) for row in store.message_rows("r")
                if row["role"] == "user"]  # fmt: skip
    finally:
        store.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "two.yaml").write_text(TWO_QUESTIONS)
    (tmp_path / "loop.yaml").write_text(LOOP)
    (tmp_path / "answermod.py").write_text(MODULE)
    return tmp_path


def test_racing_answers_record_one_answer_and_never_reach_the_next_question(folder: Path) -> None:
    for trial in range(3):
        db = str(folder / f"two{trial}.db")
        assert cli("run", "two.yaml", "--run-id", "r", "--db", db, "--quiet",
                   "--no-interactive", cwd=folder).wait(60) == 3  # fmt: skip
        outcomes = race(folder, db, [["--input", f"racer {i}"] for i in range(3)])
        codes = sorted(code for code, _ in outcomes)
        assert codes == [3, 5, 5], outcomes  # one answer lands on ask1; the run waits at ask2
        for code, err in outcomes:
            assert "Traceback" not in err
            if code == 5:
                assert "ask1@0" in err or "not waiting for an answer" in err, err
        assert answers_by_question(db) == [("ask1", 0)]  # exactly one answer, to ask1 only
        store = Store(db)
        record = store.get_run("r")
        assert record.status == "waiting" and record.waiting
        assert record.waiting["nodes"]["ask2"]["id"] == "ask2@2"
        store.close()


def test_racing_answers_to_a_question_asked_again_in_a_loop(folder: Path) -> None:
    """The loser reads the run while ``ask`` waits (step 0) and takes the lease after the
    winner's answer was recorded and ``ask`` asks again (step 2): it must not answer that."""
    for trial in range(2):
        db = str(folder / f"loop{trial}.db")
        assert cli("run", "loop.yaml", "--run-id", "r", "--db", db, "--quiet",
                   "--no-interactive", cwd=folder).wait(60) == 3  # fmt: skip
        (winner, _), (loser, err) = race(folder, db, [["--answer", "ask=first"],
                                                      ["--answer", "ask=second"]],
                                         delays=(1.5, 4.0))  # fmt: skip
        assert (winner, loser) == (3, 5), err
        assert "ask@0" in err and "Traceback" not in err, err
        assert answers_by_question(db) == [("ask", 0)], "the loser answered the next question"
        store = Store(db)
        assert store.get_run("r").waiting["nodes"]["ask"]["id"] == "ask@2"  # type: ignore[index]
        store.close()


def asking_twice() -> Graph:
    g = Graph("api", entry="ask1")
    g.add_node("ask1", kind="human", prompt="first?")
    g.add_node("ask2", kind="human", prompt="second?")
    g.add_edge("ask1", "ask2")
    return g


def test_the_api_refuses_an_answer_to_a_question_answered_already() -> None:
    graph, store = asking_twice().compile(), MemoryStore()
    first = graph.run_sync(store=store)
    assert (first.question_id, first.questions) == ("ask1@0", {"ask1": "ask1@0"})
    second = graph.resume_sync(first.run_id, input="ann", question="ask1@0", store=store)
    assert second.question_id == "ask2@1"
    with pytest.raises(StaleAnswer, match="question ask1@0 was answered already") as info:
        graph.resume_sync(first.run_id, input="bob", question="ask1@0", store=store.handle())
    assert info.value.question == "ask1@0" and isinstance(info.value, RunNotResumable)
    with pytest.raises(StaleAnswer):
        graph.resume_sync(first.run_id, input={"ask1@0": "bob"}, store=store.handle())
    assert [m.content for m in store.load_messages(first.run_id)] == ["ann"]
    done = graph.resume_sync(first.run_id, input={"ask2@1": "carl"}, store=store.handle())
    assert done.status == "completed"
    assert [m.content for m in store.load_messages(first.run_id)] == ["ann", "carl"]
