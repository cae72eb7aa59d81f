"""A worker killed mid-step (SIGKILL to the worker and its pool: a machine lost): its run
is delivered again (late acknowledgement, the broker's visibility timeout) and another
worker continues it from its last committed step. The final transcript is that of an
uninterrupted run and no tool call of a committed step runs twice.

While the first worker still holds the run, the message comes back to the second worker
(the visibility timeout is shorter than the step): it finds the lease held by a live
process and tries again later, instead of running the run twice.
"""

from __future__ import annotations

from pathlib import Path

from .workerkit import (
    Worker,
    chain_graph,
    effects,
    graphflow,
    node_env,
    run_here,
    transcript,
    wait_status,
    wait_until,
    workers,
)


def test_a_killed_worker_s_run_finishes_on_another_worker_exactly_once(
        tmp_path: Path, broker: str, store_url: str) -> None:  # fmt: skip
    graph = chain_graph(tmp_path, steps=6, gate_at=3)
    env = node_env(tmp_path)
    started = tmp_path / "started"
    with workers(Worker(store_url, broker, cwd=tmp_path, env=env)) as running:
        first = running[0].wait_ready()
        done = graphflow("submit", str(graph), "--db", store_url, "--broker", broker,
                         "--run-id", "k", cwd=tmp_path, env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        wait_until(lambda: started.exists() and "s3" in started.read_text(),
                   "the first worker is in step 3", timeout=30)  # fmt: skip
        second = Worker(store_url, broker, cwd=tmp_path, env=env)
        running.append(second)
        second.wait_ready()
        # the message comes back to the second worker while the first holds the run
        wait_until(lambda: "is in use; trying again later" in second.output(),
                   "the second worker finds the run in use", timeout=30)  # fmt: skip
        assert [line.split()[0] for line in started.read_text().splitlines()] == ["s3"]
        first.kill()
        (tmp_path / "gate").touch()
        wait_status(store_url, "k", "completed", timeout=40, running=running)
    log = effects(tmp_path)
    by_node = {node: pgid for node, _, pgid in log}
    assert sorted((node, visit) for node, visit, _ in log) == [(f"s{i}", 0) for i in range(6)]
    assert {by_node[f"s{i}"] for i in range(3)} == {first.pgid}
    assert {by_node[f"s{i}"] for i in range(3, 6)} == {second.pgid}
    # the same graph, uninterrupted, in one process
    clean = tmp_path / "clean"
    clean.mkdir()
    chain_graph(clean, steps=6, gate_at=3)
    (clean / "gate").touch()
    expected = run_here(clean / "chain.yaml", str(clean / "runs.db"), "k", env=node_env(clean))
    assert transcript(store_url, "k") == expected
