"""The ``local`` executor: a plain subprocess on this machine, in the work dir.

It is *not* a sandbox: the code can read and write whatever the user running graphflow
can, and reach the network. It only bounds time (the whole process group is killed at
the deadline) and output size, and gives the code the allow-listed environment of
:mod:`graphflow.execution.env`. Graphs get it only when they ask for ``executor: local``
by name. (graphflow's own writes into the work dir still follow no link the code
plants: see :mod:`graphflow.execution.workspace`.)
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from graphflow.execution.base import BlockExecutor
from graphflow.execution.codeblocks import RUNNABLE_LANGUAGES
from graphflow.execution.env import check_pass_env, scrub_environment
from graphflow.execution.process import OutputBuffer, run_process

__all__ = ["LocalExecutor"]


class LocalExecutor(BlockExecutor):
    """Runs code blocks as local subprocesses.

    Args:
        python: the interpreter for python blocks (default: the one running graphflow).
        env: extra environment variables for the code (set as given).
        pass_env: names of graphflow's environment variables to pass to the code (model
            keys and ``OAI_CONFIG_LIST`` are refused).
        languages: the languages this executor accepts.

    Raises:
        ExecutionError: ``pass_env`` names a refused variable.

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
        pass_env: Sequence[str] = (),
        languages: Sequence[str] = RUNNABLE_LANGUAGES,
    ) -> None:
        super().__init__(languages=languages)
        self.python = python or sys.executable
        self.extra_env = dict(env or {})
        self.pass_env = check_pass_env(pass_env)

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
        env = scrub_environment(work_dir, extra=self.extra_env, pass_env=self.pass_env)
        outcome = await run_process(argv, cwd=work_dir, env=env, timeout=timeout, buffer=buffer)
        return outcome.exit_code, outcome.timed_out
