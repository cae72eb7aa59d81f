from __future__ import annotations

import asyncio

from graphflow import Graph, Interrupt, Message, State, Store, Update
from graphflow import events as ev


def say(text: str):
    return lambda state: text


def test_first_matching_condition_wins_and_else_is_the_default() -> None:
    g = Graph("route", entry="start", variables={"n": 5})
    g.add_node("start", lambda s: None)
    for name in ("big", "medium", "fallback"):
        g.add_node(name, say(name))
    g.add_edge("start", "big", when="state.n > 3")
    g.add_edge("start", "medium", when="state.n > 1")
    g.add_edge("start", "fallback", otherwise=True)
    graph = g.compile()
    assert graph.run_sync().last.content == "big"
    assert graph.run_sync(variables={"n": 2}).last.content == "medium"
    assert graph.run_sync(variables={"n": 0}).last.content == "fallback"


def test_no_transition_fails_the_run_with_a_clear_error() -> None:
    g = Graph("stuck")
    g.add_node("a", say("x"))
    g.add_node("b", kind="end")
    g.add_edge("a", "b", when='last.content == "y"')
    result = g.compile().run_sync()
    assert result.status == "failed"
    assert "no outgoing condition held" in result.error and "else: true" in result.error


def test_fan_out_runs_branches_in_one_step_and_join_all_waits() -> None:
    order: list[str] = []
    fast_done = asyncio.Event()

    async def branch(name: str) -> Message:
        if name == "slow":  # finishes only after "fast" did: no sleep decides the order
            await asyncio.wait_for(fast_done.wait(), 10)
        order.append(name)
        fast_done.set()
        return Message(content=name)

    g = Graph("fan")
    g.add_node("split", lambda s: None)
    g.add_node("slow", lambda s: branch("slow"))
    g.add_node("fast", lambda s: branch("fast"))
    g.add_node("fast2", say("fast2"))
    g.add_node("join", lambda s: ",".join(m.content for m in s.messages), join="all")
    g.add_edge("split", "slow")
    g.add_edge("split", "fast")
    g.add_edge("fast", "fast2")
    g.add_edge("slow", "join")
    g.add_edge("fast2", "join")
    result = g.compile().run_sync()
    assert order == ["fast", "slow"]
    # messages are applied in frontier order, not completion order
    assert [m.content for m in result.messages] == ["slow", "fast", "fast2", "slow,fast,fast2"]
    assert result.visits["join"] == 1


def test_join_any_runs_once_per_arrival_step() -> None:
    g = Graph("any")
    g.add_node("split", lambda s: None)
    g.add_node("a", say("a"))
    g.add_node("b1", say("b1"))
    g.add_node("b2", say("b2"))
    g.add_node("join", say("joined"))
    g.add_edge("split", "a")
    g.add_edge("split", "b1")
    g.add_edge("b1", "b2")
    g.add_edge("a", "join")
    g.add_edge("b2", "join")
    assert g.compile().run_sync().visits["join"] == 2


def test_join_all_does_not_wait_for_a_branch_not_taken() -> None:
    g = Graph("cond-join", variables={"go": False})
    g.add_node("split", lambda s: None)
    g.add_node("a", say("a"))
    g.add_node("gate", lambda s: None)
    g.add_node("b", say("b"))
    g.add_node("join", say("joined"), join="all")
    g.add_edge("split", "a")
    g.add_edge("split", "gate")
    g.add_edge("gate", "b", when="state.go")
    g.add_edge("gate", "join", otherwise=True)
    g.add_edge("a", "join")
    g.add_edge("b", "join")
    result = g.compile().run_sync()
    assert result.status == "completed" and result.visits["join"] == 1


def test_limits_end_the_run_with_a_status() -> None:
    g = Graph("loop")
    g.add_node("a", say("again"), max_visits=3)
    g.add_node("end", kind="end")
    g.add_edge("a", "a", when="true")
    g.add_edge("a", "end", otherwise=True)
    result = g.compile().run_sync()
    assert (result.status, result.reason) == ("limit_reached", "node 'a' reached max_visits (3)")
    g.limits(max_steps=2)
    result = g.compile().run_sync()
    assert result.status == "limit_reached" and "max_steps (2)" in result.reason
    g.limits(max_steps=None, max_rounds=2)  # max_rounds counts agent turns, not these messages
    assert g.compile().run_sync().reason == "node 'a' reached max_visits (3)"


def test_budget_and_stop_when() -> None:
    g = Graph("spend")
    g.add_node("a", lambda s: Update(messages=[Message(content="x")],
                                     usage={"prompt_tokens": 40, "completion_tokens": 10,
                                            "cost": 0.01, "calls": 1}))
    g.add_node("end", kind="end")
    g.add_edge("a", "a", when="true")
    g.add_edge("a", "end", otherwise=True)
    g.limits(max_tokens=120)
    result = g.compile().run_sync()
    assert result.status == "budget_exceeded" and "150 of 120 tokens" in result.reason
    assert result.usage["by_node"]["a"]["calls"] == 3
    g.limits(max_tokens=None, stop_when="len(messages) >= 2")
    result = g.compile().run_sync()
    assert (result.status, result.reason) == ("completed", "stop_when: len(messages) >= 2")


def test_node_exception_fails_the_run_and_names_the_node(store: Store) -> None:
    def boom(state: State) -> None:
        raise ValueError("bad input")

    g = Graph("err")
    g.add_node("ok", say("fine"))
    g.add_node("boom", boom)
    g.add_edge("ok", "boom")
    result = g.compile().run_sync(store=store)
    assert result.status == "failed"
    assert result.error == "node 'boom' (function) raised ValueError: bad input"
    record = store.get_run(result.run_id)
    assert record.status == "failed" and record.last_step == 0


def test_dynamic_goto_must_follow_an_edge() -> None:
    g = Graph("goto")
    g.add_node("a", lambda s: Update(goto="c"))
    g.add_node("b", kind="end")
    g.add_node("c", kind="end")
    g.add_node("d", lambda s: None)
    g.add_edge("a", "b")
    g.add_edge("a", "d")
    g.add_edge("d", "c")
    result = g.compile().run_sync()
    assert result.status == "failed" and "not one of its successors" in result.error


def test_routing_sees_the_nodes_own_last_message_in_parallel_steps() -> None:
    g = Graph("focus")
    g.add_node("split", lambda s: None)
    g.add_node("left", say("APPROVED"))
    g.add_node("right", say("no"))
    g.add_node("yes", kind="end")
    g.add_node("no", kind="end")
    g.add_edge("split", "left")
    g.add_edge("split", "right")
    g.add_edge("left", "yes", when='last.content == "APPROVED"')
    g.add_edge("left", "no", otherwise=True)
    g.add_edge("right", "no")
    result = g.compile().run_sync()
    assert result.visits.get("yes") == 1


def test_events_stream_in_order() -> None:
    g = Graph("events")
    g.add_node("a", say("one"))
    g.add_node("h", kind="human", prompt="ok?")
    g.add_edge("a", "h")
    seen: list[ev.Event] = []
    result = g.compile().run_sync(on_event=seen.append)
    types = [e.type for e in seen]
    assert types == ["run_started", "step_started", "node_started", "node_finished", "message",
                     "step_finished", "step_started", "node_started", "node_finished",
                     "waiting"]
    assert result.status == "waiting" and result.question == "ok?"

    async def collect() -> list[str]:
        return [e.type async for e in g.compile().stream()]

    assert asyncio.run(collect())[-1] == "waiting"


def test_async_and_ctx_bodies_and_effects(store: Store) -> None:
    calls: list[int] = []

    async def effect(state: State, ctx) -> str:
        async def act() -> int:
            calls.append(1)
            return 42

        value = await ctx.effect("pay", act)
        value2 = await ctx.effect("pay", act)
        return f"{value}/{value2}"

    g = Graph("ctx")
    g.add_node("a", effect)
    result = g.compile().run_sync(store=store)
    assert result.last.content == "42/42" and calls == [1]


def test_interrupt_from_a_function_and_resume_answers_it(store: Store) -> None:
    def ask(state: State, ctx) -> object:
        if ctx.input is None:
            return Interrupt("name?")
        return f"hello {ctx.input}"

    g = Graph("ask")
    g.add_node("ask", ask)
    graph = g.compile()
    first = graph.run_sync(store=store)
    assert first.status == "waiting"
    done = graph.resume_sync(first.run_id, input="Ada", store=store)
    assert done.status == "completed" and done.last.content == "hello Ada"


def test_end_status_may_use_variables() -> None:
    g = Graph("why", variables={"chat_end": "TERMINATE received"})
    g.add_node("a", say("x"))
    g.add_node("done", kind="end", status="ended: {chat_end}")
    g.add_edge("a", "done")
    assert g.compile().run_sync().reason == "ended: TERMINATE received"
