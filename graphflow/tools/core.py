"""The :class:`Tool` value and the :func:`tool` decorator."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from pydantic import BaseModel, ValidationError

from graphflow.blocking import in_thread
from graphflow.errors import ToolError
from graphflow.tools.context import ToolContext, tool_context_scope
from graphflow.tools.docstrings import parse_docstring
from graphflow.tools.schema import function_schema

__all__ = ["ArgumentsError", "Tool", "as_tool", "tool"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ArgumentsError(ValueError):
    """The arguments a model sent do not fit the tool; the text is meant for the model."""


@dataclass(frozen=True)
class Tool:
    """A Python function offered to a model.

    Attributes:
        name: what the model calls it (letters, digits, ``_`` and ``-``; ≤ 64 chars).
        description: what it does (the docstring's description by default).
        fn: the function (sync or async).
        parameters: the JSON schema of its arguments.
        model: the pydantic model that validates arguments.
        context_param: the parameter that receives the :class:`ToolContext`, if any.

    Calling a Tool calls the function directly, so decorated functions stay usable.

    Example:
        >>> @tool
        ... def add(a: int, b: int = 1) -> int:
        ...     '''Add two integers.'''
        ...     return a + b
        >>> add(2, 3), add.to_openai()["function"]["parameters"]["required"]
        (5, ['a'])
    """

    name: str
    description: str
    fn: Callable[..., Any]
    parameters: dict[str, Any]
    model: type[BaseModel]
    context_param: str | None = None
    is_async: bool = field(default=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def to_openai(self) -> dict[str, Any]:
        """The ``{"type": "function", "function": {...}}`` entry of an OpenAI request."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description,
                             "parameters": self.parameters}}  # fmt: skip

    def validate(self, arguments: str | Mapping[str, Any] | None) -> dict[str, Any]:
        """Parse and check a call's arguments; return the keyword arguments.

        Raises:
            ArgumentsError: the arguments are not JSON, not an object, or do not fit
                the schema; the message explains it to the model.
        """
        if arguments is None or arguments == "":
            data: Any = {}
        elif isinstance(arguments, str):
            try:
                data = json.loads(arguments)
            except json.JSONDecodeError as exc:
                raise ArgumentsError(f"the arguments are not valid JSON ({exc}); send a JSON "
                                     "object with the tool's parameters") from None  # fmt: skip
        else:
            data = dict(arguments)
        if not isinstance(data, dict):
            raise ArgumentsError(f"the arguments must be a JSON object, not {type(data).__name__}")
        try:
            checked = self.model.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}"
                for err in exc.errors()
            )
            expected = json.dumps(self.parameters.get("properties", {}), separators=(",", ":"))
            raise ArgumentsError(f"invalid arguments: {problems}. Expected parameters: "
                                 f"{expected[:1500]}") from None  # fmt: skip
        return {name: getattr(checked, name) for name in type(checked).model_fields}

    async def call(self, arguments: str | Mapping[str, Any] | None,
                   context: ToolContext | None = None) -> Any:  # fmt: skip
        """Validate ``arguments`` and run the tool (a sync tool runs in a worker thread).

        Raises:
            ArgumentsError: bad arguments. Whatever the tool raises propagates.

        Example:
            >>> import asyncio
            >>> asyncio.run(Tool.of(lambda x: x * 2, name="double").call('{"x": 4}'))
            8
        """
        kwargs = self.validate(arguments)
        if self.context_param is not None:
            kwargs[self.context_param] = context
        with tool_context_scope(context):
            if self.is_async:
                return await self.fn(**kwargs)
            return await in_thread(self.fn, **kwargs)

    @classmethod
    def of(cls, fn: Callable[..., Any], *, name: str | None = None,
           description: str | None = None) -> Tool:  # fmt: skip
        """Describe the function ``fn`` as a tool (see :func:`tool`)."""
        if isinstance(fn, Tool):
            return fn
        if not callable(fn):
            raise ToolError(f"{fn!r} is not callable, so it cannot be a tool")
        tool_name = str(name or getattr(fn, "__name__", ""))
        if tool_name == "<lambda>" or not _NAME.match(tool_name or ""):
            raise ToolError(f"tool name {tool_name!r} is invalid; use 1-64 letters, digits, "
                            "'_' or '-' (pass name=... to @tool)")  # fmt: skip
        doc_description, doc_args = parse_docstring(inspect.getdoc(fn))
        text = description if description is not None else doc_description
        schema = function_schema(fn, tool_name, doc_args, text)
        target = fn if inspect.isroutine(fn) or inspect.isclass(fn) else type(fn).__call__
        is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(target)
        return cls(tool_name, text, fn, schema.parameters, schema.model,
                   schema.context_param, is_async)  # fmt: skip


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(*, name: str | None = None, description: str | None = None
         ) -> Callable[[Callable[..., Any]], Tool]: ...  # fmt: skip


def tool(fn: Callable[..., Any] | None = None, /, *, name: str | None = None,
         description: str | None = None) -> Tool | Callable[[Callable[..., Any]], Tool]:  # fmt: skip
    """Turn a function into a :class:`Tool` (usable bare or with arguments).

    Example:
        >>> @tool(name="shout")
        ... def upper(text: str) -> str:
        ...     '''Upper-case the text.
        ...
        ...     Args:
        ...         text: what to shout.
        ...     '''
        ...     return text.upper()
        >>> upper.name, upper.parameters["properties"]["text"]["description"]
        ('shout', 'what to shout.')
    """
    if fn is not None:
        return Tool.of(fn, name=name, description=description)
    return lambda f: Tool.of(f, name=name, description=description)


def as_tool(obj: Any) -> Tool:
    """``obj`` as a Tool: a Tool stays as it is, a function is described.

    Example:
        >>> def ping() -> str:
        ...     '''Answer pong.'''
        ...     return "pong"
        >>> as_tool(ping).description
        'Answer pong.'
    """
    return Tool.of(obj)
