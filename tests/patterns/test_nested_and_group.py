"""Nested chats and group chats as graphs, and how they render (DOT text)."""

from __future__ import annotations

import re

from graphflow import Graph
from graphflow.context import RunContext
from graphflow.models import ScriptedModel
from graphflow.patterns import (
    Agent,
    AssistantAgent,
    Chat,
    UserProxyAgent,
    add_nested_chat,
    group_chat,
    two_agent_chat,
)


def edges(dot: str) -> set[tuple[str, str]]:
    return {
        (a.strip('"'), b.strip('"'))
        for a, b in re.findall(r'^\s*("?[\w/]+"?) -> ("?[\w/]+"?)', dot, re.M)
    }


def writing_graph() -> Graph:
    outer = Graph("writing", entry="writer")
    outer.add_node("writer", kind="agent", is_termination_msg=None)
    inner = two_agent_chat(Agent("critic", human_input_mode="NEVER", max_consecutive_auto_reply=1),
                           AssistantAgent("reviewer"), max_turns=1, name="review")  # fmt: skip
    add_nested_chat(outer, "critic", inner, description="a review panel")
    outer.add_node("done", kind="end")
    outer.add_edge("writer", "critic").add_edge("critic", "done")
    return outer


def test_nested_chat_reply_comes_from_the_inner_run() -> None:
    model = ScriptedModel(["draft", "needs a title"])
    graph = writing_graph().compile()
    result = graph.run_sync("write", context=RunContext.with_models(model))
    reply = result.last
    assert (reply.node, reply.name, reply.content) == ("critic", "critic", "needs a title")
    inner_request = model.requests[1]
    assert inner_request[-1] == {"role": "user", "name": "user", "content": "draft"}


def test_nested_chat_renders_the_inner_graph_as_a_cluster() -> None:
    dot = writing_graph().compile().to_dot()
    assert "subgraph cluster_critic {" in dot
    assert "critic: review" in dot
    assert ("critic", "critic/reviewer") in edges(dot)
    assert ("critic/reviewer", "critic/critic") in edges(dot)


def test_nested_list_of_chats_starts_from_the_received_message() -> None:
    outer = Graph("outer", entry="asker")
    outer.add_node("asker", kind="agent", is_termination_msg=None)
    proxy = UserProxyAgent(human_input_mode="NEVER")
    add_nested_chat(outer, "panel", [Chat(proxy, AssistantAgent("a"), max_turns=1),
                                     Chat(proxy, AssistantAgent("b"), "Check it.", max_turns=1)])  # fmt: skip
    outer.add_edge("asker", "panel")
    result = outer.compile().run_sync("go", context=RunContext.with_models(
        ScriptedModel(["question?", "first answer", "checked"])))  # fmt: skip
    assert result.last.content == "checked" and result.last.node == "panel"


def test_group_chat_renders_as_hub_and_spokes() -> None:
    team = [Agent(n, human_input_mode="NEVER") for n in ("planner", "coder", "critic")]
    dot = group_chat(team).compile().to_dot()
    found = edges(dot)
    for member in ("planner", "coder", "critic"):
        assert ("manager", member) in found and (member, "manager") in found
    assert ("manager", "done") in found
    assert not any(a in ("planner", "coder", "critic") and b in ("planner", "coder", "critic")
                   for a, b in found)  # fmt: skip
    assert re.search(r"manager \[.*shape=hexagon", dot)


def test_group_chat_with_transitions_draws_each_allowed_transition() -> None:
    team = [Agent(n, human_input_mode="NEVER") for n in ("a", "b", "c")]
    dot = group_chat(team, transitions={"a": ["b"], "b": ["a", "c"], "c": []}).compile().to_dot()
    found = edges(dot)
    assert {("a_next", "b"), ("b_next", "a"), ("b_next", "c")} <= found
    assert ("a_next", "c") not in found and ("c_next", "a") not in found
    assert ("a", "a_next") in found


def test_group_member_who_asks_a_person_is_reached_through_its_checkpoint() -> None:
    team = [Agent("planner", human_input_mode="NEVER"), UserProxyAgent("boss")]
    graph = group_chat(team, selection="round_robin", max_round=4).compile()
    assert {e.target for e in graph.out_edges["manager"]} == {"planner", "boss_human", "done"}
    context = RunContext.with_models(ScriptedModel(["plan", "plan 2"]))
    from graphflow import Store

    store = Store(":memory:")
    result = graph.run_sync("task", store=store, context=context)
    assert result.status == "waiting" and "boss_human" in result.waiting
    result = graph.resume_sync(result.run_id, input="ship it", store=store, context=context)
    said = [(m.name, m.content) for m in result.messages]
    assert said == [("user", "task"), ("planner", "plan"), ("boss", "ship it"),
                    ("planner", "plan 2")]  # fmt: skip
    assert result.reason == "max_round (4) reached"


def test_a_subgraph_node_runs_its_inner_graph_through_its_context() -> None:
    import asyncio
    from typing import Any

    import pytest

    from graphflow import Message, State
    from graphflow.context import RunContext
    from graphflow.errors import RunError
    from graphflow.kinds.base import NodeContext

    inner = Graph("inner", entry="echo")
    inner.add_node("echo", lambda s: f"inner got {s.last.content}")
    outer = Graph("outer", entry="nested")
    outer.add_node("nested", kind="subgraph", graph=inner, variables={"n": "len(messages)"})
    kind = outer.compile().nodes["nested"].impl
    state = State(messages=[Message(role="user", content="hi")])
    calls: list[tuple[Any, ...]] = []

    async def child_runs(ctx: NodeContext, graph: Any, *, input: Message | None,
                         variables: Any) -> Any:  # fmt: skip
        calls.append((ctx.node_id, graph.name, input, dict(variables)))
        return await graph.run(input, variables=variables)

    update = asyncio.run(kind.run(NodeContext("r", 0, "nested", state, RunContext(),
                                              child_runs=child_runs)))  # fmt: skip
    opening = Message(role="user", name="user", content="hi")
    assert calls == [("nested", "inner", opening, {"n": 1})]
    assert [(m.node, m.content) for m in update.messages] == [("nested", "inner got hi")]
    with pytest.raises(RunError, match="cannot run a nested graph outside a run"):
        asyncio.run(kind.run(NodeContext("r", 0, "nested", state, RunContext())))


def test_a_nested_graph_without_models_uses_the_enclosing_graphs_models() -> None:
    outer = Graph("outer", entry="writer")
    outer.models = {"scripted": ["draft", "inner review", "unused"]}
    outer.add_node("writer", kind="agent", is_termination_msg=None)
    inner = Graph("inner", entry="reviewer")
    inner.add_node("reviewer", kind="agent", is_termination_msg=None)
    add_nested_chat(outer, "critic", inner)
    outer.add_node("done", kind="end")
    outer.add_edge("writer", "critic").add_edge("critic", "done")
    result = outer.compile().run_sync("task")
    # one scripted model, shared by the outer and the inner agent, answers in order
    said = [(m.node, m.content) for m in result.messages if m.node]
    assert said == [("writer", "draft"), ("critic", "inner review")]
