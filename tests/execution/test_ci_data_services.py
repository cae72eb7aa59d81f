"""The Postgres cluster and Redis server of one CI run (.ci/services.sh): started on free
loopback ports, named for the tests in the run's services.env (which .ci/tests.sh
sources), stopped by the same run's `stop` and by no other.

Fake ``initdb``/``pg_ctl``/``redis-server``/``redis-cli`` (tests/execution/ci_fakes.py)
stand in for the real ones, except in the last test, which starts the real servers when
they are installed (as root, the cluster runs as the ``postgres`` user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import process_gone, wait_until
from .test_ci_scripts import CI, Machine, machine  # noqa: F401  (the fixture)


def services_env(fake: Machine, run: str) -> dict[str, str]:
    text = (fake.root / run / "services.env").read_text()
    pairs = [line.removeprefix("export ").split("=", 1) for line in text.splitlines() if line]
    return dict(pairs)  # type: ignore[arg-type]


def test_start_names_a_postgres_and_a_redis_of_the_run_and_stop_ends_them(
        machine: Machine) -> None:  # noqa: F811  # fmt: skip
    started = machine.services("start", "a")
    assert started.returncode == 0, started.stderr
    (postgres,), (redis,) = machine.servers("postgres"), machine.servers("redis")
    assert not process_gone(postgres) and not process_gone(redis)
    env = services_env(machine, "a")
    assert env["GRAPHFLOW_TEST_POSTGRES"].startswith("postgresql://postgres@127.0.0.1:")
    assert env["GRAPHFLOW_TEST_REDIS"].startswith("redis://127.0.0.1:")
    assert env["GRAPHFLOW_TEST_REDIS"].endswith("/0")
    cluster = Path((machine.root / "a" / "postgres.dir").read_text().strip())
    assert (cluster / "data" / "PG_VERSION").exists()
    stopped = machine.services("stop", "a")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopping postgres" in stopped.stderr and f"stopping redis (pid {redis})" in stopped.stderr
    assert wait_until(lambda: process_gone(postgres) and process_gone(redis))
    assert not (machine.root / "a" / "services.env").exists()
    assert not cluster.exists()  # the cluster's folder is deleted, its log kept
    assert (machine.root / "a" / "postgres.log").exists()


def test_two_runs_have_their_own_servers_and_stop_only_theirs(machine: Machine) -> None:  # noqa: F811
    assert machine.services("start", "a").returncode == 0
    assert machine.services("start", "b").returncode == 0
    postgres, redis = machine.servers("postgres"), machine.servers("redis")
    assert len(postgres) == 2 and len(redis) == 2
    assert services_env(machine, "a") != services_env(machine, "b")  # other ports
    assert machine.services("stop", "a").returncode == 0
    assert wait_until(lambda: process_gone(postgres[0]) and process_gone(redis[0]))
    assert not process_gone(postgres[1]) and not process_gone(redis[1]), "stopped another run's"
    assert machine.services("stop", "b").returncode == 0
    assert wait_until(lambda: process_gone(postgres[1]) and process_gone(redis[1]))


def test_a_redis_that_exits_at_start_fails_the_start_with_its_log(machine: Machine) -> None:  # noqa: F811
    started = machine.services("start", "a", FAKE_REDIS="crash")
    assert started.returncode == 1
    assert "redis exited before it was ready" in started.stderr
    assert "the fake redis was told to fail" in started.stderr
    # .ci/run's trap then stops what did start
    (postgres,) = machine.servers("postgres")
    assert machine.services("stop", "a").returncode == 0
    assert wait_until(lambda: process_gone(postgres))


def test_a_postgres_that_does_not_start_fails_the_start_with_its_log(machine: Machine) -> None:  # noqa: F811
    started = machine.services("start", "a", FAKE_POSTGRES="crash")
    assert started.returncode == 1
    assert "postgres did not start" in started.stderr
    assert "the fake postgres was told to fail" in started.stderr
    assert machine.servers("redis") == []  # nothing more was started


def test_ci_tests_see_the_services_of_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "services.env").write_text(
        "export GRAPHFLOW_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5999/postgres\n"
        "export GRAPHFLOW_TEST_REDIS=redis://127.0.0.1:6999/0\n")  # fmt: skip
    fake = tmp_path / "pytest"
    fake.write_text(f'#!/bin/sh\necho "$GRAPHFLOW_TEST_POSTGRES $GRAPHFLOW_TEST_REDIS" '
                    f'> "{tmp_path}/seen"\n')  # fmt: skip
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}",
           "GRAPHFLOW_CI_RUN_DIR": str(run_dir)}  # fmt: skip
    done = subprocess.run(["bash", str(CI / "tests.sh")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "seen").read_text().split() == [
        "postgresql://postgres@127.0.0.1:5999/postgres", "redis://127.0.0.1:6999/0"]


def test_the_real_servers_start_answer_and_stop(machine: Machine) -> None:  # noqa: F811
    from graphflow.testing.postgres import find_binaries

    if find_binaries() is None or shutil.which("redis-server") is None:
        pytest.skip("postgresql or redis-server is not installed")
    started = machine.services("start", "real", real_data=True)
    try:
        assert started.returncode == 0, started.stderr
        env = services_env(machine, "real")
        import psycopg

        with psycopg.connect(env["GRAPHFLOW_TEST_POSTGRES"], connect_timeout=10) as conn:
            assert conn.execute("SELECT current_setting('fsync')").fetchone() == ("off",)
        port = env["GRAPHFLOW_TEST_REDIS"].rsplit(":", 1)[1].split("/")[0]
        ping = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", port, "ping"],
                              capture_output=True, text=True, timeout=10, check=False)  # fmt: skip
        assert ping.stdout.strip() == "PONG"
    finally:
        stopped = machine.services("stop", "real", real_data=True)
    assert stopped.returncode == 0, stopped.stderr
    assert not (machine.root / "real" / "postgres.dir").exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(env["GRAPHFLOW_TEST_POSTGRES"], connect_timeout=2)
