"""The patterns behave as AutoGen 0.2 where graphflow claims AutoGen's behaviour; each
test names the AutoGen code (pyautogen 0.2.35, ``autogen/agentchat/...``) it is pinned to.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow import DefinitionError, Graph, Store
from graphflow.context import RunContext
from graphflow.models import ModelConfig, ModelSet, ScriptedModel
from graphflow.patterns import (
    AUTOGEN_TERMINATION,
    Agent,
    AssistantAgent,
    Chat,
    UserProxyAgent,
    add_nested_chat,
    initiate_chat_sync,
    initiate_chats_sync,
    initiate_group_chat_sync,
    two_agent_chat,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
QUIET = UserProxyAgent(human_input_mode="NEVER")


def test_autogens_termination_test_is_a_switch_and_the_difference_is_documented() -> None:
    """AutoGen's default is ``content_str(x.get("content")) == "TERMINATE"``
    (``conversable_agent.py``, ``ConversableAgent.__init__``). graphflow's patterns keep
    ``endswith`` on purpose, say so in docs/patterns.md, and AUTOGEN_TERMINATION restores
    AutoGen's: a message that only ends with TERMINATE goes on, a bare one ends."""
    text = (DOCS / "patterns.md").read_text(encoding="utf-8")
    assert "AUTOGEN_TERMINATION" in text and "deliberate difference" in text.lower()
    proxy = UserProxyAgent(human_input_mode="NEVER", is_termination_msg=AUTOGEN_TERMINATION,
                           default_auto_reply="Go on.")  # fmt: skip
    model = ScriptedModel(["Done.\nTERMINATE", "TERMINATE"])
    result = initiate_chat_sync(proxy, AssistantAgent(), "Do it.", models=model)
    assert [m["content"] for m in result.chat_history] == [
        "Do it.", "Done.\nTERMINATE", "Go on.", "TERMINATE"]  # fmt: skip
    assert len(model.requests) == 2
    default = initiate_chat_sync(QUIET, AssistantAgent(), "Do it.",
                                 models=ScriptedModel(["Done.\nTERMINATE"]))  # fmt: skip
    assert len(default.chat_history) == 2


def test_a_summary_function_of_autogens_signature_is_a_definition_error_before_the_chat(
    tmp_path: Path,
) -> None:
    """AutoGen calls ``summary_method(sender, recipient, summary_args)``
    (``ConversableAgent._summarize_chat``); the patterns take ``(messages[,
    summary_args])``. Another signature must fail before any model call and any run."""
    model = ScriptedModel(["4.\nTERMINATE"])
    with Store(tmp_path / "runs.db") as store, pytest.raises(DefinitionError) as caught:
        initiate_chat_sync(QUIET, AssistantAgent(), "2 + 2?", models=model, store=store,
                           summary_method=lambda sender, recipient, summary_args: "x")  # fmt: skip
    assert "graphflow.autogen" in str(caught.value)
    assert list(model.requests) == []
    with Store(tmp_path / "runs.db") as store:
        assert store.list_runs() == []
    with pytest.raises(DefinitionError, match="summary_method"):
        initiate_chats_sync([Chat(QUIET, AssistantAgent(), "x",
                                  summary_method=lambda a, b, c, d: "")],
                            models=ScriptedModel([]))  # fmt: skip


def nested_writing(inner: object, **options: object) -> Graph:
    outer = Graph("writing", entry="writer")
    outer.add_node("writer", kind="agent", is_termination_msg=None)
    add_nested_chat(outer, "critic", inner, **options)
    outer.add_node("editor", kind="agent", max_consecutive_auto_reply=1)
    outer.add_node("done", kind="end")
    outer.add_edge("writer", "critic").add_edge("critic", "editor")
    outer.add_edge("editor", "done", when="state.chat_end").add_edge("editor", "done", otherwise=True)
    return outer


def test_a_nested_chat_replies_with_its_summary_under_the_nodes_name() -> None:
    """``ConversableAgent._summary_from_nested_chats`` returns the last chat's summary
    (``last_msg``: TERMINATE removed) as the registering agent's reply, so a TERMINATE
    said inside never ends the outer chat."""
    panel = two_agent_chat(Agent("chair", human_input_mode="NEVER", max_consecutive_auto_reply=1),
                           AssistantAgent("reviewer"), max_turns=1, name="panel")  # fmt: skip
    model = ScriptedModel(["Graphs, Plainly", "Good title.\nTERMINATE", "Published."])
    result = nested_writing(panel).compile().run_sync(
        "Write a title.", context=RunContext.with_models(model))  # fmt: skip
    said = [(m.node, m.name, m.content) for m in result.messages if m.node]
    assert said == [("writer", "writer", "Graphs, Plainly"), ("critic", "critic", "Good title.\n"),
                    ("editor", "editor", "Published.")]  # fmt: skip


def test_nested_chats_reply_as_the_agent_and_call_message_functions() -> None:
    """``ConversableAgent._get_chats_to_run``: a callable ``message`` is called before the
    chats run and its result is the message; the reply is the recipient's (not a
    ``summary_0`` node's); each chat's sender says its first message."""
    seen: list[dict[str, object]] = []

    def ask_for_review(sender: Agent, recipient: Agent, context: dict[str, object]) -> str:
        seen.append(context)
        return f"Review this: {context['messages'][-1]['content']}"  # type: ignore[index]

    proxy = Agent("chair", human_input_mode="NEVER", max_consecutive_auto_reply=1)
    chats = [Chat(proxy, AssistantAgent("reviewer"), ask_for_review, max_turns=1)]
    model = ScriptedModel(["Graphs, Plainly", "Fine.", "Published."])
    result = nested_writing(chats).compile().run_sync(
        "Write a title.", context=RunContext.with_models(model))  # fmt: skip
    assert model.requests[1][-1] == {"role": "user", "name": "chair",
                                     "content": "Review this: Graphs, Plainly"}  # fmt: skip
    critic = next(m for m in result.messages if m.node == "critic")
    assert (critic.name, critic.content) == ("critic", "Fine.")
    assert seen[0]["carryover"] == []


def test_sequential_chats_start_with_the_senders_message() -> None:
    """``initiate_chats`` → ``sender.initiate_chat``: the first message is the sender's
    (its name on the message the recipient's model reads), not ``user``."""
    boss = Agent("boss", human_input_mode="NEVER")
    model = ScriptedModel(["one", "two"])
    results = initiate_chats_sync([Chat(boss, AssistantAgent("a"), "First.", max_turns=1),
                                   Chat(boss, AssistantAgent("b"), "Second.", max_turns=1)],
                                  models=model)  # fmt: skip
    assert [r[1] for r in model.requests] == [
        {"role": "user", "name": "boss", "content": "First."},
        {"role": "user", "name": "boss", "content": "Second.\nContext: \none"}]  # fmt: skip
    assert results[1].chat_history[0] == {"content": "Second.\nContext: \none",
                                          "role": "assistant", "name": "boss"}  # fmt: skip


def test_last_msg_is_the_last_message_without_terminate_and_may_be_empty() -> None:
    """``ConversableAgent._last_msg_as_summary``: ``recipient.last_message(sender)
    ["content"].replace("TERMINATE", "")`` — the last message even when it is only
    TERMINATE, nothing trimmed."""
    result = initiate_chat_sync(QUIET, AssistantAgent(), "Go.",
                                models=ScriptedModel(["All done.", "TERMINATE"]),
                                max_turns=2)  # fmt: skip
    assert result.summary == ""
    two = initiate_chat_sync(QUIET, AssistantAgent(), "Go.",
                             models=ScriptedModel(["Done. TERMINATE"]))  # fmt: skip
    assert two.summary == "Done. "


def test_chat_history_is_the_initiators_view_and_cost_has_autogens_keys() -> None:
    """``initiate_chat`` returns ``ChatResult(chat_history=self.chat_messages[recipient],
    cost=gather_usage_summary([self, recipient]))`` (``agentchat/utils.py``)."""
    model = ScriptedModel(["4.\nTERMINATE"])
    result = initiate_chat_sync(QUIET, AssistantAgent(), "2 + 2?", models=model)
    assert [(m["role"], m["name"]) for m in result.chat_history] == [
        ("assistant", "user_proxy"), ("user", "assistant")]  # fmt: skip
    including = result.cost["usage_including_cached_inference"]
    (name,) = [k for k in including if k != "total_cost"]
    assert set(including[name]) == {"cost", "prompt_tokens", "completion_tokens", "total_tokens"}
    assert including[name]["total_tokens"] == result.usage["total_tokens"]
    assert result.cost["usage_excluding_cached_inference"]["total_cost"] == 0


def test_code_runs_in_the_work_dir_itself(tmp_path: Path) -> None:
    """AutoGen runs code in ``code_execution_config["work_dir"]``; ``work_dir=`` is that
    directory, not ``work_dir/RUN_ID``."""
    proxy = UserProxyAgent(human_input_mode="NEVER", code_execution="local")
    code = "```python\nopen('chart.txt', 'w').write('ok')\nprint('saved')\n```"
    result = initiate_chat_sync(proxy, AssistantAgent(), "Save it.", work_dir=tmp_path,
                                models=ScriptedModel([code, "TERMINATE"]))  # fmt: skip
    assert (tmp_path / "chart.txt").read_text() == "ok"
    assert "exitcode: 0" in result.chat_history[2]["content"]


def test_sequential_reflection_reads_the_task_and_carryover_with_the_recipients_model() -> None:
    """``_reflection_with_llm_as_summary`` sends ``recipient.chat_messages_for_summary(
    sender)`` — the whole chat with its first message (task and carryover) — to the
    recipient's client."""
    models = ModelSet({"default": ScriptedModel(["ignored"]),
                       "writer": ScriptedModel(["Paris has 2.1 million people.",
                                                "About 2.1 million."])})  # fmt: skip
    proxy = Agent("proxy", human_input_mode="NEVER", model=False)
    chats = [Chat(proxy, AssistantAgent("writer", model="writer"), "Population of Paris?",
                  max_turns=1, carryover="Use 2023 data.",
                  summary_method="reflection_with_llm")]  # fmt: skip
    (result,) = initiate_chats_sync(chats, models=models)
    asked = models.entries["writer"].instance.requests[-1]
    assert asked == [
        {"role": "user", "name": "proxy", "content": "Population of Paris?\nContext: \nUse 2023 data."},
        {"role": "assistant", "content": "Paris has 2.1 million people."},
        {"role": "system", "content": "Summarize the takeaway from the conversation. Do not add "
                                      "any introductory phrases."}]  # fmt: skip
    assert result.summary == "About 2.1 million."


def test_manual_picks_are_not_human_input_and_questions_say_what_enter_does() -> None:
    """``GroupChat.manual_select_speaker`` reads the pick with ``input()``, not
    ``get_human_input``, so it is not in ``ChatResult.human_input``; at a termination
    message ``check_termination_and_human_reply`` asks "Press enter or type 'exit' to
    stop the conversation", since enter ends the chat there."""
    team = [Agent("a", human_input_mode="NEVER"), Agent("b", human_input_mode="NEVER")]
    result = initiate_group_chat_sync(team, "Go.", selection="manual", max_round=3,
                                      human_input=["b", "a"],
                                      models=ScriptedModel(["one", "two"]))  # fmt: skip
    assert [m["name"] for m in result.chat_history] == ["user", "b", "a"]
    assert result.human_input == []
    questions: list[str] = []

    def person(question: str) -> str:
        questions.append(question)
        return ""

    initiate_chat_sync(UserProxyAgent(human_input_mode="TERMINATE", max_consecutive_auto_reply=1),
                       AssistantAgent(), "Go.", human_input=person,
                       models=ScriptedModel(["Working.", "More.", "Done.\nTERMINATE"]))  # fmt: skip
    assert questions == [
        "Please give feedback to assistant. Press enter to skip and use auto-reply, or type "
        "'exit' to stop the conversation: ",
        "Please give feedback to assistant. Press enter or type 'exit' to stop the "
        "conversation: "]  # fmt: skip


def test_an_empty_user_proxy_reply_is_not_sent_to_the_model(model_server) -> None:
    """AutoGen users reported (microsoft/autogen#1521, #2154) that a NEVER-mode user proxy
    with nothing to run replies ``""`` and servers that refuse empty content fail the
    chat. The transcript keeps the empty reply; the model is never sent it."""

    def strict(request):  # a server that refuses empty content, as LM Studio does
        if any(m.get("content") == "" for m in request.messages):
            raise ValueError("'messages' must only contain non-empty content")
        return ["Here is the plan.", "Done.\nTERMINATE"][len(server.request_log) - 1]

    server = model_server(strict)
    config = ModelConfig(model="scripted", base_url=server.base_url, max_retries=0)
    result = initiate_chat_sync(QUIET, AssistantAgent(), "Plan it.", models=config)
    assert result.status == "completed"
    assert [m["content"] for m in result.chat_history] == [
        "Plan it.", "Here is the plan.", "", "Done.\nTERMINATE"]  # fmt: skip
    assert all(m.get("content") != "" for body in server.request_log for m in body["messages"])
