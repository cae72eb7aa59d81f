"""The ``local`` executor: a plain subprocess on this machine, in the work dir.

It is *not* a sandbox: the code can read and write whatever the user running graphflow
can, and reach the network. It only bounds time (the whole process group is killed at
the deadline), output size, and hides secret-looking environment variables. Graphs get
it only when they ask for ``executor: local`` by name.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from graphflow.execution.base import BlockExecutor
from graphflow.execution.codeblocks import RUNNABLE_LANGUAGES
from graphflow.execution.env import scrub_environment
from graphflow.execution.process import OutputBuffer, run_process

__all__ = ["LocalExecutor"]


class LocalExecutor(BlockExecutor):
    """Runs code blocks as local subprocesses.

    Args:
        python: the interpreter for python blocks (default: the one running graphflow).
        env: extra environment variables for the code (added after scrubbing).
        languages: the languages this executor accepts.

    Example:
        >>> LocalExecutor().name
        'local'
    """

    name = "local"

    def __init__(
        self,
        *,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        languages: Sequence[str] = RUNNABLE_LANGUAGES,
    ) -> None:
        super().__init__(languages=languages)
        self.python = python or sys.executable
        self.extra_env = dict(env or {})

    @staticmethod
    def available() -> bool:
        """Always true: a subprocess can run anywhere."""
        return True

    def command(self, language: str, path: Path) -> list[str]:
        if language == "python":
            return [self.python, "-u", str(path)]
        if language == "bash" and shutil.which("bash"):
            return ["bash", str(path)]
        return ["sh", str(path)]

    async def execute(
        self, argv: list[str], work_dir: Path, timeout: float, buffer: OutputBuffer
    ) -> tuple[int, bool]:
        env = scrub_environment(work_dir, extra=self.extra_env)
        outcome = await run_process(argv, cwd=work_dir, env=env, timeout=timeout, buffer=buffer)
        return outcome.exit_code, outcome.timed_out
