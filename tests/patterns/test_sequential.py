"""Sequential chats and DAGs of chats: carryover contents, summaries, one resumable run."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow import DefinitionError, Store
from graphflow.models import ScriptedModel
from graphflow.patterns import (
    AssistantAgent,
    Chat,
    UserProxyAgent,
    chat_results,
    initiate_chats_sync,
    sequential_chats,
)

PROXY = UserProxyAgent(human_input_mode="NEVER")


def chats(**third: Any) -> list[dict[str, Any]]:
    return [
        {"sender": PROXY, "recipient": AssistantAgent("researcher"), "message": "Find data.",
         "max_turns": 1},
        {"sender": PROXY, "recipient": AssistantAgent("analyst"), "message": "Analyse it.",
         "max_turns": 1, "carryover": "Use pandas."},
        {"sender": PROXY, "recipient": AssistantAgent("writer"), "message": "Write it up.",
         "max_turns": 1, **third},
    ]  # fmt: skip


def test_each_chat_carries_over_the_summaries_of_all_earlier_chats() -> None:
    model = ScriptedModel(["The data is in x.csv.\nTERMINATE", "Mean is 3.", "Report."])
    results = initiate_chats_sync(chats(), models=model)
    firsts = [r.chat_history[0]["content"] for r in results]
    assert firsts == [
        "Find data.",
        "Analyse it.\nContext: \nUse pandas.\nThe data is in x.csv.\n",
        "Write it up.\nContext: \nThe data is in x.csv.\n\nMean is 3.",
    ]
    assert [r.summary for r in results] == ["The data is in x.csv.\n", "Mean is 3.", "Report."]
    assert all(r.status == "completed" for r in results)
    assert results[0].run_id.endswith(".chat_0.0")


def test_the_sequence_is_one_graph_of_subgraph_and_summary_nodes() -> None:
    graph = sequential_chats(chats(summary_method="reflection_with_llm")).compile()
    assert graph.entry == "chat_0"
    chain = [(e.source, e.target) for es in graph.out_edges.values() for e in es]
    assert set(chain) == {("chat_0", "summary_0"), ("summary_0", "chat_1"),
                          ("chat_1", "summary_1"), ("summary_1", "chat_2"),
                          ("chat_2", "summary_2"), ("summary_2", "done")}  # fmt: skip
    assert graph.nodes["chat_1"].kind == "subgraph"
    assert graph.nodes["summary_2"].kind == "agent"  # reflection_with_llm
    assert graph.nodes["summary_0"].kind == "function"  # last_msg
    assert graph.serializable


def test_reflection_summary_reads_only_its_own_chat() -> None:
    model = ScriptedModel(["a", "b", "c", "summary of c"])
    results = initiate_chats_sync(chats(summary_method="reflection_with_llm"), models=model)
    assert results[2].summary == "summary of c"
    summary_request = model.requests[-1]
    assert [m["content"] for m in summary_request[1:-1]] == ["c"]


def test_dag_of_chats_runs_independent_chats_and_carries_prerequisites_only() -> None:
    dag = [Chat(PROXY, AssistantAgent("a"), "A?", max_turns=1, chat_id="a"),
           Chat(PROXY, AssistantAgent("b"), "B?", max_turns=1, chat_id="b"),
           Chat(PROXY, AssistantAgent("c"), "C?", max_turns=1, chat_id="c", prerequisites=["a"]),
           Chat(PROXY, AssistantAgent("d"), "D?", max_turns=1, chat_id="d",
                prerequisites=["b", "c"])]  # fmt: skip
    graph = sequential_chats(dag).compile()
    assert [e.target for e in graph.out_edges["start"]] == ["chat_a", "chat_b"]
    assert graph.nodes["chat_d"].join == "all"
    model = ScriptedModel(lambda request: "answer to " + request.last_text[:2])
    results = {r.run_id.split(".")[1]: r for r in initiate_chats_sync(dag, models=model)}
    assert results["chat_c"].chat_history[0]["content"] == "C?\nContext: \nanswer to A?"
    assert results["chat_d"].chat_history[0]["content"] == (
        "D?\nContext: \nanswer to B?\nanswer to C?")  # fmt: skip


def test_a_person_in_the_second_chat_pauses_and_resumes_the_whole_sequence() -> None:
    asking = UserProxyAgent(human_input_mode="ALWAYS")
    items = [Chat(PROXY, AssistantAgent(), "one", max_turns=1),
             Chat(asking, AssistantAgent(), "two", max_turns=2)]  # fmt: skip
    graph = sequential_chats(items).compile()
    from graphflow.context import RunContext

    store = Store(":memory:")
    context = RunContext.with_models(ScriptedModel(["first", "second", "third"]))
    result = graph.run_sync(None, store=store, context=context)
    assert result.status == "waiting" and result.waiting == {"chat_1": result.question}
    result = graph.resume_sync(result.run_id, input="go on", store=store, context=context)
    assert result.status == "completed"
    done = chat_results(store, result.run_id, items)
    assert [m["content"] for m in done[1].chat_history] == [
        "two\nContext: \nfirst", "second", "go on", "third"]  # fmt: skip


def test_bad_sequences_are_definition_errors() -> None:
    with pytest.raises(DefinitionError, match="prerequisite 'z'"):
        sequential_chats([Chat(PROXY, AssistantAgent(), "x", prerequisites=["z"])])
    with pytest.raises(DefinitionError, match="has no message"):
        sequential_chats([Chat(PROXY, AssistantAgent(), "x"), Chat(PROXY, AssistantAgent())])
    with pytest.raises(DefinitionError, match="unknown keys"):
        sequential_chats([{"sender": PROXY, "recipient": AssistantAgent(), "msg": "x"}])
