"""Tools from other libraries: library functions and LangChain-style tool objects."""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

import pytest
from pydantic import BaseModel

from graphflow.errors import ToolError
from graphflow.tools import ArgumentsError, execute_tool_calls, from_langchain, library_tool


class Pair(BaseModel):
    x: list[float]
    y: list[float]


class Text(BaseModel):
    text: str
    times: int = 1


def call(name: str, arguments: str, call_id: str = "c1") -> dict[str, Any]:
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": arguments}}  # fmt: skip


def test_a_library_function_is_called_unchanged_positional_only_parameters_included() -> None:
    tool = library_tool(statistics.correlation, args=Pair)  # correlation(x, y, /)
    assert tool.name == "correlation" and tool.parameters["required"] == ["x", "y"]
    assert "title" not in tool.parameters and "Pearson" in tool.description
    assert asyncio.run(tool.call('{"x": [1, 2, 3], "y": [2, 4, 7]}')) == pytest.approx(
        statistics.correlation([1, 2, 3], [2, 4, 7]))
    with pytest.raises(ArgumentsError, match="x: Field required"):
        asyncio.run(tool.call('{"y": [1, 2]}'))


def test_an_error_the_library_raises_goes_back_to_the_model() -> None:
    tool = library_tool(statistics.correlation, args=Pair)
    (message,) = asyncio.run(execute_tool_calls([call("correlation", '{"x": [1], "y": [2]}')],
                                                [tool]))  # fmt: skip
    assert message.content.startswith("Error: tool 'correlation' raised StatisticsError")


def test_library_tool_refuses_what_it_cannot_describe() -> None:
    with pytest.raises(ToolError, match="args must be a pydantic model"):
        library_tool(statistics.mean, args=dict)  # type: ignore[arg-type]
    with pytest.raises(ToolError, match="not callable"):
        library_tool(42, args=Pair)  # type: ignore[arg-type]
    with pytest.raises(ToolError, match="tool name 'bad name' is invalid"):
        library_tool(statistics.mean, args=Pair, name="bad name")


class Shout:
    """A LangChain-style tool (the shape of langchain_core's BaseTool)."""

    name = "shout"
    description = "Upper-case the text, repeated."
    args_schema = Text

    def __init__(self) -> None:
        self.inputs: list[dict[str, Any]] = []

    def invoke(self, arguments: dict[str, Any]) -> str:
        self.inputs.append(arguments)
        return " ".join([arguments["text"].upper()] * arguments.get("times", 1))


def test_a_langchain_style_tool_is_offered_with_its_schema_and_invoked() -> None:
    shout = Shout()
    tool = from_langchain(shout)
    spec = tool.to_openai()["function"]
    assert (spec["name"], spec["description"]) == ("shout", "Upper-case the text, repeated.")
    assert spec["parameters"]["required"] == ["text"]
    (message,) = asyncio.run(execute_tool_calls([call("shout", '{"text": "hi", "times": 2}')],
                                                [tool]))  # fmt: skip
    assert message.content == "HI HI" and shout.inputs == [{"text": "hi", "times": 2}]


def test_a_json_schema_args_schema_and_an_async_invoke_are_used() -> None:
    class Search:
        name = "search"
        description = "Search the notes."
        args_schema = {"title": "search", "type": "object",
                       "properties": {"query": {"type": "string"}}, "required": ["query"]}  # fmt: skip

        def invoke(self, arguments: dict[str, Any]) -> str:
            raise AssertionError("the async form is used")

        async def ainvoke(self, arguments: dict[str, Any]) -> list[str]:
            return [f"note about {arguments['query']}"]

    tool = from_langchain(Search())
    assert tool.is_async and tool.parameters["required"] == ["query"]
    assert asyncio.run(tool.call('{"query": "graphs"}')) == ["note about graphs"]
    with pytest.raises(ArgumentsError, match="query"):
        asyncio.run(tool.call("{}"))


def test_an_object_that_is_not_a_tool_is_refused_with_what_it_lacks() -> None:
    class Half:
        name = "half"

    with pytest.raises(ToolError, match="it has no description, args_schema, invoke"):
        from_langchain(Half())


def test_a_real_langchain_tool_when_langchain_is_installed() -> None:
    core = pytest.importorskip("langchain_core.tools")

    @core.tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    tool = from_langchain(multiply)
    assert tool.name == "multiply" and asyncio.run(tool.call('{"a": 6, "b": 7}')) == 42
