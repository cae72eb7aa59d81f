"""Crossing between synchronous and asynchronous code.

- :func:`run_blocking` runs a coroutine to completion from synchronous code — also where
  an event loop already runs in this thread (a Jupyter notebook, an async web handler),
  where ``asyncio.run`` refuses: there the coroutine runs on a worker thread with a loop
  of its own, and the caller blocks until it is done;
- :func:`in_thread` runs a blocking call on a worker thread and awaits it, so the event
  loop goes on (timeouts fire, leases are renewed, other branches run) while it blocks.

Example:
    >>> import asyncio
    >>> async def answer() -> int:
    ...     return 42
    >>> run_blocking(answer)
    42
    >>> async def inside_a_loop() -> int:
    ...     return run_blocking(answer)  # would raise with asyncio.run
    >>> asyncio.run(inside_a_loop())
    42
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["in_thread", "run_blocking"]

T = TypeVar("T")


def run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to completion and return its result.

    ``make`` is called in the thread that runs the coroutine, so the coroutine is created
    there. Inside a running loop the caller's context variables are carried to the
    worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="graphflow-sync") as pool:
        return pool.submit(context.run, lambda: asyncio.run(make())).result()


#: At most this many calls run on worker threads at once; more wait for a free thread.
MAX_WORKERS = 32


class _Workers:
    """Daemon threads fed by one queue: a thread is started only when every existing one
    is busy (up to :data:`MAX_WORKERS`), and idle ones wait for the next call. Cheaper per
    call than ``asyncio.to_thread`` (no executor futures to chain: the result goes
    straight back to the caller's loop), which matters for function nodes that run in
    microseconds, once per step."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = self._idle = self._queued = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._queued += 1
            start = self._queued > self._idle and self._threads < MAX_WORKERS
            if start:
                self._threads += 1
        if start:
            threading.Thread(target=self._work, name="graphflow-worker", daemon=True).start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            job()


_WORKERS = _Workers()


def _workers_after_fork() -> None:
    """In a forked child: start a pool of its own. The parent's worker threads did not
    survive the fork, yet its pool still counts them idle, so a call would wait forever
    for one of them to take the job."""
    global _WORKERS
    _WORKERS = _Workers()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_workers_after_fork)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def in_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on a worker thread, with the caller's context variables
    (as ``asyncio.to_thread``); its result or exception is the caller's. Cancelling the
    caller does not stop the call (no thread can be stopped from outside): it finishes
    on its thread and its result is dropped.

    Example:
        >>> asyncio.run(in_thread(sum, [1, 2, 3]))
        6
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def job() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = context.run(fn, *args, **kwargs)
        except BaseException as exc:  # handed to the caller, whatever it is
            error = exc
        with contextlib.suppress(RuntimeError):  # the caller's loop closed: nobody waits
            loop.call_soon_threadsafe(_settle, future, result, error)

    _WORKERS.submit(job)
    return await future
