"""Where a plain (non-async) function node runs: on a worker thread until it has shown
itself quick, then on the event loop — never on the loop when the run has a wall-clock
timeout, when the loop must stay responsive (a server's), or when ``thread: true`` says
so (see graphflow.kinds.builtin.FunctionConfig)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from typing import Any

from graphflow import Graph, MemoryStore
from graphflow.context import RunContext
from graphflow.kinds.builtin import QUICK_CALL


def _looping(fn: Any, steps: int, **node: Any) -> Graph:
    g = Graph("placement", entry="work", variables={"i": 0})
    g.add_node("work", fn, **node)
    g.add_node("done", kind="end")
    g.add_edge("work", "work", when=f"state.i < {steps}")
    g.add_edge("work", "done", otherwise=True)
    return g


def _recorder(seen: list[bool], sleep: float = 0.0) -> Any:
    loop_thread = threading.get_ident()

    def work(state: Any) -> dict[str, int]:
        seen.append(threading.get_ident() == loop_thread)
        if sleep:
            time.sleep(sleep)
        return {"i": state.variables["i"] + 1}

    return work


def _timed_out(graph: Any, release: threading.Event, **run: Any) -> float:
    """Run ``graph`` (whose node blocks until ``release``), check that it timed out, and
    return the seconds it took; the blocked thread is released after 5 s at the latest,
    and at once when the run returns."""
    timer = threading.Timer(5, release.set)  # ends the blocked thread soon after
    timer.start()
    try:
        started = time.monotonic()
        result = graph.run_sync(store=MemoryStore(), **run)
        took = time.monotonic() - started
    finally:
        release.set()
        timer.cancel()
    assert result.status == "timeout", result.reason
    return took


def test_a_quick_function_moves_to_the_loop_after_its_first_call() -> None:
    seen: list[bool] = []
    result = _looping(_recorder(seen), 5).compile().run_sync(store=MemoryStore())
    assert result.status == "completed"
    assert seen == [False, True, True, True, True]


def test_a_slow_function_stays_on_worker_threads() -> None:
    seen: list[bool] = []
    _looping(_recorder(seen, sleep=QUICK_CALL * 2), 3).compile().run_sync(store=MemoryStore())
    assert seen == [False, False, False]


def test_a_function_that_turns_slow_goes_back_to_a_thread() -> None:
    loop_thread = threading.get_ident()
    seen: list[bool] = []

    def work(state: Any) -> dict[str, int]:
        seen.append(threading.get_ident() == loop_thread)
        if state.variables["i"] == 2:
            time.sleep(QUICK_CALL * 2)
        return {"i": state.variables["i"] + 1}

    _looping(work, 6).compile().run_sync(store=MemoryStore())
    # call 3 (i == 2) ran on the loop and was slow: the next one is back on a thread
    assert seen == [False, True, True, False, True, True]


def test_nodes_sharing_a_function_share_what_was_learnt() -> None:
    seen: list[bool] = []
    work = _recorder(seen)
    g = Graph("chain", entry="a", variables={"i": 0})
    for name in ("a", "b", "c"):
        g.add_node(name, work)
    g.add_node("done", kind="end")
    g.add_edge("a", "b").add_edge("b", "c").add_edge("c", "done")
    g.compile().run_sync(store=MemoryStore())
    assert seen == [False, True, True]


def test_never_on_the_loop_with_a_timeout_a_responsive_loop_or_thread_true() -> None:
    for how in ("timeout", "responsive", "thread"):
        seen: list[bool] = []
        g = _looping(_recorder(seen), 4, **({"thread": True} if how == "thread" else {}))
        if how == "timeout":
            g.limits(timeout=60)
        context = RunContext(responsive=how == "responsive")
        result = g.compile().run_sync(store=MemoryStore(), context=context)
        assert result.status == "completed", how
        assert seen == [False] * 4, how


def test_thread_false_always_runs_on_the_loop() -> None:
    seen: list[bool] = []
    _looping(_recorder(seen, sleep=QUICK_CALL * 2), 3, thread=False).compile().run_sync(
        store=MemoryStore())  # fmt: skip
    assert seen == [True, True, True]


def test_the_timeout_fires_when_a_function_known_as_quick_blocks() -> None:
    """A function that was quick in an earlier run blocks in a run with a timeout: it
    must still run on a thread there, or the timeout could not fire while it blocks."""
    release = threading.Event()

    def sometimes_blocks(state: Any) -> dict[str, int]:
        if state.variables.get("block"):
            release.wait(30)
        return {"i": state.variables["i"] + 1}

    quick = _looping(sometimes_blocks, 3).compile()
    assert quick.run_sync(store=MemoryStore()).status == "completed"  # now known as quick
    g = _looping(sometimes_blocks, 3)
    g.limits(timeout=0.3)
    took = _timed_out(g.compile(), release, variables={"block": True})
    assert took < 4, f"the timeout fired only after {took:.1f} s"


def _fan_out(branch: Any, join: Any) -> Any:
    g = Graph("fan", entry="split", variables={"i": 0})
    g.add_node("split", lambda state: None, thread=False)
    for name in ("a", "b", "c"):
        g.add_node(name, branch)
        g.add_edge("split", name)
        g.add_edge(name, "join")
    g.add_node("join", join, join="all", thread=False)
    g.add_node("done", kind="end")
    g.add_edge("join", "done")
    return g.compile()


def test_quick_parallel_branches_run_in_turn_on_the_loop(tmp_path: Any) -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[str, bool]] = []

    def branch(state: Any, ctx: Any) -> dict[str, int]:
        seen.append((ctx.node_id, threading.get_ident() == loop_thread))
        return {ctx.node_id: 1}

    graph = _fan_out(branch, lambda state: {"i": sum(state.variables.get(n, 0) for n in "abc")})
    first = graph.run_sync(store=MemoryStore())
    assert first.variables["i"] == 3 and all(not on_loop for _, on_loop in seen)
    seen.clear()
    second = graph.run_sync(store=MemoryStore())
    assert second.variables["i"] == 3
    assert seen == [("a", True), ("b", True), ("c", True)]


def test_branches_run_in_turn_keep_their_results_when_one_fails(tmp_path: Any) -> None:
    """A failed branch among quick ones: the others' results are saved with the step, so
    resuming runs only the failed branch again (as for branches run as tasks)."""
    from graphflow import Store

    calls: list[str] = []
    broken = {"b": True}

    def branch(state: Any, ctx: Any) -> dict[str, int]:
        calls.append(ctx.node_id)
        if ctx.node_id == "b" and broken["b"] and state.variables.get("learnt"):
            raise ValueError("b is broken")
        return {ctx.node_id: 1}

    graph = _fan_out(branch, lambda state: {"i": sum(state.variables.get(n, 0) for n in "abc")})
    graph.run_sync(store=MemoryStore())  # the branch function is now known as quick
    calls.clear()
    store = Store(tmp_path / "runs.db")
    failed = graph.run_sync(store=store, variables={"learnt": True})
    assert failed.status == "failed" and calls == ["a", "b", "c"]
    broken["b"] = False
    calls.clear()
    done = graph.resume_sync(failed.run_id, store=store)
    assert done.status == "completed" and done.variables["i"] == 3
    assert calls == ["b"]
    store.close()


def test_the_timeout_of_an_enclosing_run_fires_when_a_subgraph_function_blocks() -> None:
    """A subgraph's inner graph has no timeout of its own, its parent has one: the inner
    function, though known as quick, must run on a thread, or the parent's timeout could
    not fire while it blocks."""
    release = threading.Event()

    def sometimes_blocks(state: Any) -> dict[str, int]:
        if state.variables["i"] >= 2:
            release.wait(30)
        return {"i": state.variables["i"] + 1}

    _looping(sometimes_blocks, 1).compile().run_sync(store=MemoryStore())  # known as quick
    outer = Graph("outer", entry="nested")
    outer.add_node("nested", kind="subgraph", graph=_looping(sometimes_blocks, 5))
    outer.add_node("done", kind="end")
    outer.add_edge("nested", "done")
    outer.limits(timeout=0.3)
    took = _timed_out(outer.compile(), release)
    assert took < 4, f"the parent's timeout fired only after {took:.1f} s"


def _overlap(branch: Any) -> int:
    """How many branches of a three-branch parallel step were waiting at once, in the
    third run of a graph whose branches call ``branch`` (so it is known as quick)."""
    graph = _fan_out(branch, lambda state: None)
    for _ in range(3):
        branch.most = 0
        assert graph.run_sync(store=MemoryStore()).status == "completed"
    return int(branch.most)


class _Waiter:
    """Counts the branches waiting at once (``most``)."""

    def __init__(self) -> None:
        self.active = self.most = 0

    async def wait(self, node: str) -> dict[str, int]:
        self.active += 1
        self.most = max(self.most, self.active)
        await asyncio.sleep(0.02)
        self.active -= 1
        return {node: 1}


def test_branches_whose_function_returns_an_awaitable_still_overlap() -> None:
    """A callable with ``async def __call__``, or a plain function returning a coroutine,
    does its work while the result is awaited: its branches must stay tasks that wait
    together, not run in turn (three waits in a row instead of one)."""

    class AsyncCall(_Waiter):
        async def __call__(self, state: Any, ctx: Any) -> dict[str, int]:
            return await self.wait(ctx.node_id)

    class ReturnsCoroutine(_Waiter):
        def __call__(self, state: Any, ctx: Any) -> Any:
            return self.wait(ctx.node_id)

    assert _overlap(AsyncCall()) == 3
    assert _overlap(ReturnsCoroutine()) == 3


def _counting_loop(steps: int) -> tuple[Any, list[int]]:
    calls: list[int] = []

    def work(state: Any) -> dict[str, int]:
        calls.append(1)
        return {"i": state.variables["i"] + 1}

    return _looping(work, steps).compile(), calls


def test_a_run_of_quick_functions_lets_other_tasks_of_its_loop_run() -> None:
    """Quick functions run on the loop and never wait: the run must still hand the loop
    back now and then (a web app's other requests, a ticker), not hold it to the end."""
    graph, calls = _counting_loop(20_000)

    async def main() -> tuple[int, int]:
        ticks_during = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks_during
            while not done:
                await asyncio.sleep(0.001)
                ticks_during += 0 < len(calls) < 20_000

        task = asyncio.ensure_future(ticker())
        result = await graph.run(store=MemoryStore())
        done = True
        await task
        assert result.status == "completed"
        return ticks_during, len(calls)

    ticks, ran = asyncio.run(main())
    assert ran == 20_000 and ticks >= 3, f"the loop ran other tasks {ticks} times in the run"


def test_cancelling_a_run_of_quick_functions_stops_it_soon() -> None:
    """A cancellation (Ctrl-C under asyncio.run) reaches a run of quick functions at its
    next step, not after its last one."""
    graph, calls = _counting_loop(200_000)

    async def main() -> None:
        task = asyncio.ensure_future(graph.run(store=MemoryStore()))
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert len(calls) < 200_000, "the run went on to its end after it was cancelled"


def test_a_function_that_runs_async_code_of_its_own_works_on_the_loop_too() -> None:
    """A sync function calling ``asyncio.run`` (as sync wrappers of async clients do)
    worked on a worker thread; once known as quick it runs on the loop, where it must see
    no running loop either — and the run's loop goes on afterwards."""

    async def lookup(i: int) -> int:
        await asyncio.sleep(0)
        return i + 1

    def work(state: Any) -> dict[str, int]:
        return {"i": asyncio.run(lookup(state.variables["i"]))}

    result = _looping(work, 5).compile().run_sync(store=MemoryStore())
    assert result.status == "completed", result.error
    assert result.variables["i"] == 5


def test_context_variables_a_function_sets_stay_its_own_on_the_loop_too() -> None:
    """On a worker thread a function runs in a copy of the context, so what it binds
    (a request id in a logger's context variables) never reached later nodes: on the
    loop neither."""
    bound: contextvars.ContextVar[int] = contextvars.ContextVar("bound", default=-1)
    seen: list[int] = []

    def work(state: Any) -> dict[str, int]:
        seen.append(bound.get())
        bound.set(state.variables["i"])
        return {"i": state.variables["i"] + 1}

    _looping(work, 4).compile().run_sync(store=MemoryStore())
    assert seen == [-1, -1, -1, -1]
