"""Crossing between synchronous and asynchronous code.

- :func:`run_blocking` runs a coroutine to completion from synchronous code — also where
  an event loop already runs in this thread (a Jupyter notebook, an async web handler),
  where ``asyncio.run`` refuses: there the coroutine runs on a worker thread with a loop
  of its own, and the caller blocks until it is done. On the main thread it keeps one
  event loop for all its calls (an ``asyncio.Runner``): making and closing a loop per
  call, as ``asyncio.run`` does, costs ~75 µs, more than a short run's steps;
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
import atexit
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
        runner = _main_runner()
        if runner is None:
            return asyncio.run(make())
        return _run_on(runner, make)
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="graphflow-sync") as pool:
        return pool.submit(context.run, lambda: asyncio.run(make())).result()


#: The main thread's event loop, kept between calls of :func:`run_blocking`, and the
#: process it belongs to (a forked child makes its own: an event loop's selector cannot
#: be shared across a fork).
_RUNNER: tuple[int, Any] | None = None

#: ``asyncio.Runner`` (Python 3.11 and later; before, every call uses ``asyncio.run``).
_RUNNER_CLASS: Any = getattr(asyncio, "Runner", None)


def _main_runner() -> Any:
    """The main thread's ``asyncio.Runner`` (made on first use); ``None`` on other threads,
    which use ``asyncio.run`` (a loop kept per thread would outlive the thread unclosed),
    and on Python 3.10."""
    global _RUNNER
    if _RUNNER_CLASS is None or threading.current_thread() is not threading.main_thread():
        return None
    if _RUNNER is None or _RUNNER[0] != os.getpid():
        _RUNNER = (os.getpid(), _RUNNER_CLASS())
    return _RUNNER[1]


def _run_on(runner: Any, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``make()`` run to completion on ``runner``'s loop as ``asyncio.run`` would run it on
    a new one: in a copy of the caller's context, and with the tasks it leaves behind
    cancelled before returning. A call from code running on that loop with the loop
    hidden (a sync function node, see ``kinds.builtin``) gets a loop of its own."""
    global _RUNNER
    loop = runner.get_loop()
    if loop.is_running():
        return asyncio.run(make())
    try:
        return runner.run(make(), context=contextvars.copy_context())
    except BaseException as exc:
        if not isinstance(exc, Exception):  # Ctrl-C, exit: start afresh next time
            _RUNNER = None
            runner.close()
        raise
    finally:
        if not loop.is_closed():
            _cancel_left_over(loop)


def _cancel_left_over(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks a call left on ``loop`` and let them finish (``asyncio.run``
    does so when it closes its loop); an error one raised while finishing goes to the
    loop's exception handler."""
    left = asyncio.all_tasks(loop)
    if not left:
        return
    for task in left:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    for task in left:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({"message": "a task left by a run raised while "
                                         "being cancelled", "exception": task.exception(),
                                         "task": task})  # fmt: skip


@atexit.register
def _close_runner() -> None:
    """Close the kept loop at exit (its async generators and default executor too)."""
    global _RUNNER
    if _RUNNER is not None and _RUNNER[0] == os.getpid():
        with contextlib.suppress(Exception):
            _RUNNER[1].close()
    _RUNNER = None


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
