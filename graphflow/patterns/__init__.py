"""AutoGen's conversation patterns as graph builders.

Every pattern compiles to an ordinary graph: it renders, checkpoints, resumes and forks
like any other.

- :class:`Agent`, :func:`AssistantAgent`, :func:`UserProxyAgent` — agents as values;
- :func:`two_agent_chat` / :func:`initiate_chat` — a chat between two agents;
- :func:`sequential_chats` / :func:`initiate_chats` — chats in sequence (or a DAG of
  prerequisites) with summaries carried over;
- :func:`nested_chat` — a node whose reply comes from running an inner chat;
- :func:`group_chat` / :func:`initiate_group_chat` — members and a manager that picks
  the next speaker;
- :func:`swarm` — agents that hand the conversation to each other with handoff tools;
- :func:`retrieve_chat` / :func:`initiate_retrieve_chat` — RetrieveChat: a question
  answered from a knowledge index, with AutoGen's UPDATE CONTEXT loop and citations;
- :class:`ChatResult` — what a chat returns.
"""

from __future__ import annotations

from graphflow.agents.selection import GroupChatView
from graphflow.patterns.agents import (
    AUTOGEN_TERMINATION,
    Agent,
    AssistantAgent,
    HumanInputMode,
    UserProxyAgent,
)
from graphflow.patterns.group import (
    allowed_transitions,
    group_chat,
    initiate_group_chat,
    initiate_group_chat_sync,
)
from graphflow.patterns.handoffs import handoff_tool, swarm
from graphflow.patterns.nested import add_nested_chat, nested_chat
from graphflow.patterns.retrieval import (
    RetrieveChatResult,
    initiate_retrieve_chat,
    initiate_retrieve_chat_sync,
    retrieve_chat,
)
from graphflow.patterns.runner import ChatResult
from graphflow.patterns.sequential import (
    Chat,
    chat_results,
    initiate_chats,
    initiate_chats_sync,
    sequential_chats,
)
from graphflow.patterns.two_agent import initiate_chat, initiate_chat_sync, two_agent_chat

__all__ = [
    "AUTOGEN_TERMINATION",
    "Agent",
    "AssistantAgent",
    "Chat",
    "ChatResult",
    "GroupChatView",
    "HumanInputMode",
    "RetrieveChatResult",
    "UserProxyAgent",
    "add_nested_chat",
    "allowed_transitions",
    "chat_results",
    "group_chat",
    "handoff_tool",
    "initiate_chat",
    "initiate_chat_sync",
    "initiate_chats",
    "initiate_chats_sync",
    "initiate_group_chat",
    "initiate_group_chat_sync",
    "initiate_retrieve_chat",
    "initiate_retrieve_chat_sync",
    "nested_chat",
    "retrieve_chat",
    "sequential_chats",
    "swarm",
    "two_agent_chat",
]
