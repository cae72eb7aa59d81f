"""What an agent sees: its view of the shared conversation, in the OpenAI chat shape.

The run's conversation is one ordered list of messages from every node. Each agent
sees it from its own side, as AutoGen's agents do: its own messages are ``assistant``
messages, everybody else's are ``user`` messages carrying the speaker's name, and tool
results stay ``tool`` messages only when they answer this agent's own tool calls. An
empty message from someone else (a user proxy with nothing to run and no
``default_auto_reply``) is left out: it says nothing, and servers that refuse empty
content would fail the run.

A :class:`ContextConfig` narrows the view: only some speakers' messages, only the last
N, with or without the agent's own messages, with or without the task (the first
message).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from graphflow.messages import Message

__all__ = ["ContextConfig", "agent_view", "dumps_view", "is_own", "speaker_of", "transcript"]


class ContextConfig(BaseModel):
    """Which messages of the conversation an agent sees.

    Attributes:
        speakers: node ids or speaker names whose messages it sees (``None``: everyone).
            ``input`` stands for the messages the run started with.
        last: only the last N messages (after the other filters).
        own: also see its own messages even when ``speakers`` leaves them out.
        task: always keep the run's first message (the task), even when ``last`` cuts it.
        as_speaker: see the conversation as this speaker does: messages said under this
            name are its own (``assistant``), as a chat's summary is written from its
            recipient's side (AutoGen's ``reflection_with_llm``).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    speakers: list[str] | None = Field(default=None, alias="from")
    last: int | None = Field(default=None, ge=1)
    own: bool = True
    task: bool = True
    as_speaker: str | None = None


def speaker_of(message: Message) -> str:
    """The name a message is shown under: its ``name``, else its node, else its role.

    Example:
        >>> speaker_of(Message(role="user", content="hi"))
        'user'
    """
    return message.name or message.node or message.role


def is_own(message: Message, node_id: str, name: str) -> bool:
    """Whether ``message`` was said by the agent ``node_id`` (named ``name``).

    Messages a run starts with have no node; they belong to the agent whose name they
    carry (the sender of ``initiate_chat``).

    Example:
        >>> is_own(Message(role="user", name="boss", content="go"), "boss", "boss")
        True
    """
    if message.node is not None:
        return message.node == node_id
    return message.name is not None and message.name == name


def _selected(
    messages: Sequence[Message], node_id: str, name: str, context: ContextConfig | None
) -> list[Message]:
    if context is None:
        return list(messages)
    out = list(messages)
    if context.speakers is not None:
        wanted = set(context.speakers)

        def keep(m: Message) -> bool:
            if context.own and is_own(m, node_id, name):
                return True
            if m.node is None and "input" in wanted:
                return True
            return bool({m.node, m.name} & wanted)

        out = [m for m in out if keep(m)]
    if context.last is not None and len(out) > context.last:
        first = messages[0] if messages else None
        out = out[-context.last :]
        if context.task and first is not None and first not in out:
            out.insert(0, first)
    return out


def _calls_text(calls: Sequence[dict[str, Any]]) -> str:
    parts = []
    for call in calls:
        function = call.get("function", {})
        parts.append(f"{function.get('name', '?')}({function.get('arguments', '')})")
    return "[tool calls: " + "; ".join(parts) + "]"


def agent_view(
    messages: Sequence[Message],
    *,
    node_id: str,
    name: str,
    system: str | None = None,
    context: ContextConfig | None = None,
    instruction: str | None = None,
) -> list[dict[str, Any]]:
    """The conversation as agent ``node_id`` sends it to its model.

    Args:
        messages: the run's conversation.
        node_id: the agent's node id.
        name: the agent's speaker name.
        system: its system message (already rendered), first in the view.
        context: which messages it sees (``None``: all).
        instruction: a system message appended after the conversation (a summary or
            speaker-selection request).

    Returns:
        OpenAI-shaped message dicts.

    Example:
        >>> convo = [Message(role="user", name="boss", content="Write a poem"),
        ...          Message(role="assistant", name="poet", node="poet", content="Roses...")]
        >>> [m["role"] for m in agent_view(convo, node_id="poet", name="poet", system="Be brief")]
        ['system', 'user', 'assistant']
    """
    out: list[dict[str, Any]] = []
    if system:
        out.append({"role": "system", "content": system})
    my_calls: set[str] = set()
    speaker = context.as_speaker if context is not None else None
    for m in _selected(messages, node_id, name, context):
        if m.role == "system":
            out.append({"role": "system", "content": m.text})
        elif m.role == "tool":
            if m.tool_call_id and m.tool_call_id in my_calls:
                out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.text})
            else:
                who = m.name or m.node or "tool"
                out.append({"role": "user", "name": _api_name(who),
                            "content": f"[tool result {m.tool_call_id or ''}] {m.text}".strip()})  # fmt: skip
        elif is_own(m, node_id, name) or (speaker is not None and m.name == speaker):
            item: dict[str, Any] = {"role": "assistant", "content": m.content}
            if m.tool_calls:
                item["tool_calls"] = m.tool_calls
                my_calls.update(str(c.get("id")) for c in m.tool_calls if c.get("id"))
            if item["content"] is None and not m.tool_calls:
                item["content"] = ""
            out.append(item)
        else:
            text = m.text
            if m.tool_calls:
                text = (text + "\n" if text else "") + _calls_text(m.tool_calls)
            if not text:
                continue  # an empty message says nothing, and some servers refuse it
            out.append({"role": "user", "name": _api_name(speaker_of(m)), "content": text})
    if instruction:
        out.append({"role": "system", "content": instruction})
    return out


def _api_name(name: str) -> str:
    # The OpenAI API accepts names matching ^[a-zA-Z0-9_-]+$ only.
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name)[:64] or "user"


def transcript(messages: Sequence[Message]) -> str:
    """The conversation as plain text, one ``speaker: content`` paragraph per message.

    Example:
        >>> transcript([Message(role="user", name="boss", content="go")])
        'boss: go'
    """
    lines = []
    for m in messages:
        text = m.text
        if m.tool_calls:
            text = (text + " " if text else "") + _calls_text(m.tool_calls)
        lines.append(f"{speaker_of(m)}: {text}")
    return "\n\n".join(lines)


def dumps_view(view: Sequence[dict[str, Any]]) -> str:
    """A compact JSON rendering of a view, for debugging and tests."""
    return json.dumps(list(view), ensure_ascii=False)
