"""A crash campaign on workers: two workers advance runs while the test SIGKILLs one (with
its pool) at random moments and starts a replacement; a person's answer comes from
another process. Every run must end with the transcript of a clean run, and a tool call
may run again only if it was the step in flight of a killed worker.

CI runs a few trials (GRAPHFLOW_WORKER_CRASH_TRIALS, default 2); run many on demand (see
docs/reliability.md): ``GRAPHFLOW_WORKER_CRASH_TRIALS=30 pytest -s
tests/distributed/test_worker_crashes.py``.
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from pathlib import Path

from .workerkit import (
    Worker,
    chain_graph,
    effects,
    graphflow,
    node_env,
    run_here,
    run_record,
    transcript,
    workers,
)


def _holder(store_url: str, run_id: str, running: list[Worker]) -> Worker | None:
    """The worker whose pool process holds the run's lease, if any."""
    record = run_record(store_url, run_id)
    if record is None or not record.lease_owner or record.status != "running":
        return None
    try:
        pgid = os.getpgid(int(record.lease_owner.split(":")[1]))
    except (ProcessLookupError, ValueError, IndexError):
        return None
    return next((w for w in running if w.pgid == pgid and w.proc.poll() is None), None)


def check_effects(log: list[tuple[str, int, int]], killed: set[int]) -> int:
    """Every effect done more than once was, each time but the last, the step in flight
    of a killed worker (its last effect); returns how many were repeated."""
    last_of: dict[int, tuple[str, int]] = {}
    for node, visit, pgid in log:
        last_of[pgid] = (node, visit)
    done: dict[tuple[str, int], list[int]] = defaultdict(list)
    for node, visit, pgid in log:
        done[node, visit].append(pgid)
    repeats = 0
    for key, pgids in done.items():
        for pgid in pgids[:-1]:
            assert pgid in killed and last_of[pgid] == key, (
                f"effect {key} repeated by worker {pgid}, which was not killed in it: {pgids}")
            repeats += 1
    return repeats


def test_workers_killed_at_random_moments(tmp_path: Path, broker: str, sqlite_url: str) -> None:
    trials = int(os.environ.get("GRAPHFLOW_WORKER_CRASH_TRIALS", "2"))
    rng = random.Random(int(os.environ.get("GRAPHFLOW_CRASH_SEED", "11")))
    graph = chain_graph(tmp_path, steps=6, loop=8, human=True)
    env = node_env(tmp_path, WNODES_SLEEP="0.05")
    clean = tmp_path / "clean"
    clean.mkdir()
    chain_graph(clean, steps=6, loop=8, human=True)
    expected = run_here(clean / "chain.yaml", str(clean / "runs.db"), "c", env=node_env(clean),
                        answer="yes")  # fmt: skip
    kills = repeats = 0
    killed: set[int] = set()
    started = time.monotonic()

    def spawn() -> Worker:
        return Worker(sqlite_url, broker, cwd=tmp_path, env=env)

    with workers(spawn(), spawn()) as running:
        for worker in running:
            worker.wait_ready()
        for trial in range(trials):
            run_id = f"t{trial}"
            done = graphflow("submit", str(graph), "--db", sqlite_url, "--broker", broker,
                             "--run-id", run_id, cwd=tmp_path)  # fmt: skip
            assert done.returncode == 0, done.stderr
            # kill points by progress (the step the run has reached), not by the clock: a
            # loaded machine must not let a run finish before its kills come due
            plan = sorted(rng.randint(-1, 9) for _ in range(rng.randint(1, 2)))
            begun, answered = time.monotonic(), False
            while True:
                record = run_record(sqlite_url, run_id)
                if record.status == "completed":
                    break
                if record.status == "waiting" and not answered:
                    out = graphflow("resume", run_id, "--input", "yes", "--db", sqlite_url,
                                    "--broker", broker, cwd=tmp_path)  # fmt: skip
                    assert out.returncode == 0, out.stderr
                    answered = True
                if plan and record.last_step >= plan[0]:
                    plan.pop(0)
                    live = [w for w in running if w.proc.poll() is None]
                    victim = _holder(sqlite_url, run_id, live)
                    if victim is None or rng.random() < 0.2:
                        victim = rng.choice(live)
                    victim.kill()
                    killed.add(victim.pgid)
                    kills += 1
                    running.append(spawn())
                assert record.status in ("ready", "running", "waiting"), record
                assert time.monotonic() - begun < 60, f"trial {trial} did not finish"
                time.sleep(0.02)
            got = transcript(sqlite_url, run_id)
            assert got == expected, f"trial {trial}"
            repeats += check_effects(effects(tmp_path, run_id), killed)
    took = time.monotonic() - started
    assert kills >= trials
    print(f"{trials} trials, {kills} worker kills, {repeats} in-flight steps run again, "
          f"transcripts identical, {took:.1f} s")


def test_the_effect_check_refuses_a_repeat_by_a_live_worker() -> None:
    check_effects([("s0", 0, 1), ("s1", 0, 1), ("s1", 0, 2)], killed={1})
    try:
        check_effects([("s0", 0, 1), ("s1", 0, 1), ("s0", 0, 2)], killed={1})
    except AssertionError as exc:
        assert "repeated by worker 1" in str(exc)
    else:
        raise AssertionError("a committed step's effect repeated was not seen")
