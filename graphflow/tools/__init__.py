"""Tools: Python functions a model can call, described by JSON schemas.

Example:
    >>> import asyncio
    >>> from graphflow.tools import execute_tool_calls, tool
    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     '''Add two integers.'''
    ...     return a + b
    >>> call = {"id": "c1", "type": "function",
    ...         "function": {"name": "add", "arguments": '{"a": 2, "b": 40}'}}
    >>> asyncio.run(execute_tool_calls([call], [add]))[0].content
    '42'

See ``docs/tools.md``.
"""

from __future__ import annotations

from graphflow.tools.adapters import from_langchain, library_tool
from graphflow.tools.calls import (
    ToolCall,
    ToolCallsResult,
    ToolFailure,
    execute_tool_calls,
    parse_tool_call,
    render_result,
    run_tool_calls,
)
from graphflow.tools.context import ToolContext, current_tool_context, tool_context_scope
from graphflow.tools.core import ArgumentsError, Tool, as_tool, tool
from graphflow.tools.docstrings import parse_docstring
from graphflow.tools.resolve import CATALOG_PACKAGE, catalog_tool_modules, load_tools, resolve_tool
from graphflow.tools.schema import FunctionSchema, function_schema

__all__ = [
    "CATALOG_PACKAGE",
    "ArgumentsError",
    "FunctionSchema",
    "Tool",
    "ToolCall",
    "ToolCallsResult",
    "ToolContext",
    "ToolFailure",
    "as_tool",
    "catalog_tool_modules",
    "current_tool_context",
    "execute_tool_calls",
    "from_langchain",
    "function_schema",
    "library_tool",
    "load_tools",
    "parse_docstring",
    "parse_tool_call",
    "render_result",
    "resolve_tool",
    "run_tool_calls",
    "tool",
    "tool_context_scope",
]
