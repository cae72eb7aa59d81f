"""The ``docker`` executor: code runs in a container, one container per run.

The container is created on the first execution of a run and reused by the next ones
(``docker exec``): the work dir is bind-mounted at its own path, the network is
``none``, memory and the number of processes are limited, every capability is dropped,
privilege escalation is disabled, the root file system is read-only and ``/tmp`` is a
small tmpfs; nothing else of the host is mounted (no Docker or other host sockets).
Code runs as the user running graphflow, so files it writes in the work dir belong to
that user — except when that user is root: then code runs as ``nobody`` (65534), and
the work dir and the files graphflow saves for the code are given to ``nobody``. The
environment is the allow-list of :mod:`graphflow.execution.env`.

Each execution runs under a tiny in-container supervisor that puts the code in its own
process group, kills the group at the deadline and reaps whatever the code left
running. A host-side backstop kills every process in the container if the supervisor
itself does not return in time. :meth:`DockerExecutor.close` removes the container;
containers left behind by a crashed process are removed the next time a docker
executor starts on the same machine (see :mod:`graphflow.execution.dockerhost`).
Executions in one container are serialised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphflow.errors import ExecutionError
from graphflow.execution.base import BlockExecutor
from graphflow.execution.code_result import TIMEOUT_EXIT_CODE
from graphflow.execution.codeblocks import RUNNABLE_LANGUAGES
from graphflow.execution.dockerhost import (
    DEFAULT_IMAGE,
    LABEL,
    docker_client,
    ensure_image,
    owner_labels,
    remove_stale_containers,
)
from graphflow.execution.env import check_pass_env, scrub_environment
from graphflow.execution.process import OutputBuffer
from graphflow.execution.sandbox import parse_size
from graphflow.execution.sandbox_view import code_user

__all__ = ["DockerExecutor"]

# PID 1 of the container: waits forever and reaps orphans (so killed processes vanish).
_KEEPER = """import os, signal
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
while True:
    signal.sigtimedwait({signal.SIGCHLD}, 3600)
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if not pid:
            break
"""
# Runs one command in its own process group with a deadline; always kills the group.
_SUPERVISOR = """import os, signal, subprocess, sys
proc = subprocess.Popen(sys.argv[2:], start_new_session=True)
try:
    code = proc.wait(float(sys.argv[1]))
except subprocess.TimeoutExpired:
    code = 124
finally:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
sys.exit(code if code >= 0 else 128 - code)
"""
_KILL_ALL = ["python3", "-c", "import os; os.kill(-1, 9)"]
_BACKSTOP_GRACE = 5.0


class DockerExecutor(BlockExecutor):
    """Runs code blocks in a Docker container (see the module docstring).

    Args:
        image: the image (default ``GRAPHFLOW_DOCKER_IMAGE`` or ``graphflow-python:local``);
            it needs ``python3`` and ``sh``.
        run_id: the run the container belongs to (a label; a resumed run finds it).
        memory: memory limit, e.g. ``"512m"``.
        pids_limit: the most processes the container may hold.
        cpus: CPU share, e.g. ``1.5`` (``None``: no limit).
        tmp_size: size of the tmpfs mounted on ``/tmp``.
        env: extra environment variables for the code (set as given).
        pass_env: names of graphflow's environment variables to pass to the code (model
            keys and ``OAI_CONFIG_LIST`` are refused).
        pull: try ``docker pull`` when the image is missing.
        client: a ``docker.DockerClient`` to use (default: from the environment).
        languages: the languages this executor accepts.

    Raises:
        ExecutorUnavailable: the SDK is missing, no engine answers, or the image is
            missing and cannot be pulled (the message says how to build it).

    Example:
        >>> executor = DockerExecutor(run_id="r1")  # doctest: +SKIP
        >>> executor.close()  # doctest: +SKIP
    """

    name = "docker"

    def __init__(
        self,
        *,
        image: str | None = None,
        run_id: str | None = None,
        memory: str | int = "512m",
        pids_limit: int = 256,
        cpus: float | None = None,
        tmp_size: str = "64m",
        env: Mapping[str, str] | None = None,
        pass_env: Sequence[str] = (),
        pull: bool = True,
        client: Any = None,
        languages: Sequence[str] = RUNNABLE_LANGUAGES,
    ) -> None:
        super().__init__(languages=languages)
        self.image = image or os.environ.get("GRAPHFLOW_DOCKER_IMAGE") or DEFAULT_IMAGE
        self.run_id = run_id or f"adhoc-{uuid.uuid4().hex[:12]}"
        self.memory = parse_size(memory)
        self.pids_limit = pids_limit
        self.cpus = cpus
        self.tmp_size = tmp_size
        self.extra_env = dict(env or {})
        self.pass_env = check_pass_env(pass_env)
        self.code_owner = code_user()
        self.client = client or docker_client()
        ensure_image(self.client, self.image, pull=pull)
        self.container: Any = None
        self.work_dir: Path | None = None
        self._lock: asyncio.Lock | None = None

    @staticmethod
    def available() -> bool:
        """Whether a Docker engine answers (the image is checked when one is created)."""
        from graphflow.execution.dockerhost import docker_problem

        return docker_problem() is None

    def command(self, language: str, path: Path) -> list[str]:
        if language == "python":
            return ["python3", "-u", str(path)]
        if language == "bash":
            return ["bash", str(path)]
        return ["sh", str(path)]

    # -- the container ---------------------------------------------------------------

    def _user(self) -> str:
        uid, gid = self.code_owner or (os.getuid(), os.getgid())
        return f"{uid}:{gid}"

    def _find_own(self, work_dir: Path) -> Any:
        """The running container this process made earlier for this run, if any."""
        labels = owner_labels(self.run_id, str(work_dir))
        filters = {"label": [f"{LABEL}=docker", f"graphflow.run={self.run_id}",
                             f"graphflow.pid={labels['graphflow.pid']}"]}  # fmt: skip
        for container in self.client.containers.list(all=True, filters=filters):
            same = (container.labels.get("graphflow.work_dir") == str(work_dir)
                    and container.labels.get("graphflow.host") == labels["graphflow.host"])  # fmt: skip
            if same and container.status == "running":
                return container
            with contextlib.suppress(Exception):
                container.remove(force=True)
        return None

    def _start(self, work_dir: Path) -> Any:
        remove_stale_containers(self.client, run_id=self.run_id)
        found = self._find_own(work_dir)
        if found is not None:
            return found
        options: dict[str, Any] = {}
        if self.cpus:
            options["nano_cpus"] = int(self.cpus * 1e9)
        try:
            return self.client.containers.run(
                self.image, ["python3", "-c", _KEEPER], detach=True,
                name=f"graphflow-{self.run_id[:40]}-{uuid.uuid4().hex[:6]}".replace(":", "-"),
                labels=owner_labels(self.run_id, str(work_dir)),
                network_mode="none", cap_drop=["ALL"], security_opt=["no-new-privileges"],
                read_only=True, tmpfs={"/tmp": f"rw,nosuid,nodev,size={self.tmp_size}"},
                mem_limit=self.memory, memswap_limit=self.memory, pids_limit=self.pids_limit,
                volumes={str(work_dir): {"bind": str(work_dir), "mode": "rw"}},
                working_dir=str(work_dir), user=self._user(),
                environment={"HOME": str(work_dir), "LANG": "C.UTF-8"}, **options,
            )  # fmt: skip
        except Exception as exc:
            raise ExecutionError(
                f"the Docker engine could not start a container from {self.image!r}: {exc}"
            ) from None

    def _container_for(self, work_dir: Path) -> Any:
        if self.container is not None and self.work_dir == work_dir:
            with contextlib.suppress(Exception):
                self.container.reload()
                if self.container.status == "running":
                    return self.container
        self._remove()
        self.container = self._start(work_dir)
        self.work_dir = work_dir
        return self.container

    # -- running ---------------------------------------------------------------------

    def _exec(self, container: Any, argv: list[str], work_dir: Path, env: dict[str, str],
              buffer: OutputBuffer) -> int:  # fmt: skip
        api = self.client.api
        exec_id = api.exec_create(container.id, argv, workdir=str(work_dir), environment=env,
                                  user=self._user())["Id"]  # fmt: skip
        for chunk in api.exec_start(exec_id, stream=True):
            buffer.feed(chunk)
        for _ in range(50):  # the exit code can lag the end of the stream briefly
            code = api.exec_inspect(exec_id).get("ExitCode")
            if code is not None:
                return int(code)
            time.sleep(0.02)
        return -1

    def _kill_all(self, container: Any) -> None:
        try:
            api = self.client.api
            api.exec_start(api.exec_create(container.id, _KILL_ALL, user=self._user())["Id"])
        except Exception:
            with contextlib.suppress(Exception):
                container.kill()
            self.container = None

    async def execute(
        self, argv: list[str], work_dir: Path, timeout: float, buffer: OutputBuffer
    ) -> tuple[int, bool]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            container = await asyncio.to_thread(self._container_for, work_dir)
            env = scrub_environment(work_dir, extra=self.extra_env, pass_env=self.pass_env,
                                    path="/usr/local/bin:/usr/bin:/bin")  # fmt: skip
            wrapped = ["python3", "-I", "-S", "-c", _SUPERVISOR, f"{timeout:.3f}", *argv]
            started = time.perf_counter()
            job = asyncio.ensure_future(asyncio.to_thread(self._exec, container, wrapped,
                                                          work_dir, env, buffer))  # fmt: skip
            done, _ = await asyncio.wait({job}, timeout=timeout + _BACKSTOP_GRACE)
            if not done:  # the supervisor did not return: kill everything in the container
                await asyncio.to_thread(self._kill_all, container)
                await asyncio.wait({job}, timeout=_BACKSTOP_GRACE)
                if not job.done():
                    job.cancel()
                return TIMEOUT_EXIT_CODE, True
            code = job.result()
            elapsed = time.perf_counter() - started
            timed_out = code == TIMEOUT_EXIT_CODE and elapsed >= timeout * 0.98
            return code, timed_out

    # -- cleanup ---------------------------------------------------------------------

    def _remove(self) -> None:
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.remove(force=True)
        self.container = None
        self.work_dir = None

    def close(self) -> None:
        """Remove the run's container (safe to call more than once)."""
        self._remove()
