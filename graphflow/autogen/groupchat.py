"""AutoGen's ``GroupChat`` and ``GroupChatManager`` on graphflow's engine.

``user_proxy.initiate_chat(manager, message=...)`` compiles the group into a graph: the
manager is a ``router`` node that picks the next speaker (its candidates are its edges,
so allowed speaker transitions are drawn), members are ``agent`` nodes, and the run is
checkpointed and resumable like any other.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from graphflow.autogen.agent import ConversableAgent
from graphflow.errors import DefinitionError, Problem

__all__ = ["GroupChat", "GroupChatManager"]

_METHODS = ("auto", "round_robin", "random", "manual")


@dataclass
class GroupChat:
    """AutoGen's ``GroupChat`` (its fields and defaults).

    Attributes:
        agents: the members, in round-robin order.
        messages: earlier messages to start from (AutoGen's ``resume`` form).
        max_round: the chat ends once it holds this many messages (the first counts).
        speaker_selection_method: ``auto``, ``round_robin``, ``random``, ``manual`` or
            ``fn(last_speaker, groupchat) -> Agent | str | None``.
        allow_repeat_speaker: whether a member may speak twice in a row (``None``: yes).
        allowed_or_disallowed_speaker_transitions: ``{agent: [agents]}``.
        speaker_transitions_type: ``allowed`` or ``disallowed``.
        max_retries_for_selecting_speaker: re-asks after an answer naming no single
            member.
        send_introductions: accepted; the members' descriptions are in every auto
            selection prompt.
    """

    agents: list[ConversableAgent]
    messages: list[dict[str, Any]] = field(default_factory=list)
    max_round: int = 10
    admin_name: str = "Admin"
    func_call_filter: bool = True
    speaker_selection_method: str | Callable[..., Any] = "auto"
    max_retries_for_selecting_speaker: int = 2
    allow_repeat_speaker: bool | list[ConversableAgent] | None = None
    allowed_or_disallowed_speaker_transitions: Mapping[Any, Sequence[Any]] | None = None
    speaker_transitions_type: Literal["allowed", "disallowed"] | None = None
    enable_clear_history: bool = False
    send_introductions: bool = False
    role_for_select_speaker_messages: str = "system"

    def __post_init__(self) -> None:
        problems = []
        method = self.speaker_selection_method
        if isinstance(method, str) and method.lower() not in _METHODS:
            problems.append(Problem("GroupChat.speaker_selection_method",
                                    f"unknown method {method!r}",
                                    f"use {', '.join(_METHODS)} or a function"))  # fmt: skip
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            problems.append(Problem("GroupChat.agents", "two agents have the same name"))
        if self.allowed_or_disallowed_speaker_transitions and not self.speaker_transitions_type:
            problems.append(Problem("GroupChat", "speaker transitions need "
                                    "speaker_transitions_type", "allowed or disallowed"))  # fmt: skip
        if problems:
            raise DefinitionError(problems)

    @property
    def agent_names(self) -> list[str]:
        """The members' names."""
        return [a.name for a in self.agents]

    def agent_by_name(self, name: str) -> ConversableAgent | None:
        """The member called ``name``."""
        return next((a for a in self.agents if a.name == name), None)

    def selection(self) -> Any:
        """The router's ``selection``: a method name, or AutoGen's function wrapped to
        answer graphflow's ``(last_speaker, chat) -> name | method | None``."""
        method = self.speaker_selection_method
        if not callable(method):
            return str(method).lower()
        chat = self

        def select(last_speaker: str | None, view: Any) -> Any:
            """AutoGen's speaker selection function"""
            self.messages = [{"content": m.content, "role": m.role, "name": m.name or m.node}
                             for m in view.messages]  # fmt: skip
            agent = chat.agent_by_name(str(last_speaker)) if last_speaker else None
            chosen = method(agent, chat)
            if isinstance(chosen, ConversableAgent):
                return chosen.name
            return chosen

        select.__name__ = getattr(method, "__name__", "speaker_selection_method")
        return select

    def transitions(self) -> dict[str, list[str]] | None:
        """The transition rules by name."""
        rules = self.allowed_or_disallowed_speaker_transitions
        if not rules:
            return None
        return {_name(k): [_name(v) for v in vs] for k, vs in rules.items()}

    def random_select_speaker(self, agents: list[ConversableAgent] | None = None) -> Any:
        """A random member (AutoGen's)."""
        return random.choice(agents or self.agents)


def _name(agent: Any) -> str:
    return agent if isinstance(agent, str) else agent.name


class GroupChatManager(ConversableAgent):
    """AutoGen's ``GroupChatManager``: picks speakers for its ``groupchat`` (with its
    ``llm_config``'s model for ``auto`` selection) and ends the chat on its
    ``is_termination_msg`` (default: the content equals ``TERMINATE``)."""

    def __init__(self, groupchat: GroupChat, name: str = "chat_manager",
                 max_consecutive_auto_reply: int | None = 2**31 - 1,
                 human_input_mode: Literal["ALWAYS", "NEVER", "TERMINATE"] = "NEVER",
                 system_message: str | None = "Group chat manager.", silent: bool = False,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(name, system_message, max_consecutive_auto_reply=max_consecutive_auto_reply,
                         human_input_mode=human_input_mode, **kwargs)  # fmt: skip
        self._groupchat = groupchat
        self._silent = silent

    @property
    def groupchat(self) -> GroupChat:
        """The managed group chat."""
        return self._groupchat

    def chat_messages_for_summary(self, agent: Any) -> list[dict[str, Any]]:
        """The whole group's messages (AutoGen's)."""
        return list(self._groupchat.messages)
