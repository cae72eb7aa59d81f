"""Graph-level stop conditions on agent chats: each ends the run with a status and a
reason saying which one fired; they combine with and/or."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow import Graph
from graphflow.context import RunContext
from graphflow.models import ScriptedModel


def ping_pong(**limits: Any) -> Graph:
    g = Graph("ping_pong", entry="ping")
    g.add_node("ping", kind="agent", is_termination_msg=None)
    g.add_node("pong", kind="agent", is_termination_msg=None)
    g.add_node("done", kind="end")
    g.add_edge("ping", "pong")
    g.add_edge("pong", "done", when="state.chat_end").add_edge("pong", "ping", otherwise=True)
    g.limits(**{"max_steps": 50, **limits})
    return g


def run(graph: Graph, model: ScriptedModel | None = None) -> Any:
    model = model or ScriptedModel([f"message {i}" for i in range(100)])
    return graph.compile().run_sync("start", context=RunContext.with_models(model))


@pytest.mark.parametrize(
    ("limits", "status", "reason", "count"),
    [
        ({"max_rounds": 3}, "limit_reached", "max_rounds (3) reached", 3),
        ({"stop_when": 'contains(last.content, "message 4")'}, "completed",
         'stop_when: contains(last.content, "message 4")', 5),
        ({"stop_when": 'len(messages) >= 3 and last.node == "ping"'}, "completed",
         'stop_when: len(messages) >= 3 and last.node == "ping"', 3),
        ({"stop_when": 'endswith(last.content, "9") or len(messages) > 6'}, "completed",
         'stop_when: endswith(last.content, "9") or len(messages) > 6', 6),
        ({"max_tokens": 60}, "budget_exceeded", None, None),
    ],
)  # fmt: skip
def test_stop_conditions_name_what_fired(limits: dict[str, Any], status: str,
                                         reason: str | None, count: int | None) -> None:  # fmt: skip
    result = run(ping_pong(**limits))
    produced = [m for m in result.messages if m.node]
    assert result.status == status
    if reason is not None:
        assert result.reason == reason
    else:
        assert result.reason.startswith("token budget used up")
        assert result.usage["prompt_tokens"] + result.usage["completion_tokens"] >= 60
    if count is not None:
        assert len(produced) == count


def test_timeout_stops_a_slow_conversation() -> None:
    model = ScriptedModel([f"m{i}" for i in range(100)], latency=0.05)
    result = run(ping_pong(timeout=0.2), model)
    assert result.status == "timeout" and result.reason == "timeout (0.2 s) reached"


def test_agent_termination_predicate_ends_a_loop_without_graph_limits() -> None:
    g = Graph("loop", entry="a")
    g.add_node("a", kind="agent", is_termination_msg=None)
    g.add_node("b", kind="agent", is_termination_msg='contains(last.content, "DONE")')
    g.add_node("done", kind="end")
    g.add_edge("a", "b")
    g.add_edge("b", "done", when="state.chat_end", label="ends the chat")
    g.add_edge("b", "a", otherwise=True)
    result = run(g, ScriptedModel(["one", "two", "DONE now", "never"]))
    assert [m.content for m in result.messages if m.node] == ["one", "two", "DONE now"]
    assert (result.status, result.reason) == ("completed", "b: termination message from a")


def test_max_rounds_counts_agent_turns_and_survives_a_resume(tmp_path: Any) -> None:
    from graphflow import Message, Store

    # an agent, a function node that adds two notes per turn, and a person asked once
    g = Graph("turns", entry="agent")
    g.add_node("agent", kind="agent", is_termination_msg=None)
    g.add_node("notes", lambda s: [Message(content="note"), Message(content="note")])
    g.add_node("person", kind="human", prompt="go on?")
    g.add_node("done", kind="end")
    g.add_edge("agent", "notes")
    g.add_edge("notes", "person", when="visits.notes == 2")
    g.add_edge("notes", "agent", otherwise=True)
    g.add_edge("person", "done", when="visits.person > 1")
    g.add_edge("person", "agent", otherwise=True)
    g.limits(max_steps=100, max_rounds=4)
    graph = g.compile()
    model = ScriptedModel([f"turn {i}" for i in range(10)])
    with Store(tmp_path / "runs.db") as store:
        first = graph.run_sync("start", store=store, context=RunContext.with_models(model))
        assert first.status == "waiting"  # two agent turns so far, four notes
        done = graph.resume_sync(first.run_id, input="yes", store=store,
                                 context=RunContext.with_models(model))  # fmt: skip
    agent_said = [m.content for m in done.messages if m.node == "agent"]
    assert (done.status, done.reason) == ("limit_reached", "max_rounds (4) reached")
    assert agent_said == ["turn 0", "turn 1", "turn 2", "turn 3"]
    assert len([m for m in done.messages if m.node == "notes"]) == 6
