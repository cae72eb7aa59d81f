"""One writer per run, under pressure: a resume attempted while another process is in
the middle of a step is refused without touching the run; once that process is killed,
the run resumes at once; two people answering the same checkpoint at the same moment
get exactly one answer recorded."""

from __future__ import annotations

import random
import signal
from pathlib import Path

from graphflow import Store

from .crashkit import ATTEMPT_ENV, LOG_ENV, cli, drive, kill, wait_until
from .evidence import comparable, read_log, stored, transcript
from .shapes import SHAPES


def test_a_resume_while_another_process_is_mid_step_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    clean = tmp_path / "clean"
    graph = SHAPES["fanout"].write(clean)
    drive(graph, clean / "runs.db", "c", rng=random.Random(1), log=clean / "effects.log",
          max_kills=0)  # fmt: skip
    expected = transcript(clean / "runs.db", "c")

    folder = tmp_path / "busy"
    graph = SHAPES["fanout"].write(folder)
    db, log = folder / "runs.db", folder / "effects.log"
    common = ["--db", str(db), "--quiet", "--no-interactive"]
    holder = cli("run", str(graph), "--run-id", "r", *common, cwd=folder,
                 env={LOG_ENV: str(log), ATTEMPT_ENV: "0", "CRASHKIT_HOLD": "slow"})  # fmt: skip
    wait_until(lambda: len(stored(db, "r").writes) == 3, "step 1 is half done", proc=holder)
    before = stored(db, "r")

    intruder = cli("resume", "r", *common, cwd=folder,
                   env={LOG_ENV: str(log), ATTEMPT_ENV: "1"})  # fmt: skip
    assert intruder.wait(60) == 5
    err = intruder.stderr.read().decode() if intruder.stderr else ""
    assert f"is in use by process {holder.pid}" in err and "Traceback" not in err
    assert stored(db, "r") == before, "a refused resume changed the run"
    assert not [e for e in read_log(log) if e.attempt == 1], "a refused resume ran nodes"
    assert holder.poll() is None, "the refused resume disturbed the running process"

    kill(holder)
    assert holder.returncode == -signal.SIGKILL
    drive(graph, db, "r", rng=random.Random(2), log=log, max_kills=0, first_attempt=2)
    assert comparable(transcript(db, "r")) == comparable(expected)


RACE_GRAPH = """
graph: race
entry: ask
nodes:
  ask: {kind: human, prompt: "Who are you?"}
  greet: {kind: function, call: "racemod:greet"}
  done: {kind: end}
edges:
  - {from: ask, to: greet}
  - {from: greet, to: done}
"""
RACE_MODULE = """
import time


def greet(state):
    time.sleep(0.4)  # long enough for the other answer to arrive while this one runs
    return f"hello {state.last.content}"
"""


def test_two_answers_to_one_checkpoint_at_once_record_exactly_one(tmp_path: Path) -> None:
    (tmp_path / "race.yaml").write_text(RACE_GRAPH)
    (tmp_path / "racemod.py").write_text(RACE_MODULE)
    outcomes = set()
    for trial in range(3):
        db = str(tmp_path / f"race{trial}.db")
        first = cli("run", "race.yaml", "--run-id", "r", "--db", db, "--quiet",
                    "--no-interactive", cwd=tmp_path)  # fmt: skip
        assert first.wait(60) == 3
        procs = {who: cli("resume", "r", "--input", who, "--db", db, "--quiet",
                          "--no-interactive", cwd=tmp_path) for who in ("ann", "bob")}  # fmt: skip
        codes = {who: proc.wait(60) for who, proc in procs.items()}
        errors = {
            who: proc.stderr.read().decode() if proc.stderr else "" for who, proc in procs.items()
        }
        winners = [who for who, code in codes.items() if code == 0]
        assert len(winners) == 1, (codes, errors)
        loser = "bob" if winners == ["ann"] else "ann"
        assert codes[loser] in (2, 5), errors[loser]
        assert "Traceback" not in errors[loser]
        outcomes.add(codes[loser])
        store = Store(db)
        assert [m.content for m in store.load_messages("r")] == [winners[0], f"hello {winners[0]}"]
        assert store.get_run("r").status == "completed"
        store.close()
    print(f"\nthe losing answer was refused with exit codes {sorted(outcomes)}")
