"""The broker restarted mid-run, a worker on an older version of a graph, and the same
run delivered many times at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.distributed import enqueue
from graphflow.testing.redis import RedisServer, redis_server_path

from .workerkit import (
    Worker,
    chain_graph,
    effects,
    graphflow,
    node_env,
    repeated,
    run_record,
    wait_status,
    wait_until,
    workers,
)


@pytest.fixture
def own_redis(tmp_path: Path, broker: str) -> RedisServer:
    """A Redis server of this test's own, to kill and restart (append-only file on)."""
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: the broker restart needs one to restart")
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.close()


def test_a_broker_restart_mid_run_does_not_stop_the_run(tmp_path: Path,
                                                        own_redis: RedisServer,
                                                        sqlite_url: str) -> None:  # fmt: skip
    graph = chain_graph(tmp_path, steps=4, loop=12)
    env = node_env(tmp_path, WNODES_SLEEP="0.08")
    with workers(Worker(sqlite_url, own_redis.url, cwd=tmp_path, env=env)) as running:
        running[0].wait_ready()
        submitted = graphflow("submit", str(graph), "--db", sqlite_url, "--broker",
                              own_redis.url, "--run-id", "b", cwd=tmp_path)  # fmt: skip
        assert submitted.returncode == 0, submitted.stderr
        wait_until(lambda: len(effects(tmp_path)) >= 3, "the run is under way", timeout=30)
        own_redis.kill()
        assert not own_redis.ping()
        wait_until(lambda: len(effects(tmp_path)) >= 8, "the run goes on without the broker")
        own_redis.restart()
        wait_status(sqlite_url, "b", "completed", timeout=40, running=running)
        # the worker is connected again: a new run goes through
        again = graphflow("submit", str(graph), "--db", sqlite_url, "--broker", own_redis.url,
                          "--run-id", "b2", cwd=tmp_path)  # fmt: skip
        assert again.returncode == 0, again.stderr
        wait_status(sqlite_url, "b2", "completed", timeout=40, running=running)
    for run_id in ("b", "b2"):
        assert repeated(effects(tmp_path, run_id)) == {}
        assert len(effects(tmp_path, run_id)) == 4 + 12 + 1


def test_a_broker_down_at_submit_is_a_clear_error(tmp_path: Path, sqlite_url: str) -> None:
    graph = chain_graph(tmp_path, steps=2)
    server = RedisServer(tmp_path / "redis")  # a free port where nothing listens
    done = graphflow("submit", str(graph), "--db", sqlite_url, "--broker", server.url,
                     "--run-id", "nb", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert "cannot be reached" in done.stderr and "graphflow resume nb --broker" in done.stderr
    assert "Traceback" not in done.stderr
    assert run_record(sqlite_url, "nb").status == "ready"


def test_a_worker_on_an_older_graph_version_refuses_the_run(tmp_path: Path, broker: str,
                                                            sqlite_url: str) -> None:  # fmt: skip
    new = chain_graph(tmp_path, name="chain", steps=4)
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    old = chain_graph(old_dir, name="chain", steps=3)  # the same graph, one node fewer
    env = node_env(tmp_path)
    with workers(Worker(sqlite_url, broker, cwd=tmp_path, env=env,
                        extra=("--graph", str(old)))) as running:  # fmt: skip
        running[0].wait_ready()
        done = graphflow("submit", str(new), "--db", sqlite_url, "--broker", broker,
                         "--run-id", "v", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        refused = wait_status(sqlite_url, "v", "failed", running=running)
        assert refused.reason.startswith("refused by worker ")
        assert "topology" in refused.reason and refused.topology in refused.reason
        assert effects(tmp_path) == []  # nothing ran
        shown = graphflow("show", "v", "--db", sqlite_url, cwd=tmp_path)
        assert "refused by worker" in shown.stdout + shown.stderr
        # a worker serving the run's own version continues it
        current = Worker(sqlite_url, broker, cwd=tmp_path, env=env)
        running.append(current)
        running[0].kill()
        current.wait_ready()
        resumed = graphflow("resume", "v", "--db", sqlite_url, "--broker", broker, cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        wait_status(sqlite_url, "v", "completed", running=running)
    assert [node for node, _, _ in effects(tmp_path)] == ["s0", "s1", "s2", "s3"]


def test_the_same_run_delivered_many_times_runs_each_step_once(tmp_path: Path, broker: str,
                                                               sqlite_url: str) -> None:  # fmt: skip
    graph = chain_graph(tmp_path, steps=8, human=True)
    env = node_env(tmp_path, WNODES_SLEEP="0.02")
    with workers(Worker(sqlite_url, broker, cwd=tmp_path, env=env, concurrency=2),
                 Worker(sqlite_url, broker, cwd=tmp_path, env=env)) as running:
        for worker in running:
            worker.wait_ready()
        done = graphflow("submit", str(graph), "--db", sqlite_url, "--broker", broker,
                         "--run-id", "d", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        for _ in range(4):  # duplicates: at-least-once delivery, or impatient people
            enqueue(broker, "d")
        wait_status(sqlite_url, "d", "waiting", running=running)
        for _ in range(3):  # the continuation, more than once; the answer once
            enqueue(broker, "d")
        answered = graphflow("resume", "d", "--input", "go", "--db", sqlite_url, "--broker",
                             broker, cwd=tmp_path)  # fmt: skip
        assert answered.returncode == 0, answered.stderr
        wait_status(sqlite_url, "d", "completed", running=running)
    log = effects(tmp_path)
    assert repeated(log) == {}
    assert len(log) == 9
