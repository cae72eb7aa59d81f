"""The agent runtime: what ``agent`` and ``router`` nodes do while a run executes.

The node kinds (:mod:`graphflow.kinds.agent`, :mod:`graphflow.kinds.router`) are thin:
they read their options and call these modules, which the pattern builders
(:mod:`graphflow.patterns`) use as well.

- :mod:`~graphflow.agents.conventions` — the variables agents and routers read and
  write (``chat_end``, ``next_speaker``, ``NAME_input``, ``NAME_auto_replies``) and the
  default termination test;
- :mod:`~graphflow.agents.views` — an agent's view of the shared conversation;
- :mod:`~graphflow.agents.modelcalls` — the run's models, and one recorded model call;
- :mod:`~graphflow.agents.replies` — tools offered to a model, code-execution replies;
- :mod:`~graphflow.agents.neighbourhood` — a router's successors in the compiled graph;
- :mod:`~graphflow.agents.selection` — reading a speaker's name out of a model's answer;
- :mod:`~graphflow.agents.teaching` — teachable agents: learning memos from received
  messages and recalling them into later chats (on :mod:`graphflow.memory`).

Dependencies point down only: this package imports the messages, models, execution,
tools and memory layers, and the node-kind protocol for type checking only; nothing here
imports the kinds, the scheduler or the pattern builders.
"""

from __future__ import annotations

from graphflow.agents.conventions import (
    CHAT_END,
    DEFAULT_TERMINATION,
    NEXT_SPEAKER,
    counter_variable,
    input_variable,
    state_ref,
)
from graphflow.agents.neighbourhood import Member, Neighbourhood, neighbourhood
from graphflow.agents.selection import GroupChatView
from graphflow.agents.views import ContextConfig, agent_view, transcript

__all__ = [
    "CHAT_END",
    "DEFAULT_TERMINATION",
    "NEXT_SPEAKER",
    "ContextConfig",
    "GroupChatView",
    "Member",
    "Neighbourhood",
    "agent_view",
    "counter_variable",
    "input_variable",
    "neighbourhood",
    "state_ref",
    "transcript",
]
