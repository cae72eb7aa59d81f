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

In a run, the view is kept with the conversation (a
:class:`~graphflow.conversation.Conversation`) and extended with what was said since the
agent's last turn; each message is converted and its tokens estimated once, and a message
other agents see the same way is converted once for all of them. A turn therefore costs
what is new, however long the conversation. Messages are frozen and the conversation only
grows; anything else (a step rolled back) starts the views over.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from graphflow.conversation import Conversation
from graphflow.messages import Message
from graphflow.models.openai_messages import OpenAIMessages
from graphflow.models.usage import message_tokens

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
        keep = _keeper(node_id, name, context)
        out = [m for m in out if keep(m)]
    if context.last is not None and len(out) > context.last:
        first = messages[0] if messages else None
        out = out[-context.last :]
        if context.task and first is not None and first not in out:
            out.insert(0, first)
    return out


def _keeper(node_id: str, name: str, context: ContextConfig) -> Callable[[Message], bool]:
    """Whether a message passes the ``speakers`` filter of ``context``."""
    wanted = set(context.speakers or ())

    def keep(m: Message) -> bool:
        if context.own and is_own(m, node_id, name):
            return True
        if m.node is None and "input" in wanted:
            return True
        return bool({m.node, m.name} & wanted)

    return keep


def _calls_text(calls: Sequence[dict[str, Any]]) -> str:
    parts = []
    for call in calls:
        function = call.get("function", {})
        parts.append(f"{function.get('name', '?')}({function.get('arguments', '')})")
    return "[tool calls: " + "; ".join(parts) + "]"


# ---- converting one message ---------------------------------------------------------

#: (the message as sent, its token estimate)
_Form = tuple[dict[str, Any], int]


def _shared_form(m: Message) -> _Form | None:
    """``m`` as every agent that did not say it sees it (a system message, a tool result
    of someone else's call, or another speaker's words as a named user message); ``None``
    for another speaker's empty message, which says nothing (and some servers refuse)."""
    if m.role == "system":
        item: dict[str, Any] = {"role": "system", "content": m.text}
    elif m.role == "tool":
        who = m.name or m.node or "tool"
        item = {"role": "user", "name": _api_name(who),
                "content": f"[tool result {m.tool_call_id or ''}] {m.text}".strip()}  # fmt: skip
    else:
        text = m.text
        if m.tool_calls:
            text = (text + "\n" if text else "") + _calls_text(m.tool_calls)
        if not text:
            return None
        item = {"role": "user", "name": _api_name(speaker_of(m)), "content": text}
    return item, message_tokens(item)


def _own_form(m: Message) -> _Form:
    """``m`` as the agent that said it sees it: an assistant message."""
    item: dict[str, Any] = {"role": "assistant", "content": m.content}
    if m.tool_calls:
        item["tool_calls"] = m.tool_calls
    elif item["content"] is None:
        item["content"] = ""
    return item, message_tokens(item)


def _tool_form(m: Message) -> _Form:
    """A tool result answering the agent's own call: a ``tool`` message."""
    item = {"role": "tool", "tool_call_id": m.tool_call_id, "content": m.text}
    return item, message_tokens(item)


class _Converter:
    """Converts the messages of one agent's view in order (a tool result is a ``tool``
    message only after the agent's own call). ``shared`` and ``own`` look forms up by
    conversation index, so a message is converted once, not once per turn."""

    __slots__ = ("calls", "name", "node_id", "own", "shared", "speaker")

    def __init__(self, node_id: str, name: str, shared: dict[int, _Form | None] | None = None,
                 own: dict[int, _Form] | None = None, speaker: str | None = None) -> None:  # fmt: skip
        self.node_id, self.name, self.speaker = node_id, name, speaker
        self.calls: set[str] = set()
        self.shared = shared if shared is not None else {}
        self.own = own if own is not None else {}

    def form(self, index: int, m: Message) -> _Form | None:
        if m.role == "tool" and m.tool_call_id and m.tool_call_id in self.calls:
            return _tool_form(m)
        if m.role not in ("system", "tool") and (
                is_own(m, self.node_id, self.name)
                or (self.speaker is not None and m.name == self.speaker)):  # fmt: skip
            if m.tool_calls:
                self.calls.update(str(c.get("id")) for c in m.tool_calls if c.get("id"))
            found = self.own.get(index)
            if found is None:
                found = self.own[index] = _own_form(m)
            return found
        if index in self.shared:
            return self.shared[index]
        shared = self.shared[index] = _shared_form(m)
        return shared


# ---- views kept up to date as the conversation grows ---------------------------------


class _View:
    """One agent's converted view of a :class:`~graphflow.conversation.Conversation`,
    extended with the messages appended since it was last used (a view with ``last``
    keeps which messages it selects and converts only its window)."""

    __slots__ = ("converter", "epoch", "items", "keep", "seen", "selected", "tokens", "window")

    def __init__(self, convo: Conversation, node_id: str, name: str,
                 context: ContextConfig | None) -> None:  # fmt: skip
        self.epoch = convo.epoch
        self.seen = 0
        shared = convo.caches.setdefault(_SHARED, (convo.epoch, {}))[1]
        self.converter = _Converter(node_id, name, shared,
                                    speaker=context.as_speaker if context is not None else None)
        self.keep = _keeper(node_id, name, context) if context and context.speakers is not None \
            else None  # fmt: skip
        self.window = context.last if context is not None else None
        self.items: list[dict[str, Any]] = []  # the converted view (without a window)
        self.tokens = 0
        self.selected: list[int] = []  # indices the filter kept (with a window)

    def update(self, convo: Conversation, task: bool) -> tuple[list[dict[str, Any]], int]:
        """The view's messages and their token estimate, after the new messages."""
        count = len(convo)
        if self.seen < count:
            first, self.seen = self.seen, count
            if self.window is None:
                self._convert(convo[first:], first)
            elif self.keep is not None:  # a window of some speakers: keep who they are
                keep = self.keep
                self.selected.extend(first + i for i, m in enumerate(convo[first:]) if keep(m))
        if self.window is None:
            return self.items, self.tokens
        return self._windowed(convo, count, task)

    def _convert(self, new: Sequence[Message], first: int) -> None:
        form, keep, items = self.converter.form, self.keep, self.items
        tokens = 0
        for offset, m in enumerate(new):
            if keep is None or keep(m):
                found = form(first + offset, m)
                if found is not None:
                    items.append(found[0])
                    tokens += found[1]
        self.tokens += tokens

    def _windowed(self, convo: Conversation, count: int,
                  task: bool) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        assert self.window is not None
        picked: Sequence[int] = self.selected if self.keep is not None else range(count)
        indices = list(picked[-self.window :])
        if len(picked) > self.window and task and count:
            first = convo[0]
            if all(convo[i] != first for i in indices):  # as `first not in out`
                indices.insert(0, 0)
        converter = _Converter(self.converter.node_id, self.converter.name,
                               self.converter.shared, self.converter.own,
                               self.converter.speaker)  # fmt: skip
        items, tokens = [], 0
        for index in indices:
            found = converter.form(index, convo[index])
            if found is not None:
                items.append(found[0])
                tokens += found[1]
        return items, tokens


_SHARED = "graphflow.agents.views:shared"


def _context_key(context: ContextConfig | None) -> Any:
    if context is None:
        return None
    speakers = None if context.speakers is None else tuple(context.speakers)
    return (speakers, context.last, context.own, context.task, context.as_speaker)


def _body(messages: Sequence[Message], node_id: str, name: str,
          context: ContextConfig | None) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """The converted conversation an agent sees, and its token estimate."""
    if isinstance(messages, Conversation):
        shared = messages.caches.get(_SHARED)
        if shared is not None and shared[0] != messages.epoch:
            del messages.caches[_SHARED]  # the conversation changed other than by appends
        key = ("graphflow.agents.views", node_id, name, _context_key(context))
        view = messages.caches.get(key)
        if view is None or view.epoch != messages.epoch or view.seen > len(messages):
            view = messages.caches[key] = _View(messages, node_id, name, context)
        return view.update(messages, context.task if context is not None else True)
    converter = _Converter(node_id, name,
                           speaker=context.as_speaker if context is not None else None)
    items, tokens = [], 0
    for index, m in enumerate(_selected(messages, node_id, name, context)):
        found = converter.form(-1 - index, m)  # own keys: nothing is shared
        if found is not None:
            items.append(found[0])
            tokens += found[1]
    return items, tokens


def agent_view(
    messages: Sequence[Message],
    *,
    node_id: str,
    name: str,
    system: str | None = None,
    context: ContextConfig | None = None,
    instruction: str | None = None,
) -> OpenAIMessages:
    """The conversation as agent ``node_id`` sends it to its model.

    Given a run's :class:`~graphflow.conversation.Conversation` (``ctx.state.messages``),
    the agent's converted view is kept with the conversation and only the messages
    appended since its last turn are converted: a turn costs what is new, not the whole
    conversation. The returned message dicts are shared with later views: read them,
    never change them.

    Args:
        messages: the run's conversation.
        node_id: the agent's node id.
        name: the agent's speaker name.
        system: its system message (already rendered), first in the view.
        context: which messages it sees (``None``: all).
        instruction: a system message appended after the conversation (a summary or
            speaker-selection request).

    Returns:
        OpenAI-shaped message dicts, with their prompt-token estimate
        (:class:`~graphflow.models.OpenAIMessages`).

    Example:
        >>> convo = [Message(role="user", name="boss", content="Write a poem"),
        ...          Message(role="assistant", name="poet", node="poet", content="Roses...")]
        >>> [m["role"] for m in agent_view(convo, node_id="poet", name="poet", system="Be brief")]
        ['system', 'user', 'assistant']
    """
    head = [{"role": "system", "content": system}] if system else []
    tail = [{"role": "system", "content": instruction}] if instruction else []
    body, tokens = _body(messages, node_id, name, context)
    return OpenAIMessages.build(head, body, tail, body_tokens=tokens)


@functools.lru_cache(maxsize=1024)
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
