"""The executor interface, and the block loop that every executor shares.

An executor runs the code blocks of one message in a work dir::

    result = await executor.run(blocks, work_dir, timeout=60)
    executor.close()

Blocks run one after another, each saved as a file first; the first block that fails
(or cannot run, or times out) stops the rest, as in AutoGen. ``timeout`` bounds the
whole call, not each block.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from graphflow.errors import ExecutionError
from graphflow.execution.code_result import TIMEOUT_EXIT_CODE, CodeResult
from graphflow.execution.codeblocks import RUNNABLE_LANGUAGES, CodeBlock
from graphflow.execution.process import OutputBuffer
from graphflow.execution.workspace import write_block
from graphflow.secrets import redact
from graphflow.tracing import set_attributes, span

__all__ = ["DEFAULT_OUTPUT_LIMIT", "DEFAULT_TIMEOUT", "BlockExecutor", "CodeExecutor"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
DEFAULT_OUTPUT_LIMIT = 64 * 1024


@runtime_checkable
class CodeExecutor(Protocol):
    """What the code node needs from an executor."""

    name: str

    async def run(
        self,
        blocks: Sequence[CodeBlock],
        work_dir: Path,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        output_limit: int | None = DEFAULT_OUTPUT_LIMIT,
    ) -> CodeResult:
        """Run ``blocks`` in ``work_dir`` and report the exit code and output."""
        ...

    def close(self) -> None:
        """Release what the executor holds (processes, containers). Idempotent."""
        ...


class BlockExecutor:
    """Base of the built-in executors: saves blocks, runs them in order, stops at the
    first failure. Subclasses implement :meth:`execute` (run one saved file)."""

    name: ClassVar[str] = ""
    #: ``(uid, gid)`` the code runs as when that is not graphflow's own user (the
    #: sandbox and docker run code as ``nobody`` when graphflow is root); the work dir
    #: and the files graphflow saves for the code are given to that user.
    code_owner: tuple[int, int] | None = None

    def __init__(self, *, languages: Sequence[str] = RUNNABLE_LANGUAGES) -> None:
        self.languages = tuple(languages)

    def prepare(self, work_dir: Path) -> None:
        """Make ``work_dir`` writable for the code's user (see :attr:`code_owner`)."""
        if self.code_owner is not None:
            info = os.stat(work_dir)
            if (info.st_uid, info.st_gid) != self.code_owner:
                os.chown(work_dir, *self.code_owner)

    def command(self, language: str, path: Path) -> list[str]:
        """The command that runs the saved file ``path`` of ``language``."""
        if language == "python":
            return ["python3", "-u", str(path)]
        if language == "bash":
            return ["bash", str(path)]
        return ["sh", str(path)]

    async def execute(
        self, argv: list[str], work_dir: Path, timeout: float, buffer: OutputBuffer
    ) -> tuple[int, bool]:
        """Run ``argv`` in ``work_dir``; return (exit code, timed out)."""
        raise NotImplementedError

    async def run(
        self,
        blocks: Sequence[CodeBlock],
        work_dir: Path,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        output_limit: int | None = DEFAULT_OUTPUT_LIMIT,
    ) -> CodeResult:
        """Run ``blocks`` in order in ``work_dir`` (see the module docstring).

        Example:
            >>> import asyncio, tempfile
            >>> from graphflow.execution import LocalExecutor, extract_code_blocks
            >>> blocks = extract_code_blocks("```python\\nprint(6 * 7)\\n```")
            >>> with tempfile.TemporaryDirectory() as wd:
            ...     asyncio.run(LocalExecutor().run(blocks, Path(wd), 10)).output
            '42\\n'
        """
        languages = ",".join(dict.fromkeys(b.language for b in blocks))
        with span("graphflow.code", {"graphflow.executor": self.name,
                                     "graphflow.language": languages,
                                     "graphflow.blocks": len(blocks)}) as traced:  # fmt: skip
            result = await self._run_blocks(blocks, work_dir, timeout, output_limit)
            set_attributes(traced, {"graphflow.exit_code": result.exit_code,
                                    "graphflow.timed_out": result.timed_out})  # fmt: skip
        logger.debug("%s ran %d block(s) (%s) in %s: exit code %d%s in %.2f s", self.name,
                     len(blocks), languages, work_dir, result.exit_code,
                     " (timed out)" if result.timed_out else "", result.seconds)  # fmt: skip
        return result

    async def _run_blocks(self, blocks: Sequence[CodeBlock], work_dir: Path, timeout: float,
                          output_limit: int | None) -> CodeResult:  # fmt: skip
        if timeout <= 0:
            raise ExecutionError(f"timeout must be a positive number of seconds, not {timeout}")
        work_dir = Path(work_dir).resolve()
        work_dir.mkdir(parents=True, exist_ok=True)
        self.prepare(work_dir)
        buffer = OutputBuffer(output_limit)
        started = time.perf_counter()
        deadline = started + timeout
        exit_code, timed_out = 0, False
        files: list[str] = []
        for block in blocks:
            if block.language not in RUNNABLE_LANGUAGES or block.language not in self.languages:
                allowed = ", ".join(self.languages)
                buffer.feed(f"unknown language {block.language!r}: this executor runs "
                            f"{allowed} blocks only\n".encode())  # fmt: skip
                exit_code = 1
                break
            try:
                path = write_block(block, work_dir, owner=self.code_owner)
            except (ExecutionError, OSError) as exc:
                buffer.feed(f"{exc}\n".encode())
                exit_code = 1
                break
            files.append(path.relative_to(work_dir).as_posix())
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                exit_code, timed_out = TIMEOUT_EXIT_CODE, True
                break
            exit_code, timed_out = await self.execute(
                self.command(block.language, path), work_dir, remaining, buffer
            )
            if exit_code < 0:  # killed by a signal: report it the way shells do
                exit_code = 128 - exit_code
            if timed_out:
                exit_code = TIMEOUT_EXIT_CODE
                break
            if exit_code != 0:
                break
        output = redact(buffer.text())
        if timed_out:
            output += f"\n[timed out after {timeout:g} s; the processes were killed]\n"
        return CodeResult(
            exit_code=exit_code,
            output=output,
            timed_out=timed_out,
            truncated=buffer.truncated,
            files=tuple(files),
            seconds=round(time.perf_counter() - started, 4),
            executor=self.name,
        )

    def close(self) -> None:
        """Nothing to release by default."""
