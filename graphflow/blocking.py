"""Running a coroutine to completion from synchronous code — also where an event loop
already runs in this thread (a Jupyter notebook, an async web handler), where
``asyncio.run`` refuses: there the coroutine runs on a worker thread with a loop of its
own, and the caller blocks until it is done.

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
import contextvars
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_blocking"]

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
