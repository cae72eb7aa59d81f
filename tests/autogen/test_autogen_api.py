"""graphflow.autogen behaves as AutoGen 0.2 (pyautogen 0.2.35, ``autogen/agentchat``);
each chat is a graph run: checkpointed, resumable, drawable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest

from graphflow import DefinitionError, Store
from graphflow.autogen import (
    AssistantAgent,
    ConversableAgent,
    GroupChat,
    GroupChatManager,
    UserProxyAgent,
    chat_graph,
    config_list_from_json,
    initiate_chats,
    register_function,
)


@pytest.fixture
def llm(model_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``llm(replies)``: an llm_config pointing at a fresh scripted server."""

    def make(replies: Any) -> dict[str, Any]:
        server = make.server = model_server(replies)
        path = tmp_path / f"OAI_CONFIG_LIST_{server.port}"
        path.write_text(f'[{{"model": "scripted", "base_url": "{server.base_url}", '
                        '"api_key": "sk-local", "tags": ["local"]}]')  # fmt: skip
        return {"config_list": config_list_from_json(str(path), filter_dict={"tags": ["local"]}),
                "cache_seed": None}  # fmt: skip

    return make


def bodies(server: Any) -> list[list[dict[str, Any]]]:
    return [body["messages"] for body in server.request_log]


def test_default_termination_is_autogens_exact_test(llm) -> None:
    """``ConversableAgent.__init__``: ``content_str(x.get("content")) == "TERMINATE"``."""
    config = llm(["Done.\nTERMINATE", "TERMINATE"])
    proxy = UserProxyAgent("user_proxy", human_input_mode="NEVER", code_execution_config=False,
                           default_auto_reply="Go on.")  # fmt: skip
    result = proxy.initiate_chat(AssistantAgent("assistant", llm_config=config), message="Go.",
                                 silent=True)  # fmt: skip
    assert [m["content"] for m in result.chat_history] == ["Go.", "Done.\nTERMINATE", "Go on.",
                                                           "TERMINATE"]  # fmt: skip
    assert result.summary == ""  # last_msg of a bare TERMINATE


def test_summary_methods_in_autogens_signature_and_chat_messages(llm) -> None:
    """``_summarize_chat`` calls ``summary_method(sender, recipient, summary_args)``;
    ``recipient.last_message(sender)`` is the chat's last message."""
    config = llm(["The answer is 42.\nTERMINATE"])
    seen: dict[str, Any] = {}

    def my_summary(sender: ConversableAgent, recipient: ConversableAgent, summary_args: dict) -> str:
        seen.update(summary_args)
        return recipient.last_message(sender)["content"].upper()

    proxy = UserProxyAgent("user_proxy", human_input_mode="NEVER", code_execution_config=False,
                           is_termination_msg=lambda m: "TERMINATE" in (m["content"] or ""))  # fmt: skip
    bot = AssistantAgent("assistant", llm_config=config)
    result = proxy.initiate_chat(bot, message="Question?", summary_method=my_summary,
                                 summary_args={"x": 1}, silent=True)  # fmt: skip
    assert result.summary == "THE ANSWER IS 42.\nTERMINATE"
    assert seen == {"x": 1, "cache": None}
    assert proxy.chat_messages[bot][0] == {"content": "Question?", "role": "assistant",
                                           "name": "user_proxy"}  # fmt: skip
    assert bot.chat_messages[proxy][1]["role"] == "assistant"
    with pytest.raises(DefinitionError, match="summary"):
        proxy.initiate_chat(bot, message="Q", summary_method=lambda a, b: "", silent=True)


def test_get_human_input_override_answers_the_checkpoints(llm) -> None:
    """Overriding ``get_human_input`` is AutoGen's way to answer from elsewhere."""
    config = llm(["Draft one.", "Draft two.\nTERMINATE", "Draft three."])

    class Reviewer(UserProxyAgent):
        answers = ["Shorter, please.", "", "exit"]
        prompts: list[str] = []

        def get_human_input(self, prompt: str) -> str:
            self.prompts.append(prompt)
            return self.answers.pop(0)

    reviewer = Reviewer("reviewer", code_execution_config=False)
    result = reviewer.initiate_chat(AssistantAgent("writer", llm_config=config), message="Write.",
                                    silent=True)  # fmt: skip
    assert result.human_input == ["Shorter, please.", "", "exit"]
    assert [m["content"] for m in result.chat_history] == [
        "Write.", "Draft one.", "Shorter, please.", "Draft two.\nTERMINATE", "", "Draft three."]
    assert result.status == "completed"


def test_tools_registered_with_register_function_run_for_the_caller(llm) -> None:
    """``register_function(f, caller=, executor=, description=)``: the caller's model gets
    the schema; the executor's function runs."""
    config = llm([{"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}]},
                  "It is 42.\nTERMINATE", "TERMINATE"])  # fmt: skip

    def add(a: Annotated[int, "first"], b: Annotated[int, "second"]) -> int:
        return a + b

    bot = AssistantAgent("assistant", llm_config=config)
    proxy = UserProxyAgent("user_proxy", human_input_mode="NEVER", code_execution_config=False)
    register_function(add, caller=bot, executor=proxy, description="Add two numbers.")
    result = proxy.initiate_chat(bot, message="2 + 40?", silent=True)
    tool = next(m for m in result.chat_history if m["role"] == "tool")
    assert tool["content"] == "42"
    offered = llm.server.request_log[0]["tools"][0]["function"]
    assert offered["name"] == "add" and offered["description"] == "Add two numbers."


def test_group_chat_through_its_manager(llm) -> None:
    """``user_proxy.initiate_chat(manager)``: the manager picks speakers (here round
    robin) and ends on its termination test; chat_history is the sender's view."""
    config = llm(["Plan: print hi.", "print('hi')", "TERMINATE"])
    proxy = UserProxyAgent("user_proxy", human_input_mode="NEVER", code_execution_config=False)
    planner = AssistantAgent("planner", llm_config=config)
    coder = AssistantAgent("coder", llm_config=config)
    group = GroupChat([proxy, planner, coder], messages=[], max_round=6,
                      speaker_selection_method="round_robin")  # fmt: skip
    manager = GroupChatManager(group)
    result = proxy.initiate_chat(manager, message="Say hi.", silent=True)
    assert [(m["name"], m["role"]) for m in result.chat_history] == [
        ("user_proxy", "assistant"), ("planner", "user"), ("coder", "user"),
        ("user_proxy", "assistant"), ("planner", "user")]  # fmt: skip
    assert result.chat_history[-1]["content"] == "TERMINATE"
    assert group.messages[-1]["content"] == "TERMINATE"


def test_nested_chats_reply_with_their_summary(llm) -> None:
    """``register_nested_chats``: after the termination and human checks, the reply is
    the last nested chat's summary; a callable message is called with ``(recipient,
    messages, sender, config)`` (``_get_chats_to_run``)."""
    config = llm(["A poem about graphs.", "Needs a title. TERMINATE", "Thanks.\nTERMINATE"])
    writer = AssistantAgent("writer", llm_config=config)
    critic = AssistantAgent("critic", llm_config=False)
    reviewer = AssistantAgent("reviewer", llm_config=config)

    def review_message(recipient: Any, messages: list[dict], sender: Any, config: Any) -> str:
        return f"Review this: {messages[-1]['content']}"

    critic.register_nested_chats([{"recipient": reviewer, "message": review_message,
                                   "max_turns": 1, "summary_method": "last_msg"}],
                                 trigger=writer)  # fmt: skip
    result = critic.initiate_chat(writer, message="Write a poem.", max_turns=2, silent=True)
    said = [(m["name"], m["content"]) for m in result.chat_history]
    assert said[2] == ("critic", "Needs a title. ")
    assert bodies(llm.server)[1][-1] == {"role": "user", "name": "critic",
                                         "content": "Review this: A poem about graphs."}  # fmt: skip


def test_each_chat_is_a_checkpointed_resumable_drawable_graph(llm, tmp_path: Path) -> None:
    config = llm(["Hello.\nTERMINATE"])
    proxy = UserProxyAgent("user_proxy", human_input_mode="TERMINATE", code_execution_config=False,
                           is_termination_msg=lambda m: (m["content"] or "").endswith("TERMINATE"))  # fmt: skip
    proxy.get_human_input = lambda prompt: None  # type: ignore[method-assign,assignment,return-value]
    bot = AssistantAgent("assistant", llm_config=config)
    with Store(tmp_path / "runs.db") as store:
        result = proxy.initiate_chat(bot, message="Hi.", store=store, run_id="chat1", silent=True)
        assert result.status == "waiting" and store.get_run("chat1").status == "waiting"
        done = result.resume_sync("exit")
    assert done.status == "completed" and done.human_input == ["exit"]
    assert "user_proxy_human" in chat_graph(proxy, bot).compile().to_dot()


def test_initiate_chats_carries_summaries_over(llm) -> None:
    """``chat.py``, ``initiate_chats``: each chat's carryover is the earlier summaries."""
    config = llm(["Data in x.csv.\nTERMINATE", "Mean is 3.\nTERMINATE"])
    proxy = UserProxyAgent("user_proxy", human_input_mode="NEVER", code_execution_config=False,
                           is_termination_msg=lambda m: "TERMINATE" in (m["content"] or ""))  # fmt: skip
    a, b = AssistantAgent("a", llm_config=config), AssistantAgent("b", llm_config=config)
    first, second = initiate_chats([
        {"sender": proxy, "recipient": a, "message": "Find data.", "silent": True},
        {"sender": proxy, "recipient": b, "message": "Analyse.", "silent": True}])  # fmt: skip
    assert second.chat_history[0]["content"] == "Analyse.\nContext: \nData in x.csv.\n"
    assert set(first.cost) == {"usage_including_cached_inference",
                               "usage_excluding_cached_inference"}  # fmt: skip


def test_code_execution_config_maps_to_graphflows_executors(monkeypatch: pytest.MonkeyPatch) -> None:
    """AutoGen 0.2 runs code in Docker by default (``decide_use_docker``) and fails
    when Docker is not running; graphflow's default is an isolated executor (``auto``:
    bubblewrap, else Docker), ``use_docker=False`` the current environment."""
    from graphflow.autogen.chat import executor_of

    assert executor_of({"work_dir": "coding"}, "p") == {"executor": "auto"}
    assert executor_of({"use_docker": False, "timeout": 5}, "p") == {"executor": "local",
                                                                       "timeout": 5.0}  # fmt: skip
    assert executor_of({"use_docker": "python:3-slim"}, "p") == {"executor": "docker",
                                                                  "image": "python:3-slim"}  # fmt: skip
    monkeypatch.setenv("AUTOGEN_USE_DOCKER", "False")
    assert executor_of({}, "p") == {"executor": "local"}
