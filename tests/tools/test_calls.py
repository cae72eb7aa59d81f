"""Executing tool calls: parallelism, errors that go back to the model, journal replay."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from graphflow.tools import Tool, ToolContext, current_tool_context, execute_tool_calls, tool

from .helpers import Journal, call, node_context


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def slow_echo(text: str, seconds: float = 0.3) -> str:
    """Echo after a pause."""
    await asyncio.sleep(seconds)
    return text


@tool
def blocking_wait(seconds: float) -> float:
    """Block a thread for a while."""
    time.sleep(seconds)
    return seconds


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"kaboom: {reason}")


TOOLS = [add, slow_echo, blocking_wait, explode]


async def test_results_come_back_in_call_order_as_tool_messages() -> None:
    calls = [call("c1", "add", {"a": 1, "b": 2}), call("c2", "slow_echo", {"text": "hi", "seconds": 0}),
             call("c3", "add", {"a": 10, "b": -4})]  # fmt: skip
    messages = await execute_tool_calls(calls, TOOLS)
    assert [(m.role, m.tool_call_id, m.name, m.content) for m in messages] == [
        ("tool", "c1", "add", "3"),
        ("tool", "c2", "slow_echo", "hi"),
        ("tool", "c3", "add", "6"),
    ]


# Calls that return only once ``parties`` of them run at the same time: they finish when
# the calls overlap, and report an error after 10 s when they do not (no clock to read).
def meeting_tools(parties: int) -> list[Tool]:
    arrived: list[str] = []
    everyone = asyncio.Event()
    barrier = threading.Barrier(parties, timeout=10)

    @tool
    async def meet(text: str) -> str:
        """Wait for the other parties, then echo."""
        arrived.append(text)
        if len(arrived) == parties:
            everyone.set()
        try:
            await asyncio.wait_for(everyone.wait(), 10)
        except asyncio.TimeoutError:
            raise RuntimeError(f"only {len(arrived)} of {parties} calls ran at once") from None
        return text

    @tool
    def meet_in_thread(text: str) -> str:
        """Block until the other parties block too, then echo."""
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            raise RuntimeError(f"not all {parties} calls ran at once") from None
        return text

    return [meet, meet_in_thread]


async def test_async_calls_run_concurrently() -> None:
    calls = [call(f"c{i}", "meet", {"text": str(i)}) for i in range(5)]
    messages = await execute_tool_calls(calls, meeting_tools(5))
    assert [m.content for m in messages] == ["0", "1", "2", "3", "4"]


async def test_sync_calls_run_in_threads_concurrently() -> None:
    calls = [call(f"c{i}", "meet_in_thread", {"text": str(i)}) for i in range(3)]
    messages = await execute_tool_calls(calls, meeting_tools(3))
    assert [m.content for m in messages] == ["0", "1", "2"]


async def test_parallel_false_runs_one_after_another() -> None:
    calls = [call(f"c{i}", "slow_echo", {"text": "x", "seconds": 0.2}) for i in range(3)]
    started = time.perf_counter()
    await execute_tool_calls(calls, TOOLS, parallel=False)
    assert time.perf_counter() - started >= 0.6


async def test_errors_become_results_and_do_not_stop_other_calls() -> None:
    calls = [call("bad-json", "add", "{a: 1"), call("bad-args", "add", {"a": "one", "b": 2}),
             call("missing", "add", {"a": 1}), call("raises", "explode", {"reason": "test"}),
             call("unknown", "teleport", {}), call("fine", "add", {"a": 2, "b": 2})]  # fmt: skip
    out = {m.tool_call_id: m.content for m in await execute_tool_calls(calls, TOOLS)}
    assert out["bad-json"].startswith(
        "Error: tool 'add' was called with the arguments are not valid JSON"
    )
    assert "a: Input should be a valid integer" in out["bad-args"]
    assert "Expected parameters:" in out["bad-args"]
    assert "b: Field required" in out["missing"]
    assert out["raises"] == "Error: tool 'explode' raised RuntimeError: kaboom: test"
    assert out["unknown"] == ("Error: unknown tool 'teleport'. Available tools: add, "
                              "blocking_wait, explode, slow_echo.")  # fmt: skip
    assert out["fine"] == "4"


async def test_timeout_per_call() -> None:
    calls = [
        call("slow", "slow_echo", {"text": "late", "seconds": 5}),
        call("quick", "add", {"a": 1, "b": 1}),
    ]
    started = time.perf_counter()
    out = await execute_tool_calls(calls, TOOLS, timeout=0.3)
    assert time.perf_counter() - started < 5  # not the slow call's own 5 s
    assert out[0].content == "Error: tool 'slow_echo' did not finish within 0.3 s."
    assert out[1].content == "2"


async def test_journal_replays_committed_calls(tmp_path: Path) -> None:
    counter = {"n": 0}
    lock = threading.Lock()

    @tool
    def charge(amount: int) -> str:
        """A side effect that must happen once."""
        with lock:
            counter["n"] += 1
        return f"charged {amount}"

    journal = Journal()
    calls = [call("pay-1", "charge", {"amount": 5}), call("pay-2", "charge", {"amount": 7})]
    first = await execute_tool_calls(calls, [charge], node_context(tmp_path, journal))
    # After a crash the node runs again with the same journal: nothing is charged twice.
    again = await execute_tool_calls(calls, [charge], node_context(tmp_path, journal))
    assert counter["n"] == 2
    assert [m.content for m in again] == [m.content for m in first] == ["charged 5", "charged 7"]
    assert sorted(journal.entries) == ["tool:pay-1", "tool:pay-2"]
    assert all(m.node == "tools" for m in again)


async def test_tools_receive_the_context(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    @tool
    def where(ctx: ToolContext) -> str:
        """Report the context."""
        seen["ctx"] = ctx
        seen["current"] = current_tool_context()
        return str(ctx.work_dir)

    out = await execute_tool_calls([call("w1", "where", {})], [where], node_context(tmp_path),
                                   options={"flag": True})  # fmt: skip
    ctx = seen["ctx"]
    assert isinstance(ctx, ToolContext) and out[0].content == str(tmp_path)
    assert (ctx.run_id, ctx.node_id, ctx.step, ctx.call_id) == ("run-7", "tools", 2, "w1")
    assert ctx.options == {"flag": True} and seen["current"] is ctx
    assert current_tool_context() is None


async def test_sdk_objects_missing_ids_and_repeated_ids() -> None:
    sdk_call = SimpleNamespace(id="s1", type="function",
                               function=SimpleNamespace(name="add", arguments='{"a": 1, "b": 1}'))  # fmt: skip
    no_id = {"type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}}
    journal = Journal()
    out = await execute_tool_calls([sdk_call, no_id, call("s1", "add", {"a": 3, "b": 3})], [add],
                                   node_context(None, journal))  # fmt: skip
    assert [m.content for m in out] == ["2", "4", "6"]
    assert out[1].tool_call_id == "call_1"
    assert len(journal.entries) == 3


async def test_results_are_rendered_as_json_when_not_text() -> None:
    @tool
    def info() -> dict:
        """Structured result."""
        return {
            "ok": True,
            "items": [1, 2],
            "when": time.struct_time((2024, 1, 2, 0, 0, 0, 0, 0, 0)),
        }

    (message,) = await execute_tool_calls([call("i", "info", {})], [info])
    assert message.content.startswith('{"ok": true, "items": [1, 2], "when": ')


async def test_plain_functions_and_mappings_work_as_tool_lists() -> None:
    def shout(text: str) -> str:
        """Upper-case."""
        return text.upper()

    out = await execute_tool_calls([call("1", "shout", {"text": "hey"})], [shout])
    assert out[0].content == "HEY"
    out = await execute_tool_calls(
        [call("1", "yell", {"text": "hey"})], {"yell": tool(name="yell")(shout)}
    )
    assert out[0].content == "HEY"
