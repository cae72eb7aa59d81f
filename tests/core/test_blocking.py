"""Worker threads for blocking calls (graphflow.blocking.in_thread): results, errors and
context variables come back to the caller, several calls block at once, a caller that
gives up leaves the loop healthy, and a forked child gets worker threads of its own."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time

import pytest

from graphflow.blocking import in_thread, run_blocking

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


async def test_the_result_and_the_context_come_back() -> None:
    WHO.set("caller")
    main = threading.get_ident()
    seen = await in_thread(lambda: (WHO.get(), threading.get_ident() != main))
    assert seen == ("caller", True)


async def test_an_exception_is_the_callers() -> None:
    def boom() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await in_thread(boom)


async def test_calls_block_at_the_same_time() -> None:
    together = threading.Barrier(4, timeout=10)  # only passes when all four block at once
    assert await asyncio.gather(*(in_thread(together.wait) for _ in range(4)))


async def test_a_caller_that_gives_up_leaves_the_call_to_finish() -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow() -> int:
        release.wait(10)
        finished.set()
        return 1

    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(in_thread(slow), 0.05)
    release.set()
    assert await asyncio.to_thread(finished.wait, 10)
    assert await in_thread(lambda: 2) == 2  # the loop and the workers go on


def test_run_blocking_inside_and_outside_a_loop() -> None:
    async def answer() -> int:
        return await in_thread(lambda: 42)

    async def nested() -> int:
        return run_blocking(answer)

    assert run_blocking(answer) == 42
    assert asyncio.run(nested()) == 42


async def _wait_for_a_worker() -> str:
    """A call on a worker thread (10 ms), with a timeout that ends the wait if no worker
    ever takes the job."""
    await asyncio.wait_for(in_thread(time.sleep, 0.01), 3)
    return "done"


def test_worker_threads_work_in_a_forked_child() -> None:
    assert run_blocking(_wait_for_a_worker) == "done"  # the parent has an idle worker now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if a worker took its call
        try:
            os._exit(0 if run_blocking(_wait_for_a_worker) == "done" else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
