"""Tools from other libraries: plain library functions and LangChain-style tool objects
offered to models as graphflow :class:`~graphflow.tools.Tool`\\ s.

Most libraries' functions carry no type hints graphflow could read a schema from, so
:func:`library_tool` takes the arguments as a pydantic model and calls the function
with them, unchanged. :func:`from_langchain` takes any object shaped like a LangChain
tool — ``name``, ``description``, ``args_schema`` (a pydantic model, or a JSON schema)
and ``invoke(arguments)`` — without importing LangChain.

Example:
    >>> import statistics
    >>> from pydantic import BaseModel
    >>> class Numbers(BaseModel):
    ...     data: list[float]
    >>> mean = library_tool(statistics.mean, args=Numbers)
    >>> mean.name, mean.parameters["required"]
    ('mean', ['data'])
    >>> import asyncio
    >>> asyncio.run(mean.call('{"data": [1, 2, 6]}'))
    3.0
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from graphflow.errors import ToolError
from graphflow.tools.core import _NAME, Tool
from graphflow.tools.docstrings import parse_docstring

__all__ = ["from_langchain", "library_tool"]


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    schema.setdefault("required", [])
    return schema


def _plain(value: Any) -> Any:
    """Arguments as the library expects them: pydantic models become dicts."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _positional_only(fn: Callable[..., Any]) -> list[str]:
    """The names of ``fn``'s positional-only parameters, in order (``statistics.correlation(x,
    y, /)``): the model sends them by name, the call passes them by position."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: keywords it is
        return []
    return [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_ONLY]


def _checked_name(name: str, where: str) -> str:
    if not _NAME.match(name or ""):
        raise ToolError(f"{where}: tool name {name!r} is invalid; use 1-64 letters, digits, "
                        "'_' or '-' (pass name=...)")  # fmt: skip
    return name


def library_tool(fn: Callable[..., Any], *, args: type[BaseModel], name: str | None = None,
                 description: str | None = None) -> Tool:  # fmt: skip
    """Offer the library function ``fn`` as a tool whose arguments are the fields of the
    pydantic model ``args``; ``fn`` is called with them as keyword arguments (its
    positional-only parameters by position).

    Args:
        fn: the function (sync or async), e.g. ``statistics.median``.
        args: a pydantic model: one field per argument the model may send.
        name: the tool's name (default: the function's name).
        description: what it does (default: the first paragraph of its docstring).

    Raises:
        ToolError: ``fn`` is not callable, ``args`` is not a pydantic model, or the
            name is invalid.
    """
    if not callable(fn):
        raise ToolError(f"{fn!r} is not callable, so it cannot be a tool")
    if not (inspect.isclass(args) and issubclass(args, BaseModel)):
        raise ToolError(f"library_tool({getattr(fn, '__name__', fn)!r}): args must be a pydantic "
                        f"model class naming the arguments, not {args!r}")  # fmt: skip
    tool_name = _checked_name(str(name or getattr(fn, "__name__", "")), "library_tool")
    text = description
    if text is None:
        text = parse_docstring(inspect.getdoc(fn))[0].split("\n\n")[0].strip()
    is_async = inspect.iscoroutinefunction(fn)
    positional = _positional_only(fn)

    def arguments(kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        named = {k: _plain(v) for k, v in kwargs.items()}
        first = [named.pop(p) for p in positional if p in named]
        return first, named

    async def acall(**kwargs: Any) -> Any:
        first, named = arguments(kwargs)
        return await fn(*first, **named)

    def call(**kwargs: Any) -> Any:
        first, named = arguments(kwargs)
        return fn(*first, **named)

    chosen = acall if is_async else call
    chosen.__name__ = tool_name
    return Tool(tool_name, text, chosen, _schema(args), args, None, is_async)


def _model_of(schema: Mapping[str, Any], name: str) -> type[BaseModel]:
    """A permissive pydantic model for a JSON schema (the tool checks its own input)."""
    required = set(schema.get("required") or ())
    fields: dict[str, Any] = {key: (Any, ... if key in required else None)
                              for key in (schema.get("properties") or {})}  # fmt: skip
    return create_model(f"{name}_args", __config__=ConfigDict(extra="forbid"), **fields)


def from_langchain(obj: Any) -> Tool:
    """A LangChain-style tool object as a graphflow tool (LangChain is not imported).

    ``obj`` needs ``name``, ``description``, ``args_schema`` (a pydantic model class, or
    a JSON schema dict) and ``invoke(arguments: dict)``; ``ainvoke`` is used when the
    object has it.

    Raises:
        ToolError: ``obj`` lacks one of these, or its name is invalid.
    """
    missing = [a for a in ("name", "description", "args_schema", "invoke")
               if getattr(obj, a, None) is None]  # fmt: skip
    if missing:
        raise ToolError(f"{obj!r} is not a LangChain-style tool: it has no "
                        f"{', '.join(missing)}; pass a tool object (such as one made with "
                        "LangChain's @tool), or use library_tool() for a plain function")
    tool_name = _checked_name(str(obj.name), "from_langchain")
    schema = obj.args_schema
    if inspect.isclass(schema) and issubclass(schema, BaseModel):
        model, parameters = schema, _schema(schema)
    elif isinstance(schema, Mapping):
        model, parameters = _model_of(schema, tool_name), dict(schema)
        parameters.pop("title", None)
    else:
        raise ToolError(f"tool {tool_name!r}: args_schema must be a pydantic model or a JSON "
                        f"schema, not {type(schema).__name__}")  # fmt: skip
    ainvoke = getattr(obj, "ainvoke", None)

    if ainvoke is not None and inspect.iscoroutinefunction(ainvoke):
        async def acall(**kwargs: Any) -> Any:
            return await ainvoke({k: _plain(v) for k, v in kwargs.items() if v is not None})

        acall.__name__ = tool_name
        return Tool(tool_name, str(obj.description), acall, parameters, model, None, True)

    def call(**kwargs: Any) -> Any:
        return obj.invoke({k: _plain(v) for k, v in kwargs.items() if v is not None})

    call.__name__ = tool_name
    return Tool(tool_name, str(obj.description), call, parameters, model, None, False)
