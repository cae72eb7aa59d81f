"""A run that exercises every kind of timeline entry, for the report tests."""

# ruff: noqa: RUF001 - the multiplication sign marks visit counts in labels

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphflow import Graph, Message, State, Store, Update

PWN = "<script>window.__pwned = 1</script>"
IMG = '<img src=x onerror="window.__pwned = 2">'


def coder(state: State) -> Update:
    """Asks for a tool, then writes code; both with markup-laden text a model could emit."""
    text = f"Let me compute {PWN} first.\n```python\nprint(6 * 7, '{IMG}')\n```\nDone."
    calls = [{"id": "call_1", "type": "function",
              "function": {"name": "lookup", "arguments": '{"q": "</script><b>x</b>"}'}}]  # fmt: skip
    return Update(messages=[Message(role="assistant", name="coder", content=None,
                                    tool_calls=calls),
                            Message(role="tool", name="lookup", tool_call_id="call_1",
                                    content=f"result {IMG}"),
                            Message(role="assistant", name="coder", content=text)],
                  usage={"prompt_tokens": 120, "completion_tokens": 30, "cost": 0.0015,
                         "calls": 1})  # fmt: skip


def summarize(state: State) -> Update:
    return Update(messages=[Message(role="assistant", name="summary",
                                    content="The answer is 42.")],
                  usage={"prompt_tokens": 80, "completion_tokens": 10, "cost": 0.0005,
                         "calls": 1})  # fmt: skip


def rich_graph() -> Graph:
    """coder (tool call, tool result, code) → run (code node) → ask (human) → summary."""
    g = Graph("report-demo", entry="coder")
    g.add_node("coder", coder)
    g.add_node("run", kind="code", executor="local", timeout=30)
    g.add_node("ask", kind="human", prompt="Ship it? <i>yes/no</i>", variable="answer")
    g.add_node("summary", summarize)
    g.add_node("unused", lambda s: "never")
    g.add_edge("coder", "run")
    g.add_edge("run", "ask")
    g.add_edge("ask", "summary", when='state.answer == "yes"')
    g.add_edge("ask", "unused", otherwise=True)
    return g


@pytest.fixture
def rich_run(store: Store, tmp_path: Path) -> tuple[Any, str]:
    """The compiled rich graph and a completed run of it (answered "yes")."""
    graph = rich_graph().compile()
    first = graph.run_sync(f"Compute 6 × 7 {PWN}", store=store, work_dir=tmp_path / "work")
    assert first.status == "waiting", first.error
    done = graph.resume_sync(first.run_id, input="yes", store=store, work_dir=tmp_path / "work")
    assert done.status == "completed", done.error
    return graph, first.run_id
