"""Two-agent chats: the graph, ChatResult, summaries, max_turns, carryover, tools, code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphflow import DefinitionError, Message, Store
from graphflow.models import ScriptedModel
from graphflow.patterns import (
    Agent,
    AssistantAgent,
    UserProxyAgent,
    initiate_chat_sync,
    two_agent_chat,
)

QUIET = UserProxyAgent(human_input_mode="NEVER")


def test_graph_has_both_agents_checkpoint_and_conditional_edges() -> None:
    graph = two_agent_chat(UserProxyAgent(human_input_mode="TERMINATE"), AssistantAgent()).compile()
    assert graph.entry == "assistant"
    edges = {(e.source, e.target): e for es in graph.out_edges.values() for e in es}
    ask = edges[("assistant", "user_proxy_human")]
    assert ask.text == ('(endswith(last.content, "TERMINATE")) or '
                        'state.user_proxy_auto_replies >= 100')  # fmt: skip
    assert edges[("assistant", "done")].text == "state.chat_end"
    assert edges[("assistant", "user_proxy")].otherwise
    assert graph.nodes["user_proxy_human"].kind == "human"
    assert graph.spec.node("assistant").use == "assistant"
    assert "TERMINATE" in graph.nodes["assistant"].impl.config.system_message
    assert graph.serializable


def test_always_mode_makes_the_checkpoint_the_entry_when_the_recipient_asks() -> None:
    graph = two_agent_chat(AssistantAgent(), UserProxyAgent()).compile()
    assert graph.entry == "user_proxy_human"


def test_chat_result_fields_and_last_msg_summary(tmp_path: Path) -> None:
    with Store(tmp_path / "runs.db") as store:
        result = initiate_chat_sync(QUIET, AssistantAgent(), "Capital of France?",
                                    models=ScriptedModel(["Paris.\nTERMINATE"]), store=store,
                                    run_id="chat1")  # fmt: skip
        assert store.get_run("chat1").status == "completed"
    assert result.run_id == "chat1" and result.status == "completed"
    assert result.chat_history == [  # the initiator's view, as AutoGen's chat_messages
        {"content": "Capital of France?", "role": "assistant", "name": "user_proxy"},
        {"content": "Paris.\nTERMINATE", "role": "user", "name": "assistant"}]  # fmt: skip
    assert result.summary == "Paris.\n"
    assert result.usage["calls"] == 1 and "assistant" in result.usage["by_node"]
    assert set(result.cost) == {"usage_including_cached_inference",
                                "usage_excluding_cached_inference"}  # fmt: skip
    assert result.human_input == []


def test_reflection_summary_asks_the_recipients_model_from_its_side() -> None:
    """AutoGen (``ConversableAgent._reflection_with_llm_as_summary``) asks the
    recipient's client, with the recipient's messages, and the prompt as a system
    message at the end."""
    from graphflow.models import ModelSet

    writer_model = ScriptedModel(["Step two. TERMINATE"])
    assistant_model = ScriptedModel(["Step one.", "Two steps were done."])
    writer = Agent("writer", model="writer", human_input_mode="NEVER",
                   max_consecutive_auto_reply=1)  # fmt: skip
    models = ModelSet({"default": assistant_model, "writer": writer_model})
    result = initiate_chat_sync(writer, AssistantAgent(), "Do it", models=models,
                                summary_method="reflection_with_llm",
                                summary_args={"summary_prompt": "Sum it up."})  # fmt: skip
    assert result.summary == "Two steps were done."
    assert assistant_model.requests[-1] == [
        {"role": "user", "name": "writer", "content": "Do it"},
        {"role": "assistant", "content": "Step one."},
        {"role": "user", "name": "writer", "content": "Step two. TERMINATE"},
        {"role": "system", "content": "Sum it up."}]  # fmt: skip
    assert result.usage["by_node"]["summary"]["calls"] == 1


def test_callable_summary_gets_the_messages() -> None:
    result = initiate_chat_sync(QUIET, AssistantAgent(), "Count",
                                models=ScriptedModel(["1", "2 TERMINATE"]),
                                summary_method=lambda messages: f"{len(messages)} messages")  # fmt: skip
    assert result.summary == "4 messages"


def test_max_turns_counts_exchanges() -> None:
    model = ScriptedModel([f"reply {i}" for i in range(10)])
    bob = Agent("bob", human_input_mode="NEVER", is_termination_msg=None)
    result = initiate_chat_sync(bob, AssistantAgent(), "hi", models=model, max_turns=2)
    names = [m["name"] for m in result.chat_history]
    assert names == ["bob", "assistant", "bob", "assistant"]
    assert (result.status, result.reason) == ("completed", "stop_when: len(messages) >= 4")


def test_carryover_is_appended_to_the_first_message() -> None:
    result = initiate_chat_sync(QUIET, AssistantAgent(), "Plot it.",
                                carryover=["Data is in x.csv.", "Use a bar chart."],
                                models=ScriptedModel(["ok TERMINATE"]))  # fmt: skip
    assert result.chat_history[0]["content"] == (
        "Plot it.\nContext: \nData is in x.csv.\nUse a bar chart.")  # fmt: skip


def test_tools_offered_by_an_agent_run_in_its_tool_node() -> None:
    call = {"tool_calls": [{"name": "calculate", "arguments": {"expression": "2 ** 10"}}]}
    solver = AssistantAgent("solver", tools=["calculate"])
    result = initiate_chat_sync(QUIET, solver, "2 to the 10th?",
                                models=ScriptedModel([call, "1024.\nTERMINATE"]))  # fmt: skip
    roles = [(m.role, m.node) for m in result.messages]
    assert roles == [("user", None), ("assistant", "solver"), ("tool", "solver_tools"),
                     ("assistant", "solver")]  # fmt: skip
    assert result.messages[2].content == "1024" and result.summary == "1024.\n"


def test_user_proxy_runs_the_code_and_the_assistant_fixes_it(tmp_path: Path) -> None:
    buggy = "```python\nprint(undefined_name)\n```"
    fixed = "```python\nprint(2 + 2)\n```"
    proxy = UserProxyAgent(human_input_mode="NEVER", code_execution="local")
    result = initiate_chat_sync(proxy, AssistantAgent(), "Add 2 and 2",
                                models=ScriptedModel([buggy, fixed, "It is 4.\nTERMINATE"]),
                                work_dir=tmp_path)  # fmt: skip
    outputs = [m.text for m in result.messages if m.node == "user_proxy"]
    assert outputs[0].startswith("exitcode: 1 (execution failed)") and "NameError" in outputs[0]
    assert outputs[1] == "exitcode: 0 (execution succeeded)\nCode output: 4\n"
    assert result.summary == "It is 4.\n"


def test_bad_agents_are_definition_errors() -> None:
    with pytest.raises(DefinitionError, match="same name"):
        two_agent_chat(Agent("a"), Agent("a"))
    with pytest.raises(DefinitionError, match="human_input_mode"):
        Agent("a", human_input_mode="SOMETIMES")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="letters, digits"):
        Agent("no spaces please")


def test_the_chat_graph_round_trips_through_a_file(tmp_path: Path) -> None:
    from graphflow import load

    path = two_agent_chat(UserProxyAgent(), AssistantAgent(), max_turns=3).save(tmp_path / "c.yaml")
    graph = load(str(path))
    assert graph.spec.limits.stop_when == "len(messages) >= 6"
    assert sorted(graph.nodes) == ["assistant", "done", "user_proxy", "user_proxy_exit",
                                   "user_proxy_human"]  # fmt: skip


def test_initial_message_counts_as_the_senders_own(monkeypatch: Any) -> None:
    model = ScriptedModel(["reply"])
    sender = Agent("boss", human_input_mode="NEVER", max_consecutive_auto_reply=1)
    initiate_chat_sync(sender, AssistantAgent(), "hello", models=model, max_turns=1)
    assert model.requests[0][1] == {"role": "user", "name": "boss", "content": "hello"}
    assert isinstance(Message(content="x"), Message)
