"""Smoke test of the peer frameworks, run inside the peer virtual environment.

It builds and runs the smallest LangGraph graph (with a SqliteSaver) and the smallest
AutoGen GraphFlow (one agent on a replayed model) and prints the installed versions as
JSON. ``setup_venv.py`` runs it without network access to prove the peers work offline.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from importlib.metadata import version
from typing import TypedDict

__all__ = ["main"]

DISTRIBUTIONS = (
    "langgraph",
    "langgraph-checkpoint-sqlite",
    "autogen-agentchat",
    "autogen-ext",
)


class _Counter(TypedDict):
    i: int


def check_langgraph() -> None:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(_Counter)
    builder.add_node("bump", lambda s: {"i": s["i"] + 1})
    builder.add_edge(START, "bump")
    builder.add_edge("bump", END)
    saver = SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))
    graph = builder.compile(checkpointer=saver)
    out = graph.invoke({"i": 1}, {"configurable": {"thread_id": "smoke"}}, durability="sync")
    if out != {"i": 2}:
        raise AssertionError(f"LangGraph returned {out!r}, expected {{'i': 2}}")


def check_autogen() -> None:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.teams import DiGraphBuilder, GraphFlow
    from autogen_ext.models.replay import ReplayChatCompletionClient

    only = AssistantAgent("only", model_client=ReplayChatCompletionClient(["done"]))
    builder = DiGraphBuilder()
    builder.add_node(only)
    flow = GraphFlow(builder.get_participants(), graph=builder.build())
    result = asyncio.run(flow.run(task="go"))
    if result.messages[-1].to_text() != "done":
        raise AssertionError(f"AutoGen GraphFlow ended with {result.messages[-1]!r}")


def main() -> None:
    check_langgraph()
    check_autogen()
    print(json.dumps({name: version(name) for name in DISTRIBUTIONS}))


if __name__ == "__main__":
    main()
