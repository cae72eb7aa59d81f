"""Running one command as a process group with a deadline and an output cap.

The command starts in a new session (so it leads its own process group). When the
deadline passes, the whole group is killed with SIGKILL — children and grandchildren
included, not only the direct child. When the command exits by itself, whatever it left
running in its group is killed too, so a stray background job can neither outlive the
execution nor keep the output pipe open.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TRUNCATED_MARKER", "OutputBuffer", "ProcessOutcome", "kill_group", "run_process"]

TRUNCATED_MARKER = "\n[output truncated]\n"
_CHUNK = 65536
# After the command exits, how long to wait for the pipe to drain before giving up.
_DRAIN_SECONDS = 2.0


class OutputBuffer:
    """Collects output bytes up to ``limit``; counts (and drops) the rest.

    Example:
        >>> buf = OutputBuffer(limit=4)
        >>> buf.feed(b"abcdef")
        >>> buf.text(), buf.truncated
        ('abcd\\n[output truncated]\\n', True)
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        """Add ``chunk``; bytes past the limit are only counted."""
        if self.limit is None:
            self.data += chunk
            return
        room = max(self.limit - len(self.data), 0)
        self.data += chunk[:room]
        self.dropped += max(len(chunk) - room, 0)

    @property
    def truncated(self) -> bool:
        """Whether some output was dropped."""
        return self.dropped > 0

    def text(self) -> str:
        """The kept output as text (invalid UTF-8 replaced), with the marker if cut."""
        text = self.data.decode("utf-8", errors="replace")
        return text + TRUNCATED_MARKER if self.truncated else text


@dataclass(frozen=True)
class ProcessOutcome:
    """How one command ended. ``exit_code`` is negative when a signal killed it."""

    exit_code: int
    timed_out: bool
    seconds: float


def kill_group(pgid: int) -> None:
    """Send SIGKILL to process group ``pgid``; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def _pump(stream: asyncio.StreamReader, buffer: OutputBuffer) -> None:
    while True:
        chunk = await stream.read(_CHUNK)
        if not chunk:
            return
        buffer.feed(chunk)


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    buffer: OutputBuffer,
    pass_fds: Sequence[int] = (),
) -> ProcessOutcome:
    """Run ``argv`` in ``cwd``, feeding stdout and stderr (merged) into ``buffer``.

    Args:
        argv: the command and its arguments.
        cwd: the working directory.
        env: the complete environment of the process.
        timeout: seconds before the process group is killed.
        buffer: receives the output (capped by the buffer's limit).
        pass_fds: descriptors the command inherits (all others are closed).

    Returns:
        The exit code (negative for a signal), whether the deadline killed it, and the
        elapsed time.

    Example:
        >>> import asyncio, os
        >>> buf = OutputBuffer(None)
        >>> out = asyncio.run(run_process(["echo", "hi"], cwd=Path("."), env=os.environ,
        ...                               timeout=5, buffer=buf))
        >>> out.exit_code, buf.text()
        (0, 'hi\\n')
    """
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    try:
        # A plain Popen: asyncio's own subprocess wait() also waits for the output pipe
        # to close, which a stray grandchild could hold open for ever.
        proc = subprocess.Popen(list(argv), cwd=str(cwd), env=dict(env), stdin=subprocess.DEVNULL,
                                stdout=write_fd, stderr=write_fd, start_new_session=True,
                                pass_fds=tuple(pass_fds))  # fmt: skip
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    reader = asyncio.StreamReader(limit=_CHUNK * 4)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    pump = asyncio.ensure_future(_pump(reader, buffer))
    waiter = asyncio.ensure_future(asyncio.to_thread(proc.wait))
    timed_out = False
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
        timed_out = not done
        # End the whole group: on timeout, and to reap leftovers after a normal exit.
        kill_group(proc.pid)
        await waiter
        # A process that left the group (setsid) may still hold the pipe: stop waiting.
        await asyncio.wait({pump}, timeout=_DRAIN_SECONDS)
    finally:
        if proc.returncode is None:
            kill_group(proc.pid)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        transport.close()
    code = proc.returncode if proc.returncode is not None else -signal.SIGKILL
    return ProcessOutcome(code, timed_out, time.perf_counter() - started)
