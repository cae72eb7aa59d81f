"""The classic AutoGen (0.2) API on graphflow's engine.

Change one import line and an AutoGen program runs on graphflow::

    from graphflow.autogen import AssistantAgent, UserProxyAgent, config_list_from_json

    config_list = config_list_from_json(env_or_file="OAI_CONFIG_LIST")
    assistant = AssistantAgent("assistant", llm_config={"config_list": config_list})
    user_proxy = UserProxyAgent("user_proxy", code_execution_config={"work_dir": "coding"})
    user_proxy.initiate_chat(assistant, message="Plot a chart of NVDA and TESLA stock price change YTD.")

Agents, defaults, termination, human input, summaries, carryover, nested chats, tools
and group chats behave as AutoGen's (docs/migrating-from-autogen.md lists every
difference); each chat compiles to a graph that is checkpointed every step, resumable
and drawable (:func:`chat_graph`).
"""

from __future__ import annotations

from graphflow.autogen.agent import (
    AssistantAgent,
    ConversableAgent,
    UserProxyAgent,
    register_function,
)
from graphflow.autogen.chat import a_initiate_chats, chat_graph, initiate_chats
from graphflow.autogen.config import config_list_from_json
from graphflow.autogen.groupchat import GroupChat, GroupChatManager
from graphflow.autogen.retrieve import RetrieveAssistantAgent, RetrieveUserProxyAgent
from graphflow.autogen.teachability import Teachability
from graphflow.patterns.runner import ChatResult

Agent = ConversableAgent

__all__ = [
    "Agent",
    "AssistantAgent",
    "ChatResult",
    "ConversableAgent",
    "GroupChat",
    "GroupChatManager",
    "RetrieveAssistantAgent",
    "RetrieveUserProxyAgent",
    "Teachability",
    "UserProxyAgent",
    "a_initiate_chats",
    "chat_graph",
    "config_list_from_json",
    "initiate_chats",
    "register_function",
]
