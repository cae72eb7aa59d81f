"""The ``sandbox`` executor: each block runs under bubblewrap (``bwrap``).

The sandbox sees the host's root file system read-only, a private empty ``/tmp``, a
private ``/dev`` and ``/proc``, and the work dir as the only writable place (mounted at
its own path). It has no network (a new, empty network namespace: not even the host's
127.0.0.1), no capabilities, a new PID namespace (it cannot see or signal host
processes), and it dies with graphflow. Memory (address space) and CPU time are bounded
with ``prlimit``. Environment variables that look like secrets are removed.

Whether bwrap works here is probed once per process by running ``bwrap … true``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from graphflow.errors import ExecutionError, ExecutorUnavailable
from graphflow.execution.base import BlockExecutor
from graphflow.execution.codeblocks import RUNNABLE_LANGUAGES
from graphflow.execution.env import scrub_environment
from graphflow.execution.process import OutputBuffer, run_process

__all__ = ["SandboxExecutor", "bwrap_problem", "parse_size"]

_BASE_FLAGS = ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
               "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--tmpfs", "/tmp", "--hostname", "sandbox")  # fmt: skip
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
        probe = subprocess.run([path, *_BASE_FLAGS, "true"], capture_output=True, timeout=20,
                               check=False)  # fmt: skip
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
        python: the interpreter for python blocks (default: the one running graphflow;
            its installation is mounted read-only even when it lives under ``/tmp``).
        env: extra environment variables for the code.
        bwrap: the bwrap binary.
        languages: the languages this executor accepts.

    Raises:
        ExecutorUnavailable: bwrap is missing or cannot create namespaces here.

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
        python: str | None = None,
        env: Mapping[str, str] | None = None,
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
        self.python = python or sys.executable
        self.extra_env = dict(env or {})
        self.prlimit = shutil.which("prlimit")

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

    def _mounts(self, work_dir: Path) -> list[str]:
        flags: list[str] = []
        # The interpreter's installation (a virtualenv, say) may live under /tmp, which
        # the sandbox replaces with an empty tmpfs: mount it back, read-only.
        for place in sorted({sys.prefix, sys.base_prefix, str(Path(self.python).parent)}):
            if place == "/tmp" or place.startswith("/tmp/"):
                flags += ["--ro-bind", place, place]
        return [*flags, "--bind", str(work_dir), str(work_dir), "--chdir", str(work_dir)]

    def wrap(self, argv: list[str], work_dir: Path, timeout: float) -> list[str]:
        """The full command line: bwrap, its flags, prlimit, then ``argv``."""
        limits: list[str] = []
        if self.prlimit:
            cpu = self.cpu_seconds or max(1, math.ceil(timeout))
            limits = [self.prlimit, f"--cpu={cpu}"]
            if self.memory:
                limits.append(f"--as={self.memory}")
            limits.append("--")
        return [self.bwrap, *_BASE_FLAGS, *self._mounts(work_dir), "--", *limits, *argv]

    async def execute(
        self, argv: list[str], work_dir: Path, timeout: float, buffer: OutputBuffer
    ) -> tuple[int, bool]:
        env = scrub_environment(work_dir, extra=self.extra_env)
        outcome = await run_process(self.wrap(argv, work_dir, timeout), cwd=work_dir, env=env,
                                    timeout=timeout, buffer=buffer)  # fmt: skip
        return outcome.exit_code, outcome.timed_out
