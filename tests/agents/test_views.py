"""An agent's view of the conversation: own messages as assistant, others as user."""

from __future__ import annotations

from graphflow.agents.views import ContextConfig, agent_view, is_own, transcript
from graphflow.messages import Message

TASK = Message(role="user", name="boss", content="Write a haiku")


def convo() -> list[Message]:
    return [
        TASK,
        Message(role="assistant", name="poet", node="poet", content="draft 1"),
        Message(role="assistant", name="critic", node="critic", content="too long"),
        Message(role="assistant", name="poet", node="poet", content="draft 2"),
        Message(role="assistant", name="editor", node="editor", content="ok"),
    ]


def test_own_messages_are_assistant_and_others_user_with_names() -> None:
    view = agent_view(convo(), node_id="poet", name="poet", system="Be brief")
    assert [(m["role"], m.get("name")) for m in view] == [
        ("system", None), ("user", "boss"), ("assistant", None), ("user", "critic"),
        ("assistant", None), ("user", "editor")]  # fmt: skip
    assert view[0]["content"] == "Be brief"


def test_initial_message_belongs_to_the_agent_named_in_it() -> None:
    assert is_own(TASK, "boss", "boss")
    assert not is_own(TASK, "poet", "poet")
    view = agent_view(convo(), node_id="boss", name="boss")
    assert view[0]["role"] == "assistant"


def test_filtered_view_by_speakers_keeps_own_and_input() -> None:
    context = ContextConfig.model_validate({"from": ["critic", "input"]})
    view = agent_view(convo(), node_id="poet", name="poet", context=context)
    assert [m["content"] for m in view] == ["Write a haiku", "draft 1", "too long", "draft 2"]
    no_own = ContextConfig.model_validate({"from": ["critic"], "own": False})
    assert [m["content"] for m in agent_view(convo(), node_id="poet", name="poet",
                                             context=no_own)] == ["too long"]  # fmt: skip


def test_last_n_keeps_the_task_unless_told_not_to() -> None:
    keep = agent_view(convo(), node_id="poet", name="poet", context=ContextConfig(last=2))
    assert [m["content"] for m in keep] == ["Write a haiku", "draft 2", "ok"]
    drop = agent_view(convo(), node_id="poet", name="poet",
                      context=ContextConfig(last=2, task=False))  # fmt: skip
    assert [m["content"] for m in drop] == ["draft 2", "ok"]


def test_tool_results_stay_tool_messages_only_for_the_callers_own_calls() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    messages = [TASK,
                Message(role="assistant", name="poet", node="poet", content=None, tool_calls=[call]),
                Message(role="tool", name="add", node="tools", tool_call_id="c1", content="3")]  # fmt: skip
    caller = agent_view(messages, node_id="poet", name="poet")
    assert caller[1]["tool_calls"] == [call] and caller[1]["content"] is None
    assert caller[2] == {"role": "tool", "tool_call_id": "c1", "content": "3"}
    other = agent_view(messages, node_id="critic", name="critic")
    assert other[1]["role"] == "user" and "add({})" in other[1]["content"]
    assert other[2]["role"] == "user" and other[2]["content"] == "[tool result c1] 3"


def test_instruction_is_appended_last_and_names_are_api_safe() -> None:
    messages = [Message(role="assistant", name="data analyst", node="a b", content="x")]
    view = agent_view(messages, node_id="me", name="me", instruction="Summarize.")
    assert view[0]["name"] == "data_analyst"
    assert view[-1] == {"role": "system", "content": "Summarize."}


def test_transcript_is_speaker_colon_text() -> None:
    assert transcript(convo()[:2]) == "boss: Write a haiku\n\npoet: draft 1"
