"""AutoGen's human input modes, termination and auto-reply limits, pinned.

Each chat is a user proxy (no model) and an assistant whose replies are scripted. The
log interleaves the messages as they are committed with ``ASK`` where the run paused
for a person, so each test states exactly when a person is asked.
"""

from __future__ import annotations

from typing import Any

import pytest

from graphflow import events as ev
from graphflow.models import ScriptedModel
from graphflow.patterns import AssistantAgent, ChatResult, UserProxyAgent, initiate_chat_sync


def chat(replies: list[str], answers: list[str], **proxy: Any) -> tuple[ChatResult, list[str]]:
    log: list[str] = []

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.MessageEvent):
            log.append(event.message.content or "")
        elif isinstance(event, ev.Waiting):
            log.append("ASK")

    result = initiate_chat_sync(UserProxyAgent(**proxy), AssistantAgent(), "task",
                                models=ScriptedModel(replies), human_input=answers,
                                on_event=on_event)  # fmt: skip
    return result, log


def test_always_asks_on_every_message_and_empty_means_auto_reply() -> None:
    result, log = chat(["r1", "r2", "r3\nTERMINATE"], ["", "more please", ""],
                       human_input_mode="ALWAYS")  # fmt: skip
    assert log == ["r1", "ASK", "", "r2", "ASK", "more please", "r3\nTERMINATE", "ASK"]
    assert result.status == "completed"
    assert result.reason == "user_proxy: termination message from assistant"
    assert result.human_input == ["", "more please", ""]
    said = [(m["name"], m["content"]) for m in result.chat_history]
    assert said[4] == ("user_proxy", "more please")  # a person's answer is the proxy's reply


def test_exit_ends_the_conversation() -> None:
    result, log = chat(["r1", "r2"], ["exit"], human_input_mode="ALWAYS")
    assert log == ["r1", "ASK"]
    assert (result.status, result.reason) == ("completed", "user_proxy: the person typed exit")
    assert [m["content"] for m in result.chat_history] == ["task", "r1"]


def test_always_ignores_the_auto_reply_limit() -> None:
    result, log = chat(["r1", "r2", "r3", "r4\nTERMINATE"], ["", "", "", ""],
                       human_input_mode="ALWAYS", max_consecutive_auto_reply=1)  # fmt: skip
    assert log.count("ASK") == 4 and log[-1] == "ASK"
    assert result.reason == "user_proxy: termination message from assistant"


def test_terminate_asks_only_on_termination_or_when_the_limit_is_hit() -> None:
    replies = ["r1", "r2", "r3", "r4", "r5\nTERMINATE"]
    result, log = chat(replies, ["", "keep going", ""], human_input_mode="TERMINATE",
                       max_consecutive_auto_reply=2)  # fmt: skip
    assert log == ["r1", "", "r2", "", "r3", "ASK", "", "r4", "ASK", "keep going",
                   "r5\nTERMINATE", "ASK"]  # fmt: skip
    assert result.reason == "user_proxy: termination message from assistant"


def test_terminate_with_feedback_after_a_termination_message_continues() -> None:
    result, log = chat(["done\nTERMINATE", "better\nTERMINATE"], ["add tests", ""],
                       human_input_mode="TERMINATE")  # fmt: skip
    assert log == ["done\nTERMINATE", "ASK", "add tests", "better\nTERMINATE", "ASK"]
    assert result.status == "completed"


def test_never_ends_at_the_auto_reply_limit_without_asking() -> None:
    result, log = chat(["r1", "r2", "r3", "r4"], [], human_input_mode="NEVER",
                       max_consecutive_auto_reply=2)  # fmt: skip
    assert log == ["r1", "", "r2", "", "r3"]
    assert result.reason == "user_proxy: max_consecutive_auto_reply (2) reached"


def test_never_ends_on_a_termination_message() -> None:
    result, log = chat(["r1", "r2 TERMINATE", "r3"], [], human_input_mode="NEVER")
    assert log == ["r1", "", "r2 TERMINATE"]
    assert result.reason == "user_proxy: termination message from assistant"
    assert result.summary == "r2 "  # AutoGen's last_msg: TERMINATE removed, nothing trimmed


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("All done. TERMINATE", True),
        ("TERMINATE", True),
        ("ok TERMINATE  \n", True),
        ("TERMINATE the process first, then retry", False),
        ("terminate", False),
    ],
)
def test_default_termination_test_is_content_ending_with_terminate(text: str, ends: bool) -> None:
    _, log = chat([text, "next"], [], human_input_mode="NEVER", max_consecutive_auto_reply=5)
    assert (log == [text]) is ends


def test_custom_termination_condition() -> None:
    _, log = chat(["working", "all DONE here", "more"], [], human_input_mode="NEVER",
                       is_termination_msg='contains(last.content, "DONE")')  # fmt: skip
    assert log == ["working", "", "all DONE here"]


def test_a_waiting_chat_resumes_with_the_answer() -> None:
    result, _ = chat(["r1", "r2\nTERMINATE"], [], human_input_mode="ALWAYS")
    assert result.status == "waiting" and "feedback" in (result.question or "").lower()
    result = result.resume_sync("please finish")
    assert result.status == "waiting"  # asked again on the termination message
    result = result.resume_sync("")
    assert result.status == "completed" and result.human_input == ["please finish", ""]
    assert [m["content"] for m in result.chat_history] == ["task", "r1", "please finish",
                                                           "r2\nTERMINATE"]  # fmt: skip
