"""Tool descriptions and JSON schemas from type hints and docstrings."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from graphflow.errors import ToolError
from graphflow.tools import ArgumentsError, Tool, ToolContext, as_tool, parse_docstring, tool


class Point(BaseModel):
    x: float
    y: float


def search(query: Annotated[str, "what to look for"], limit: int = 5,
           mode: Literal["fast", "exact"] = "fast", tags: list[str] | None = None,
           ctx: ToolContext | None = None) -> list[str]:  # fmt: skip
    """Search the notes.

    Longer explanation that stays in the description.

    Args:
        query: ignored, the annotation wins.
        limit: how many results at most.
        tags (list[str]): only notes with these tags.
        ctx: injected.

    Returns:
        matching titles.
    """
    return [query] * limit


def test_schema_from_hints_annotations_and_docstring() -> None:
    t = as_tool(search)
    assert t.name == "search"
    assert t.description == "Search the notes.\n\nLonger explanation that stays in the description."
    props = t.parameters["properties"]
    assert list(props) == ["query", "limit", "mode", "tags"]
    assert props["query"] == {"type": "string", "description": "what to look for"}
    assert props["limit"]["type"] == "integer" and props["limit"]["default"] == 5
    assert props["limit"]["description"] == "how many results at most."
    assert props["mode"]["enum"] == ["fast", "exact"]
    assert props["tags"]["description"] == "only notes with these tags."
    assert t.parameters["required"] == ["query"]
    assert t.parameters["additionalProperties"] is False
    assert t.context_param == "ctx"


def test_to_openai_shape() -> None:
    spec = as_tool(search).to_openai()
    assert spec["type"] == "function"
    assert set(spec["function"]) == {"name", "description", "parameters"}
    assert spec["function"]["parameters"]["type"] == "object"


def test_pydantic_models_and_field_metadata() -> None:
    def distance(a: Point, b: Point,
                 scale: Annotated[float, Field(gt=0)] = 1.0) -> float:  # fmt: skip
        """Distance between two points."""
        return scale * ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5

    t = as_tool(distance)
    assert "$defs" in t.parameters and t.parameters["properties"]["scale"]["exclusiveMinimum"] == 0
    kwargs = t.validate('{"a": {"x": 0, "y": 0}, "b": {"x": 3, "y": 4}}')
    assert isinstance(kwargs["a"], Point) and distance(**kwargs) == 5.0
    with pytest.raises(ArgumentsError, match="scale"):
        t.validate({"a": {"x": 0, "y": 0}, "b": {"x": 0, "y": 0}, "scale": -1})


def test_decorator_forms_keep_the_function_callable() -> None:
    @tool
    def double(n: int) -> int:
        """Double n."""
        return 2 * n

    @tool(name="triple-it", description="Times three.")
    def triple(n: int) -> int:
        return 3 * n

    assert isinstance(double, Tool) and double(4) == 8
    assert triple.name == "triple-it" and triple.description == "Times three." and triple(2) == 6
    assert as_tool(double) is double


def test_validation_messages_are_for_the_model() -> None:
    t = as_tool(search)
    with pytest.raises(ArgumentsError, match="not valid JSON"):
        t.validate("{query: nope")
    with pytest.raises(ArgumentsError, match="query: Field required"):
        t.validate("{}")
    with pytest.raises(ArgumentsError, match="limit: Input should be a valid integer"):
        t.validate({"query": "x", "limit": "many"})
    with pytest.raises(ArgumentsError, match="Extra inputs are not permitted"):
        t.validate({"query": "x", "bogus": 1})
    with pytest.raises(ArgumentsError, match="must be a JSON object"):
        t.validate("[1, 2]")
    assert t.validate('{"query": "q", "limit": "3"}')["limit"] == 3


@pytest.mark.parametrize("bad", ["has space", "", "x" * 65, "dots.no"])
def test_invalid_names_are_refused(bad: str) -> None:
    with pytest.raises(ToolError, match="invalid"):
        as_tool(tool(name=bad)(lambda: None)) if bad else Tool.of(lambda: None, name="")


def test_lambdas_need_a_name_and_varargs_are_refused() -> None:
    with pytest.raises(ToolError, match="name"):
        as_tool(lambda x: x)

    def spread(*items: int) -> int:
        return sum(items)

    with pytest.raises(ToolError, match=r"\*items"):
        as_tool(spread)
    with pytest.raises(ToolError, match="not callable"):
        as_tool(42)


def test_async_and_callable_objects() -> None:
    async def fetch(url: str) -> str:
        """Fetch."""
        return url

    class Counter:
        def __call__(self, step: int = 1) -> int:
            return step

    assert as_tool(fetch).is_async
    counter = Tool.of(Counter(), name="counter")
    assert not counter.is_async and counter.parameters["properties"]["step"]["default"] == 1


def test_docstring_parser_handles_sections_and_wrapping() -> None:
    description, args = parse_docstring("""Summary.

    Args:
        first (int): one
            continued.
        *rest: others.

    Raises:
        ValueError: never an argument.
    """)
    assert description == "Summary."
    assert args == {"first": "one continued.", "rest": "others."}
