"""Small helpers shared by the executor tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

__all__ = [
    "kill_marked",
    "new_marker",
    "process_gone",
    "processes_with",
    "run_while_watching",
    "wait_until",
]

T = TypeVar("T")


def process_gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``check`` until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def new_marker(what: str) -> str:
    """A word no other process on the machine has in its command line."""
    return f"graphflow-{what}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def processes_with(marker: str) -> list[int]:
    """Pids of the live processes (of any namespace) whose command line holds ``marker``."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and not process_gone(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def kill_marked(marker: str) -> None:
    """SIGKILL whatever still runs with ``marker`` (cleanup after a failed test)."""
    for pid in processes_with(marker):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


async def run_while_watching(
    run: Awaitable[T], marker: str, *, on_sight: Callable[[], None] | None = None
) -> tuple[T, list[int]]:
    """Await ``run`` while polling for processes marked ``marker``.

    Returns the result and the pids seen while ``run`` was pending; ``on_sight`` is
    called once, the first time one is seen (to tell the code it may go on).
    """
    task = asyncio.ensure_future(run)
    seen: set[int] = set()
    while not task.done():
        pids = processes_with(marker)
        if pids and not seen and on_sight is not None:
            on_sight()
        seen.update(pids)
        await asyncio.wait({task}, timeout=0.02)
    return task.result(), sorted(seen)
