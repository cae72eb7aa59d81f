"""Worker threads for blocking calls (graphflow.blocking.in_thread): results, errors and
context variables come back to the caller, several calls block at once, and a caller
that gives up leaves the loop healthy."""

from __future__ import annotations

import asyncio
import contextvars
import threading

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
