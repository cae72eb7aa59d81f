"""The ``sandbox`` executor: each block runs under bubblewrap (``bwrap``).

The sandbox sees only what code needs (the exact view is in
:mod:`graphflow.execution.sandbox_view`): ``/usr`` and the interpreter read-only, a few
``/etc`` files, the work dir read-write, private ``/tmp``, ``/var/tmp`` and ``/run``. It has
no network (a new, empty network namespace: not even the host's 127.0.0.1 or abstract
Unix sockets), no host Unix sockets, no capabilities, a new PID namespace (it cannot see
or signal host processes), and it dies with graphflow. The launcher caps the number of
processes, the address space and CPU time per process and the size of files written;
when graphflow runs as root, code runs as ``nobody``. The environment is the allow-list
of :mod:`graphflow.execution.env`.

Whether bwrap works here is probed once per process by running ``bwrap … true``.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from graphflow.errors import ExecutionError, ExecutorUnavailable
from graphflow.execution.base import BlockExecutor
from graphflow.execution.codeblocks import RUNNABLE_LANGUAGES
from graphflow.execution.env import check_pass_env, scrub_environment
from graphflow.execution.process import OutputBuffer, run_process
from graphflow.execution.sandbox_view import (
    SandboxLimits,
    code_user,
    etc_data,
    launcher_args,
    namespace_args,
    view_args,
)

__all__ = ["SandboxExecutor", "bwrap_problem", "parse_size"]

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(size: str | int) -> int:
    """Bytes in a size such as ``512m``, ``1g``, ``65536``.

    Example:
        >>> parse_size("512m"), parse_size(1024)
        (536870912, 1024)
    """
    if isinstance(size, int):
        return size
    text = str(size).strip().lower().removesuffix("ib").removesuffix("b")
    number, unit = text.rstrip("kmg"), text[len(text.rstrip("kmg")) :]
    try:
        return int(float(number) * _UNITS[unit])
    except (ValueError, KeyError):
        raise ExecutionError(
            f"size {size!r} is not understood; write bytes or a number with k, m or g "
            "(for example 512m)"
        ) from None


@lru_cache(maxsize=4)
def bwrap_problem(bwrap: str = "bwrap") -> str | None:
    """Why the sandbox cannot run here, or ``None`` when it can (probed once, cached).

    Example:
        >>> bwrap_problem("no-such-bwrap-binary")
        "'no-such-bwrap-binary' is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    """
    path = shutil.which(bwrap)
    if path is None:
        return f"{bwrap!r} is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        probe = subprocess.run([path, *namespace_args(), "--ro-bind", "/", "/", "true"],
                               capture_output=True, timeout=20, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if probe.returncode != 0:
        detail = probe.stderr.decode(errors="replace").strip() or f"exit {probe.returncode}"
        return (f"bwrap is installed but cannot create a sandbox here ({detail}); user "
                "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1)")  # fmt: skip
    return None


class SandboxExecutor(BlockExecutor):
    """Runs code blocks inside a bubblewrap sandbox (see the module docstring).

    Args:
        memory: address-space limit per process, default ``"2g"`` (``None``: no limit).
        cpu_seconds: CPU-time limit per process (default: the timeout, rounded up).
        processes: the most processes and threads the code may run at once (default 256;
            ``None``: no limit). Counted per user: when graphflow runs as root, every
            sandbox and container running as ``nobody`` shares it.
        file_size: the largest file the code may write, default ``"1g"``.
        tmp_size: size of each of ``/tmp``, ``/var/tmp`` and ``/run``, default ``"256m"``.
        python: the interpreter for python blocks (default: the one running graphflow;
            its installation is mounted read-only).
        env: extra environment variables for the code (set as given).
        pass_env: names of graphflow's environment variables to pass to the code (model
            keys and ``OAI_CONFIG_LIST`` are refused).
        read_only: further host paths the code may read (mounted read-only).
        bwrap: the bwrap binary.
        languages: the languages this executor accepts.

    Raises:
        ExecutorUnavailable: bwrap is missing or cannot create namespaces here.
        ExecutionError: a size is not understood, or ``pass_env`` names a refused variable.

    Example:
        >>> SandboxExecutor.available() in (True, False)
        True
    """

    name = "sandbox"

    def __init__(
        self,
        *,
        memory: str | int | None = "2g",
        cpu_seconds: int | None = None,
        processes: int | None = 256,
        file_size: str | int | None = "1g",
        tmp_size: str | int = "256m",
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        pass_env: Sequence[str] = (),
        read_only: Sequence[str] = (),
        bwrap: str = "bwrap",
        languages: Sequence[str] = RUNNABLE_LANGUAGES,
    ) -> None:
        super().__init__(languages=languages)
        problem = bwrap_problem(bwrap)
        if problem is not None:
            raise ExecutorUnavailable(f"the sandbox executor is unavailable: {problem}")
        self.bwrap = shutil.which(bwrap) or bwrap
        self.memory = parse_size(memory) if memory is not None else None
        self.cpu_seconds = cpu_seconds
        self.processes = processes
        self.file_size = parse_size(file_size) if file_size is not None else None
        self.tmp_size = parse_size(tmp_size)
        self.python = python or sys.executable
        self.extra_env = dict(env or {})
        self.pass_env = check_pass_env(pass_env)
        self.read_only = tuple(str(Path(p).resolve()) for p in read_only)
        self.code_owner = code_user()

    @staticmethod
    def available() -> bool:
        """Whether bwrap is installed and works on this machine."""
        return bwrap_problem() is None

    def command(self, language: str, path: Path) -> list[str]:
        if language == "python":
            return [self.python, "-u", str(path)]
        if language == "bash" and shutil.which("bash"):
            return ["bash", str(path)]
        return ["sh", str(path)]

    def limits(self, timeout: float) -> SandboxLimits:
        """The per-process limits for an execution with ``timeout`` seconds left."""
        return SandboxLimits(processes=self.processes or 0, memory=self.memory or 0,
                             cpu_seconds=self.cpu_seconds or max(1, math.ceil(timeout)),
                             file_size=self.file_size or 0)  # fmt: skip

    def wrap(self, argv: list[str], work_dir: Path, timeout: float,
             data: Sequence[tuple[int, str]] = ()) -> list[str]:  # fmt: skip
        """The full command line: bwrap, its flags, the launcher, then ``argv``.

        ``data`` pairs a descriptor with an ``/etc`` path whose contents bwrap reads
        from it (see :func:`graphflow.execution.sandbox_view.etc_data`).
        """
        view = view_args(work_dir, python=self.python, read_only=self.read_only,
                         tmp_size=self.tmp_size, data=data)  # fmt: skip
        launcher = launcher_args(self.python, self.code_owner, self.limits(timeout), work_dir)
        return [self.bwrap, *namespace_args(), *view, "--", *launcher, "--", *argv]

    def environment(self, work_dir: Path) -> dict[str, str]:
        """The code's environment: the allow-list, ``pass_env`` and ``env``, with a
        ``PATH`` that leads to the sandbox's interpreter first."""
        path = os.pathsep.join([str(Path(self.python).parent), "/usr/local/bin", "/usr/bin",
                                "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"])  # fmt: skip
        return scrub_environment(work_dir, extra=self.extra_env, pass_env=self.pass_env,
                                 path=path)  # fmt: skip

    async def execute(
        self, argv: list[str], work_dir: Path, timeout: float, buffer: OutputBuffer
    ) -> tuple[int, bool]:
        uid, gid = self.code_owner or (os.getuid(), os.getgid())
        with _data_pipes(etc_data(uid, gid, work_dir)) as data:
            outcome = await run_process(
                self.wrap(argv, work_dir, timeout, data), cwd=work_dir,
                env=self.environment(work_dir), timeout=timeout, buffer=buffer,
                pass_fds=[fd for fd, _ in data],
            )  # fmt: skip
        return outcome.exit_code, outcome.timed_out


@contextlib.contextmanager
def _data_pipes(files: Sequence[tuple[str, bytes]]) -> Iterator[list[tuple[int, str]]]:
    """One pipe per file, already filled (the files are small), read end open."""
    opened: list[tuple[int, str]] = []
    try:
        for path, content in files:
            read_fd, write_fd = os.pipe()
            try:
                os.write(write_fd, content)
            finally:
                os.close(write_fd)
            opened.append((read_fd, path))
        yield opened
    finally:
        for fd, _ in opened:
            os.close(fd)
