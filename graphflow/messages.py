"""Messages, the state a node sees, and the update a node returns.

A :class:`Message` has the OpenAI chat shape (role, name, content, tool_calls,
tool_call_id) plus ``node``: the id of the graph node that produced it.
A node never mutates state: it returns an :class:`Update` (messages to append,
variables to set, optionally the successor to go to) or an :class:`Interrupt`
(pause the run and ask a person).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Interrupt", "Message", "Role", "State", "Update"]

Role = Literal["system", "user", "assistant", "tool"]


class Message(BaseModel):
    """One chat message.

    Example:
        >>> Message(role="user", content="hi").content
        'hi'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role = "assistant"
    content: str | None = ""
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    node: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """The message as the OpenAI chat API expects it (without ``node``)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name:
            out["name"] = _openai_name(self.name)
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        return out

    def to_record(self) -> dict[str, Any]:
        """A compact JSON-ready dict: fields at their default are left out."""
        return self.model_dump(exclude_defaults=True)

    @property
    def text(self) -> str:
        """The content as a string ('' when there is none)."""
        return self.content or ""


def _openai_name(name: str) -> str:
    # The OpenAI API accepts names matching ^[a-zA-Z0-9_-]+$ only.
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name)[:64]


@dataclass(frozen=True, init=False)
class Update:
    """What a node returns: messages to append, variables to set, and routing.

    Attributes:
        messages: appended to the conversation in order.
        variables: merged into the run's variables (a key set to ``None`` stays, as ``None``).
        goto: for nodes that route dynamically (a group-chat manager), the successor(s)
            to run next. Must name outgoing edges of the node.
        usage: token/cost accounting of this node execution (filled by the model layer).
        stop: end the run after this step with this stop reason (e.g. ``"terminated"``),
            whatever other branches are doing.
        reason: the branch ends here with this reason (an ``end`` node's ``status``); it
            becomes the run's stop reason when no other branch is left.
    """

    messages: Sequence[Message] = ()
    variables: Mapping[str, Any] = field(default_factory=dict)
    goto: str | Sequence[str] | None = None
    usage: Mapping[str, Any] | None = None
    stop: str | None = None
    reason: str | None = None

    def __init__(self, messages: Sequence[Message] = (),
                 variables: Mapping[str, Any] | None = None,
                 goto: str | Sequence[str] | None = None, usage: Mapping[str, Any] | None = None,
                 stop: str | None = None, reason: str | None = None) -> None:  # fmt: skip
        # the fields stored straight into the instance: a frozen dataclass's own __init__
        # sets each through object.__setattr__, which costs twice as much (an update per
        # node per step)
        fields = self.__dict__
        fields["messages"] = messages
        fields["variables"] = {} if variables is None else variables
        fields["goto"] = goto
        fields["usage"] = usage
        fields["stop"] = stop
        fields["reason"] = reason


@dataclass(frozen=True)
class Interrupt:
    """Pause the run: the node waits for a person's answer to ``question``."""

    question: str
    options: Sequence[str] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class State:
    """The run's state as nodes and conditions see it.

    ``messages`` is the whole conversation (in a run, a
    :class:`~graphflow.conversation.Conversation`: a list of messages read from the store
    when first used); ``variables`` the named JSON values;
    ``visits`` how many times each node has run; ``step`` the current step number.
    Nodes must treat it as read-only.
    """

    messages: MutableSequence[Message] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    step: int = 0
    #: While routing a node, ``last`` is that node's own last message even when a
    #: parallel branch appended messages after it.
    focus: Message | None = None

    @property
    def last(self) -> Message | None:
        """The last message, or ``None`` in an empty conversation."""
        if self.focus is not None:
            return self.focus
        return self.messages[-1] if self.messages else None
