"""The router kind: speaker selection methods, transitions as edges, ending the chat."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from graphflow import Graph
from graphflow.agents.selection import GroupChatView
from graphflow.context import RunContext
from graphflow.errors import RunError
from graphflow.models import ScriptedModel
from graphflow.patterns import Agent, group_chat

NAMES = ["planner", "coder", "critic"]


def team(**fields: Any) -> list[Agent]:
    return [Agent(n, human_input_mode="NEVER", description=f"the {n}", **fields) for n in NAMES]


def speakers(result: Any) -> list[str]:
    return [m.node for m in result.messages if m.node]


def run(graph: Graph, replies: Any = None, task: str = "task", **kwargs: Any) -> Any:
    model = ScriptedModel(replies or [f"turn {i}" for i in range(40)])
    return graph.compile().run_sync(task, context=RunContext.with_models(model), **kwargs)


def test_round_robin_follows_member_order_and_max_round_ends_the_chat() -> None:
    result = run(group_chat(team(), selection="round_robin", max_round=6))
    assert speakers(result) == ["planner", "coder", "critic", "planner", "coder"]
    assert (result.status, result.reason) == ("completed", "max_round (6) reached")


def test_round_robin_starts_after_the_member_who_sent_the_task() -> None:
    from graphflow.messages import Message

    task = [Message(role="user", name="coder", content="task")]
    result = run(group_chat(team(), selection="round_robin", max_round=4), task=task)  # type: ignore[arg-type]
    assert speakers(result) == ["critic", "planner", "coder"]


def test_termination_message_sends_the_chat_to_its_end_node() -> None:
    result = run(group_chat(team(), selection="round_robin"), ["a", "b TERMINATE", "c"])
    assert speakers(result) == ["planner", "coder"]
    assert result.reason == "terminated: coder sent a termination message"
    assert result.variables["chat_end"] == result.reason


def test_transitions_are_edges_and_constrain_the_order() -> None:
    rules = {"planner": ["coder"], "coder": ["critic", "planner"], "critic": ["coder"]}
    graph = group_chat(team(), selection="round_robin", max_round=8, transitions=rules)
    compiled = graph.compile()
    for member, allowed in rules.items():
        edges = {e.target for e in compiled.out_edges[f"{member}_next"]}
        assert edges == {*allowed, "done"}
    order = speakers(run(graph))
    assert order[0] == "planner"
    for before, after in pairwise(order):
        assert after in rules[before], (before, after)
    assert order == ["planner", "coder", "critic", "coder", "critic", "coder", "critic"]


def test_disallowed_transitions_and_no_repeat() -> None:
    graph = group_chat(team(), selection="random", seed=7, max_round=12,
                       transitions={"critic": ["planner"]}, transitions_type="disallowed",
                       allow_repeat_speaker=False)  # fmt: skip
    order = speakers(run(graph))
    assert all(a != b for a, b in pairwise(order))
    assert not any(a == "critic" and b == "planner" for a, b in pairwise(order))
    assert order == speakers(run(graph))  # seeded: the same order every time


def test_member_with_no_allowed_successor_ends_the_chat() -> None:
    result = run(group_chat(team(), selection="round_robin", transitions={"planner": []}))
    assert speakers(result) == ["planner"] and result.reason == "no eligible speaker"


def test_selection_function_may_pick_a_member_a_method_or_end() -> None:
    seen: list[GroupChatView] = []

    def pick(last_speaker: str | None, chat: GroupChatView) -> str | None:
        seen.append(chat)
        if chat.round >= 4:
            return None
        return "critic" if last_speaker == "user" else "round_robin"

    result = run(group_chat(team(), selection=pick))
    assert speakers(result) == ["critic", "planner", "coder"]
    assert result.reason == "the selection function ended the chat"
    assert seen[0].candidates == ("planner", "coder", "critic") and seen[0].last_speaker == "user"
    assert seen[1].last_speaker == "critic" and seen[1].names["coder"] == "coder"


def test_manual_selection_waits_for_a_person_and_validates_the_answer() -> None:
    graph = group_chat(team(), selection="manual", max_round=5).compile()
    context = RunContext.with_models(ScriptedModel([f"turn {i}" for i in range(9)]))
    from graphflow import Store

    store = Store(":memory:")
    result = graph.run_sync("task", store=store, context=context)
    assert result.status == "waiting"
    waiting = store.get_run(result.run_id).waiting
    assert waiting is not None and waiting["nodes"]["manager"]["options"] == NAMES
    result = graph.resume_sync(result.run_id, input="nobody", store=store, context=context)
    assert result.status == "waiting" and "'nobody' is not one of the candidates" in result.question
    for answer in ("critic", "1", ""):  # a name, a number, enter = next in order
        result = graph.resume_sync(result.run_id, input=answer, store=store, context=context)
    assert speakers(result) == ["critic", "planner", "coder"]
    result = graph.resume_sync(result.run_id, input="exit", store=store, context=context)
    assert (result.status, result.reason) == ("completed", "exit: the person ended the chat")


def auto_section(server: Any) -> dict[str, Any]:
    return {"team": {"scripted": [f"turn {i}" for i in range(20)]},
            "selector": {"model": "selector", "base_url": server.base_url, "timeout": 5,
                         "cache_seed": None}}  # fmt: skip


def test_auto_selection_reasks_on_a_bad_name_through_the_openai_client(model_server: Any) -> None:
    server = model_server(["Nobody should speak.", "The coder, then the critic.", "critic"])
    graph = group_chat(team(model="team"), model="selector", max_round=2,
                       models=auto_section(server))  # fmt: skip
    result = graph.compile().run_sync("Review my code")
    assert speakers(result) == ["critic"] and server.requests == 3
    asks = [body["messages"] for body in server.request_log]
    assert asks[0][0]["role"] == "system" and "the critic" in asks[0][0]["content"]
    assert "named no participant" in asks[1][-1]["content"]
    assert "more than one participant (coder, critic)" in asks[2][-1]["content"]
    assert "speaker_fallbacks" not in result.variables
    assert result.usage["by_node"]["manager"]["calls"] == 3


def test_auto_selection_falls_back_to_round_robin_and_records_it(model_server: Any) -> None:
    server = model_server(["no idea", "still no idea", "none of them"])
    graph = group_chat(team(model="team"), model="selector", max_round=2,
                       models=auto_section(server))  # fmt: skip
    result = graph.compile().run_sync("task")
    assert speakers(result) == ["planner"] and server.requests == 3
    [fallback] = result.variables["speaker_fallbacks"]
    assert fallback["fallback"] == "round_robin" and fallback["chosen"] == "planner"
    assert fallback["answers"] == ["no idea", "still no idea", "none of them"]


def test_router_errors_name_the_missing_edge() -> None:
    g = Graph("bad", entry="manager")
    g.add_node("manager", kind="router", selection="round_robin", members=["a", "ghost"])
    g.add_node("a", kind="agent")
    g.add_node("done", kind="end")
    g.add_edge("manager", "a").add_edge("manager", "done").add_edge("a", "manager")
    result = run(g)
    assert result.status == "failed"
    assert "add an edge manager → ghost" in (result.error or "")


def test_router_without_an_end_node_fails_clearly_when_the_chat_ends() -> None:
    g = Graph("no_end", entry="manager")
    g.add_node("manager", kind="router", selection="round_robin", max_round=2)
    g.add_node("a", kind="agent", is_termination_msg=None)
    g.add_node("b", kind="agent", is_termination_msg=None)
    g.add_edge("manager", "a").add_edge("manager", "b").add_edge("a", "manager")
    result = run(g)
    assert result.status == "failed" and "has no end node" in (result.error or "")


def test_unknown_selection_is_a_compile_error() -> None:
    from graphflow import DefinitionError

    with pytest.raises(DefinitionError, match="selection"):
        group_chat(team(), selection="no_such_module:pick").compile()


def pick_critic_then_end(last_speaker: str | None, chat: GroupChatView) -> str | None:
    """A selection function named by import path in the test below."""
    return "critic" if chat.round < 2 else None


def test_selection_function_by_import_path_keeps_the_graph_serializable() -> None:
    graph = group_chat(team(), selection="tests.agents.test_router:pick_critic_then_end")
    compiled = graph.compile()
    assert compiled.serializable
    result = run(graph)
    assert speakers(result) == ["critic"]
    assert result.reason == "the selection function ended the chat"


def test_filtered_views_limit_what_members_see() -> None:
    model = ScriptedModel([f"turn {i}" for i in range(10)])
    graph = group_chat(team(), selection="round_robin", max_round=5, view={"last": 1})
    graph.compile().run_sync("the task", context=RunContext.with_models(model))
    fourth = model.requests[3]  # planner again: sees the task and the last message only
    assert [m["content"] for m in fourth[1:]] == ["the task", "turn 2"]
    broadcast = ScriptedModel([f"turn {i}" for i in range(10)])
    group_chat(team(), selection="round_robin", max_round=5).compile().run_sync(
        "the task", context=RunContext.with_models(broadcast))  # fmt: skip
    assert len(broadcast.requests[3]) == 1 + 4


def test_a_router_reads_its_successors_from_the_compiled_graph() -> None:
    from graphflow import State
    from graphflow.agents.neighbourhood import neighbourhood
    from graphflow.context import RunContext
    from graphflow.kinds.base import NodeContext

    g = Graph("hood", entry="manager")
    g.add_node("manager", kind="router", selection="round_robin")
    g.add_node("coder", kind="agent", name="Coder", system_message="Writes   the\ncode.")
    g.add_node("reviewer", use="critic")  # a catalog persona: resolved at compile time
    g.add_node("done", kind="end")
    for target in ("coder", "reviewer", "done"):
        g.add_edge("manager", target)
    g.add_edge("coder", "manager").add_edge("reviewer", "manager")
    graph = g.compile()
    # no store in the run context: nothing is read back from the graph stored with a run
    ctx = NodeContext("r", 0, "manager", State(), RunContext(), graph=graph)
    hood = neighbourhood(ctx, "manager")
    assert [(m.node, m.name, m.description, m.kind) for m in hood.members] == [
        ("coder", "Coder", "Writes the code.", "agent"),
        ("reviewer", "reviewer", "Reviews drafts, plans and code; approves them or lists "
                                 "concrete changes.", "agent"),
    ]  # fmt: skip
    assert [m.node for m in hood.ends] == ["done"]
    fresh = NodeContext("r", 0, "manager", State(), RunContext(), graph=graph)
    with pytest.raises(RunError, match="add an edge manager → critic"):
        neighbourhood(fresh, "manager", members=["coder", "critic"])
    with pytest.raises(RunError, match="needs the compiled graph"):
        neighbourhood(NodeContext("r", 0, "manager", State(), RunContext()), "manager")


def test_a_markdown_escaped_speaker_name_is_understood() -> None:
    """AutoGen users reported selectors answering ``Role: Senior\\_Python\\_Engineer``
    ("failed to resolve the next speaker"); AutoGen's ``GroupChat._mentioned_agents``
    accepts ``\\_`` for ``_``. The manager must pick that member without re-asking."""
    from graphflow.models import ModelSet

    team = [Agent("Product_Manager", human_input_mode="NEVER"),
            Agent("Senior_Python_Engineer", human_input_mode="NEVER")]  # fmt: skip
    graph = group_chat(team, selection="auto", model="selector", max_round=2).compile()
    selector = ScriptedModel(["Role: Senior\\_Python\\_Engineer"])
    models = ModelSet({"default": ScriptedModel(["print('hi')"]), "selector": selector})
    result = graph.run_sync("Write hello world.", context=RunContext.with_models(models))
    assert [m.node for m in result.messages if m.node] == ["Senior_Python_Engineer"]
    assert len(selector.requests) == 1 and "speaker_fallbacks" not in result.variables


def _next_in_order_as_specified(order, last, candidates):
    """Round robin as documented, written the slow and obvious way."""
    if not candidates:
        return None
    allowed = set(candidates)
    ring = [n for n in order if n in allowed] + [n for n in candidates if n not in set(order)]
    if last in order:
        start = order.index(last) + 1
        for node in list(order[start:]) + list(order[:start]):
            if node in allowed:
                return node
    return ring[0]


def test_round_robin_matches_its_specification_for_any_order_and_candidates() -> None:
    import itertools
    import random

    from graphflow.agents.selection import next_in_order

    rng = random.Random(7)
    names = ["a", "b", "c", "d", "e"]
    for _ in range(400):
        order = [rng.choice(names) for _ in range(rng.randint(0, 6))]
        candidates = rng.sample(names, rng.randint(0, 5))
        for last in itertools.chain(names, [None, "outsider"]):
            assert next_in_order(order, last, candidates) == _next_in_order_as_specified(
                order, last, candidates), (order, last, candidates)
