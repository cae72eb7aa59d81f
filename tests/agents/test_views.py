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


# ---- views kept with a run's conversation ---------------------------------------------

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from graphflow.agents import views  # noqa: E402
from graphflow.conversation import Conversation  # noqa: E402
from graphflow.models import OpenAIMessages, estimate_prompt_tokens  # noqa: E402

CALL = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
SPOKEN = st.sampled_from([
    Message(role="user", name="boss", content="task"),
    Message(role="assistant", name="poet", node="poet", content="a line"),
    Message(role="assistant", name="poet", node="poet", content=None, tool_calls=[CALL]),
    Message(role="assistant", name="critic", node="critic", content="too long, redo"),
    Message(role="assistant", name="critic", node="critic", content=None, tool_calls=[CALL]),
    Message(role="tool", name="add", node="tools", tool_call_id="c1", content="2"),
    Message(role="system", content="be kind"),
    Message(role="assistant", name="data analyst", node="analyst", content="x = 1"),
])  # fmt: skip
CONTEXTS = st.sampled_from([
    None, ContextConfig(last=3), ContextConfig(last=1, task=False),
    ContextConfig.model_validate({"from": ["critic", "input"]}),
    ContextConfig.model_validate({"from": ["critic"], "own": False, "last": 2}),
])  # fmt: skip
AGENTS = st.sampled_from([("poet", "poet"), ("critic", "critic"), ("boss", "boss")])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(SPOKEN, max_size=4), max_size=8), CONTEXTS, AGENTS)
def test_a_kept_view_equals_the_view_built_from_scratch_after_every_turn(
        turns, context, agent) -> None:  # fmt: skip
    node_id, name = agent
    convo = Conversation()
    earlier: list[tuple[OpenAIMessages, list[dict]]] = []
    for said in turns:
        convo.extend(said)
        kept = agent_view(convo, node_id=node_id, name=name, system="sys", context=context)
        fresh = agent_view(list(convo), node_id=node_id, name=name, system="sys",
                           context=context)  # fmt: skip
        assert kept == fresh and list(kept) == list(fresh)
        assert kept.prompt_tokens == estimate_prompt_tokens(list(fresh))
        earlier.append((kept, list(kept)))
    for view, as_built in earlier:  # a view of an earlier turn never changes
        assert list(view) == as_built


def test_a_rolled_back_or_replaced_message_starts_the_view_over() -> None:
    convo = Conversation(convo_messages := [TASK, Message(role="assistant", name="critic",
                                                          node="critic", content="no")])
    agent_view(convo, node_id="poet", name="poet")
    del convo[1:]  # a step whose routing failed is undone
    convo.append(Message(role="assistant", name="editor", node="editor", content="yes"))
    assert [m["content"] for m in agent_view(convo, node_id="poet", name="poet")] == [
        "Write a haiku", "yes"]
    convo[0] = Message(role="user", name="boss", content="Write a sonnet")
    assert agent_view(convo, node_id="poet", name="poet")[0]["content"] == "Write a sonnet"
    assert convo_messages[0] is TASK


def test_each_message_is_converted_once_for_every_agent(monkeypatch) -> None:
    made = []
    original = views._shared_form
    monkeypatch.setattr(views, "_shared_form", lambda m: made.append(m) or original(m))
    convo = Conversation([TASK])
    members = ["a", "b", "c"]
    for turn in range(30):
        speaker = members[turn % 3]
        view = agent_view(convo, node_id=speaker, name=speaker)
        assert len(view) == len(convo)
        convo.append(Message(role="assistant", name=speaker, node=speaker, content=f"t{turn}"))
    assert len(made) == len(convo) - 1  # the last message was not needed yet
    a = agent_view(convo, node_id="a", name="a")
    b = agent_view(convo, node_id="b", name="b")
    assert a[-1] is b[-1]  # c's last words: one dict, shared by a's and b's views


def test_a_window_after_a_resume_reads_no_early_message() -> None:
    everything = [TASK] + [Message(role="assistant", name=f"s{i % 2}", node=f"s{i % 2}",
                                   content=f"m{i}") for i in range(200)]  # fmt: skip
    calls = []
    convo = Conversation.lazy(201, everything[-16:], lambda: calls.append(1) or everything,
                              first=TASK)  # fmt: skip
    view = agent_view(convo, node_id="s0", name="s0", context=ContextConfig(last=4))
    assert [m["content"] for m in view] == ["Write a haiku", "m196", "m197", "m198", "m199"]
    assert calls == [] and not convo.loaded
    full = agent_view(convo, node_id="s0", name="s0")  # the whole history: read once
    assert len(full) == 201 and calls == [1]


@pytest.mark.parametrize("context", [None, ContextConfig(last=2)])
def test_views_of_plain_lists_are_built_each_time(context) -> None:
    messages = convo()
    first = agent_view(messages, node_id="poet", name="poet", context=context)
    messages.append(Message(role="assistant", name="critic", node="critic", content="more"))
    second = agent_view(messages, node_id="poet", name="poet", context=context)
    assert len(second) == len(first) + (0 if context else 1)
    assert second[-1]["content"] == "more"
