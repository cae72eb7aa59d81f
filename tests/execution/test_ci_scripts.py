"""The CI scripts: they parse, answer usage errors clearly, and manage the Docker daemon
of one run only (the Postgres and Redis of a run: test_ci_data_services.py).

The daemon tests put a fake ``dockerd`` and ``docker`` (and ``dpkg``/``apt-get`` that
install nothing, and fake Postgres and Redis binaries) first on ``PATH``: they never
reach the machine's real engine or servers.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .ci_fakes import install_data_fakes
from .helpers import process_gone, wait_until

CI = Path(__file__).resolve().parents[2] / ".ci"


@pytest.mark.parametrize("script", ["services.sh", "docker-image.sh", "tests.sh", "run"])
def test_script_parses(script: str) -> None:
    assert shutil.which("bash")
    check = subprocess.run(["bash", "-n", str(CI / script)], capture_output=True, text=True,
                           check=False)  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_services_usage_and_status() -> None:
    usage = subprocess.run(["bash", str(CI / "services.sh"), "dance"], capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert usage.returncode == 2 and "usage:" in usage.stderr
    status = subprocess.run(["bash", str(CI / "services.sh"), "status"], capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert status.returncode == 0
    assert "bwrap:" in status.stdout and "docker engine:" in status.stdout


def test_sourcing_services_defines_functions_without_running_them() -> None:
    out = subprocess.run(["bash", "-c", f"source {CI / 'services.sh'} && type services_start "
                          "services_stop services_status >/dev/null && echo defined"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert out.stdout.strip() == "defined", out.stderr


# -- the daemon of one run -------------------------------------------------------------

# FAKE_DOCKERD: ready (answers at once), silent (runs, never answers), crash (exits).
_FAKE_DOCKERD = """#!{python}
import os, signal, sys, time
from pathlib import Path

state = Path(os.environ["FAKE_DOCKER_STATE"])
mode = os.environ.get("FAKE_DOCKERD", "ready")
with open(state / "dockerd.pids", "a") as pids:
    pids.write(f"{{os.getpid()}}\\n")
print(f"fake dockerd {{os.getpid()}} starting ({{mode}})", flush=True)
if mode == "crash":
    print("failed to start daemon: the fake was told to fail", file=sys.stderr, flush=True)
    sys.exit(1)


def stop(*_):
    if (state / "ready").exists() and (state / "ready").read_text() == str(os.getpid()):
        (state / "ready").unlink()
    print("fake dockerd stopping", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
if mode == "ready":
    (state / "ready").write_text(str(os.getpid()))
else:
    print("waiting for something that never comes", flush=True)
while True:
    time.sleep(0.05)
"""
# `docker info` succeeds while the fake daemon that wrote `ready` runs.
_FAKE_DOCKER = """#!{python}
import os, sys
from pathlib import Path

ready = Path(os.environ["FAKE_DOCKER_STATE"]) / "ready"
try:
    stat = Path(f"/proc/{{int(ready.read_text())}}/stat").read_text()
except (OSError, ValueError):
    sys.exit(1)
running = stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
sys.exit(0 if sys.argv[1:2] == ["info"] and running else 1)
"""
_FAKE_DPKG = "#!/bin/sh\nexit 0\n"
_FAKE_APT = "#!/bin/sh\necho 'apt-get must not run in this test' >&2\nexit 1\n"


@dataclass
class Machine:
    """A fake Docker installation and the environment of one CI run on it."""

    bin: Path
    state: Path
    root: Path
    #: the fake Postgres and Redis binaries (left off PATH by ``real_data=True``)
    data_bin: Path | None = None

    def env(self, run: str | None, *, real_data: bool = False, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GRAPHFLOW_", "DOCKER_", "FAKE_"))}  # fmt: skip
        path = [str(self.bin), env.get("PATH", os.defpath)]
        if self.data_bin is not None and not real_data:
            path.insert(0, str(self.data_bin))
            env.update(GRAPHFLOW_PG_BIN=str(self.data_bin), GRAPHFLOW_PG_TMP=str(self.root),
                       GRAPHFLOW_PG_USER=pwd.getpwuid(os.geteuid()).pw_name)  # fmt: skip
        env.update(PATH=os.pathsep.join(path), FAKE_DOCKER_STATE=str(self.state),
                   GRAPHFLOW_DOCKERD_WAIT="3")  # fmt: skip
        env.update(extra)
        if run is not None:
            env["GRAPHFLOW_CI_RUN_DIR"] = str(self.root / run)
        return env

    def services(self, command: str, run: str | None, *, real_data: bool = False,
                 **extra: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run(["bash", str(CI / "services.sh"), command],
                              env=self.env(run, real_data=real_data, **extra),
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    def daemons(self) -> list[int]:
        """Pids of every fake dockerd started so far."""
        path = self.state / "dockerd.pids"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def pidfile(self, run: str) -> Path:
        return self.root / run / "dockerd.pid"

    def servers(self, kind: str) -> list[int]:
        """Pids of every fake ``postgres`` or ``redis`` started so far."""
        path = self.state / f"{kind}.pids"
        return [int(line) for line in path.read_text().split()] if path.exists() else []


def _real_dockerds() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv0 = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if Path(argv0.decode(errors="replace")).name == "dockerd":
                found.add(int(entry.name))
    return found


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    fake = Machine(tmp_path / "bin", tmp_path / "state", tmp_path / "runs", tmp_path / "databin")
    for folder in (fake.bin, fake.state, fake.root, fake.data_bin):
        folder.mkdir()
    install_data_fakes(fake.data_bin)
    for name, text in {"dockerd": _FAKE_DOCKERD, "docker": _FAKE_DOCKER, "dpkg": _FAKE_DPKG,
                       "apt-get": _FAKE_APT}.items():  # fmt: skip
        path = fake.bin / name
        path.write_text(text.format(python=sys.executable))
        path.chmod(0o755)
    real = _real_dockerds()
    try:
        yield fake
    finally:
        for pid in [*fake.daemons(), *fake.servers("postgres"), *fake.servers("redis")]:
            if not process_gone(pid):
                os.kill(pid, signal.SIGKILL)
    # The machine's own engine (if any) is untouched.
    assert all(not process_gone(pid) for pid in real - set(fake.daemons()))


def test_start_records_the_daemon_it_started_and_stop_ends_it(machine: Machine) -> None:
    started = machine.services("start", "a")
    assert started.returncode == 0, started.stderr
    (daemon,) = machine.daemons()
    assert machine.pidfile("a").read_text().split()[0] == str(daemon)
    assert "ready" in started.stderr and not process_gone(daemon)
    stopped = machine.services("stop", "a")
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopping dockerd (pid {daemon})" in stopped.stderr
    assert wait_until(lambda: process_gone(daemon))
    assert not machine.pidfile("a").exists()


def test_a_run_that_found_an_engine_running_records_nothing_and_stops_nothing(
    machine: Machine,
) -> None:
    assert machine.services("start", "first").returncode == 0
    (engine,) = machine.daemons()
    found = machine.services("start", "second")
    assert found.returncode == 0 and "already running" in found.stderr, found.stderr
    assert machine.daemons() == [engine], "a second daemon was started"
    assert not (machine.root / "second").exists() or not machine.pidfile("second").exists()
    stopped = machine.services("stop", "second")
    assert stopped.returncode == 0 and "no dockerd started by this run" in stopped.stderr
    assert not process_gone(engine), "a run stopped a daemon it did not start"
    # The run that started it still stops it.
    assert machine.services("stop", "first").returncode == 0
    assert wait_until(lambda: process_gone(engine))


def test_stop_without_a_run_dir_stops_nothing(machine: Machine) -> None:
    assert machine.services("start", "a").returncode == 0
    (daemon,) = machine.daemons()
    stopped = machine.services("stop", None)
    assert stopped.returncode == 0 and "GRAPHFLOW_CI_RUN_DIR is not set" in stopped.stderr
    assert not process_gone(daemon)


def test_start_without_a_run_dir_makes_one_and_says_how_to_stop(machine: Machine) -> None:
    started = machine.services("start", None, TMPDIR=str(machine.root))
    assert started.returncode == 0, started.stderr
    (daemon,) = machine.daemons()
    hint = next(line for line in started.stderr.splitlines() if "to stop these services" in line)
    run_dir = hint.split("GRAPHFLOW_CI_RUN_DIR=", 1)[1].split()[0]
    assert Path(run_dir).parent == machine.root
    assert (Path(run_dir) / "dockerd.pid").read_text().split()[0] == str(daemon)


def test_a_pid_reused_by_another_process_is_not_stopped(machine: Machine) -> None:
    assert machine.services("start", "a").returncode == 0
    (daemon,) = machine.daemons()
    os.kill(daemon, signal.SIGKILL)
    assert wait_until(lambda: process_gone(daemon))
    # Another process now holds the recorded pid (simulated: the pid file names it).
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        started_at = machine.pidfile("a").read_text().split()[1]
        machine.pidfile("a").write_text(f"{other.pid} {started_at}\n")
        stopped = machine.services("stop", "a")
        assert stopped.returncode == 0 and "already exited" in stopped.stderr, stopped.stderr
        assert other.poll() is None, "stop killed a process that merely reused the pid"
        assert not machine.pidfile("a").exists()
    finally:
        other.kill()
        other.wait()


def test_a_daemon_that_is_not_ready_in_time_is_stopped_and_its_log_shown(
    machine: Machine,
) -> None:
    started = machine.services("start", "a", FAKE_DOCKERD="silent", GRAPHFLOW_DOCKERD_WAIT="1")
    assert started.returncode == 1
    (daemon,) = machine.daemons()
    assert "not ready after 1s" in started.stderr
    assert "waiting for something that never comes" in started.stderr  # the log's tail
    assert wait_until(lambda: process_gone(daemon)), "the daemon that was not ready still runs"
    assert not machine.pidfile("a").exists()


def test_a_daemon_that_exits_at_start_fails_the_start_with_its_log(machine: Machine) -> None:
    started = machine.services("start", "a", FAKE_DOCKERD="crash")
    assert started.returncode == 1
    assert "dockerd exited before it was ready" in started.stderr
    assert "failed to start daemon: the fake was told to fail" in started.stderr
    assert not machine.pidfile("a").exists()


# -- .ci/run and .ci/tests.sh ----------------------------------------------------------


def test_ci_run_sets_its_trap_before_starting_services() -> None:
    lines = (CI / "run").read_text().splitlines()
    code = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    trap = next(i for i, line in enumerate(code) if line.startswith("trap "))
    start = next(i for i, line in enumerate(code) if "services.sh start" in line)
    run_dir = next(i for i, line in enumerate(code) if "mktemp" in line)
    assert run_dir < trap < start, "the daemon would be left running if `start` failed"
    assert "services.sh stop" in code[trap]
    assert code[-1] == "bash .ci/tests.sh", "the tests are not the last step"


@pytest.mark.parametrize(("pytest_code", "ci_code"), [(0, 0), (1, 1), (2, 2), (5, 1)])
def test_ci_tests_fail_when_pytest_fails_or_collects_nothing(tmp_path: Path, pytest_code: int,
                                                             ci_code: int) -> None:  # fmt: skip
    fake = tmp_path / "pytest"
    fake.write_text(f'#!/bin/sh\necho "pytest $*" > "{tmp_path}/args"\nexit {pytest_code}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", str(CI / "tests.sh"), "-q"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == ci_code, done.stderr
    assert (tmp_path / "args").read_text() == "pytest -q\n"
    if pytest_code == 5:
        assert "collected no tests" in done.stderr


def test_ci_tests_fail_when_pytest_hangs(tmp_path: Path) -> None:
    fake = tmp_path / "pytest"
    fake.write_text("#!/bin/sh\nexec sleep 300\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}",
           "GRAPHFLOW_CI_TEST_TIMEOUT": "1"}  # fmt: skip
    done = subprocess.run(["bash", str(CI / "tests.sh")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 124 and "did not finish within 1s" in done.stderr
