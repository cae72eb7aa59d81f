"""Crossing between sync and async code (graphflow.blocking). Worker threads for blocking
calls (``in_thread``): results, errors and context variables come back to the caller,
several calls block at once, and a caller that gives up leaves the loop healthy.
``run_blocking`` on the main thread keeps one event loop for its calls, each run as
``asyncio.run`` would run it: in a copy of the caller's context, its left-over tasks
cancelled, a nested call and a forked child given loops of their own, a fresh loop
after Ctrl-C."""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import threading

import pytest

from graphflow import Graph
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


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner is Python 3.11+")
def test_calls_on_the_main_thread_share_one_loop() -> None:
    first = run_blocking(_running_loop)  # kept referenced: a new loop could not reuse it
    assert run_blocking(_running_loop) is first
    assert not first.is_closed()


def test_other_threads_get_a_loop_per_call() -> None:
    loops: list[asyncio.AbstractEventLoop] = []
    worker = threading.Thread(target=lambda: loops.extend(
        run_blocking(_running_loop) for _ in range(2)))  # fmt: skip
    worker.start()
    worker.join(10)
    assert len(loops) == 2 and loops[0] is not loops[1] and loops[0].is_closed()


def test_a_task_left_behind_is_cancelled_before_the_call_returns() -> None:
    seen: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def leave_a_task() -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)  # it starts, then waits
        return task

    task = run_blocking(leave_a_task)
    assert task.cancelled() and seen == ["cancelled"]


def test_context_variables_set_in_a_call_stay_in_it() -> None:
    async def set_it() -> str:
        WHO.set("the run")
        return WHO.get()

    async def read_it() -> str:
        return WHO.get()

    def caller() -> tuple[str, str, str]:
        WHO.set("caller")
        return run_blocking(read_it), run_blocking(set_it), run_blocking(read_it)

    assert contextvars.copy_context().run(caller) == ("caller", "the run", "caller")


def test_a_sync_function_on_the_loop_can_run_async_code_of_its_own() -> None:
    async def seven() -> int:
        return 7

    g = Graph("nested", entry="work")
    g.add_node("work", lambda state: {"x": run_blocking(seven)}, thread=False)  # on the loop
    assert g.compile().run_sync().variables["x"] == 7


def test_a_forked_child_makes_its_own_loop() -> None:
    parent = run_blocking(_running_loop)
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if it ran on a loop of its own
        try:
            os._exit(0 if run_blocking(_running_loop) is not parent else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_after_ctrl_c_the_next_call_runs_on_a_fresh_loop() -> None:
    before = run_blocking(_running_loop)

    async def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_blocking(interrupted)
    after = run_blocking(_running_loop)
    assert after is not before and before.is_closed() and not after.is_closed()
