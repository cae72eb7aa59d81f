"""The ``tool`` node kind, compiled and run inside graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow import Graph
from graphflow.errors import DefinitionError
from graphflow.kinds.base import BuildContext
from graphflow.kinds.tool import ToolConfig, ToolKind
from graphflow.messages import Message, Update
from graphflow.tools import ToolContext

from .helpers import Journal, call, node_context


def make(**options: object) -> ToolKind:
    return ToolKind("tools", ToolConfig(**options), BuildContext(graph_name="test"))


def asks(*calls: dict) -> Message:
    return Message(role="assistant", content=None, tool_calls=list(calls))


async def test_executes_the_last_messages_calls(tmp_path: Path) -> None:
    kind = make(tools=["calculate", "files"])
    ctx = node_context(tmp_path, Journal(), [asks(call("a", "calculate", {"expression": "6*7"}),
                                                  call("b", "write_file", {"path": "x.txt", "content": "hi"}))])  # fmt: skip
    update = await kind.run(ctx)
    assert isinstance(update, Update)
    assert [(m.role, m.tool_call_id, m.content) for m in update.messages] == [
        ("tool", "a", "42"),
        ("tool", "b", "wrote 2 bytes to x.txt"),
    ]
    assert (tmp_path / "x.txt").read_text() == "hi"


async def test_no_tool_calls_adds_nothing(tmp_path: Path) -> None:
    kind = make(tools=["calculate"])
    update = await kind.run(node_context(tmp_path, None, [Message(role="assistant", content="hi")]))
    assert update == Update()
    assert await kind.run(node_context(tmp_path)) == Update()


async def test_node_options_reach_the_tools(tmp_path: Path) -> None:
    def flag(ctx: ToolContext) -> str:
        """Report the option."""
        return str(ctx.options.get("allow_http"))

    kind = make(tools=[flag], options={"allow_http": True})
    update = await kind.run(node_context(tmp_path, None, [asks(call("f", "flag", {}))]))
    assert update.messages[0].content == "True"
    assert not kind.serializable()


def test_bad_tools_are_definition_errors_listing_each_problem() -> None:
    graph = Graph("bad", entry="tools")
    graph.add_node("tools", kind="tool", tools=["calculate", "teleport", "no.such:fn"])
    graph.add_node("done", kind="end")
    graph.add_edge("tools", "done")
    with pytest.raises(DefinitionError) as info:
        graph.compile()
    text = str(info.value)
    assert "teleport" in text and "no.such" in text and "node 'tools'" in text


def test_empty_tool_list_is_refused() -> None:
    graph = Graph("bad", entry="tools")
    graph.add_node("tools", kind="tool", tools=[])
    graph.add_node("done", kind="end")
    graph.add_edge("tools", "done")
    with pytest.raises(DefinitionError, match="tools"):
        graph.compile()


def test_tool_node_in_a_graph(tmp_path: Path) -> None:
    graph = Graph("tooling", entry="model")
    graph.add_node("model", lambda state: asks(call("c1", "calculate", {"expression": "2**8"}),
                                               call("c2", "current_time", {"tz": "nowhere"})))  # fmt: skip
    graph.add_node("tools", kind="tool", tools=["calculate", "nodes.tools.clock:current_time"])
    graph.add_node("done", kind="end")
    graph.add_edge("model", "tools")
    graph.add_edge("tools", "done")
    result = graph.compile().run_sync(work_dir=tmp_path)
    assert result.status == "completed"
    tool_messages = [m for m in result.messages if m.role == "tool"]
    assert tool_messages[0].content == "256"
    assert tool_messages[1].content.startswith("Error: tool 'current_time' raised ValueError")
