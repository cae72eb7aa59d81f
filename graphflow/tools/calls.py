"""Executing the tool calls of a model's message.

Every call becomes exactly one ``tool`` message, in the order of the calls. Nothing a
call does can crash the run: an unknown tool, arguments that are not JSON or do not fit
the schema, a tool that raises or runs out of time — each becomes an ``Error: …`` text
in that call's result, so the model can correct itself. Calls run concurrently (sync
tools in worker threads) unless ``parallel=False``. With a node context, each call is
recorded as the effect ``tool:<call id>`` (``ctx.effect``): a run resumed after a crash replays the recorded
result instead of calling the tool again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from graphflow.messages import Message
from graphflow.secrets import redact
from graphflow.tools.context import ToolContext
from graphflow.tools.core import ArgumentsError, Tool, as_tool
from graphflow.tracing import set_attributes, span

if TYPE_CHECKING:
    from graphflow.kinds.base import NodeContext

__all__ = ["ToolCall", "execute_tool_calls", "parse_tool_call", "render_result"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolCall:
    """One call of a model's message: its id, the tool's name, the raw arguments."""

    id: str
    name: str
    arguments: str | Mapping[str, Any] | None


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def parse_tool_call(raw: Any, index: int = 0) -> ToolCall:
    """Read an OpenAI-shaped call (a dict, or the SDK's object).

    Example:
        >>> parse_tool_call({"id": "c1", "type": "function",
        ...                  "function": {"name": "add", "arguments": '{"a": 1}'}})
        ToolCall(id='c1', name='add', arguments='{"a": 1}')
    """
    function = _get(raw, "function") or {}
    name = _get(function, "name") or _get(raw, "name") or ""
    arguments = _get(function, "arguments")
    if arguments is None:
        arguments = _get(raw, "arguments")
    call_id = _get(raw, "id") or f"call_{index}"
    return ToolCall(str(call_id), str(name), arguments)


def render_result(value: Any) -> str:
    """A tool's return value as message text: strings as they are, the rest as JSON.

    Example:
        >>> render_result("hi"), render_result({"a": 1}), render_result(None)
        ('hi', '{"a": 1}', 'null')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _index(tools: Sequence[Tool] | Mapping[str, Tool]) -> dict[str, Tool]:
    if isinstance(tools, Mapping):
        return {name: as_tool(t) for name, t in tools.items()}
    found: dict[str, Tool] = {}
    for item in tools:
        t = as_tool(item)
        found[t.name] = t
    return found


async def _run_one(call: ToolCall, table: dict[str, Tool], context: ToolContext,
                   timeout: float | None) -> str:  # fmt: skip
    tool = table.get(call.name)
    if tool is None:
        names = ", ".join(sorted(table)) or "none"
        return f"Error: unknown tool {call.name!r}. Available tools: {names}."
    try:
        if timeout is None:
            value = await tool.call(call.arguments, context)
        else:
            value = await asyncio.wait_for(tool.call(call.arguments, context), timeout)
    except ArgumentsError as exc:
        return f"Error: tool {call.name!r} was called with {exc}"
    except asyncio.TimeoutError:
        return f"Error: tool {call.name!r} did not finish within {timeout:g} s."
    except Exception as exc:
        return redact(f"Error: tool {call.name!r} raised {type(exc).__name__}: {exc}")
    return render_result(value)


async def execute_tool_calls(
    tool_calls: Sequence[Any],
    tools: Sequence[Tool] | Mapping[str, Tool],
    ctx: NodeContext | None = None,
    *,
    parallel: bool = True,
    timeout: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[Message]:
    """Run ``tool_calls`` against ``tools`` and return one ``tool`` message per call.

    Args:
        tool_calls: the ``tool_calls`` of an assistant message (OpenAI shape).
        tools: the tools that may be called (a list, or a mapping name → tool).
        ctx: the calling node's context: gives tools the work dir and records calls as
            effects.
        parallel: run the calls concurrently (default) or one after another.
        timeout: seconds each call may take (``None``: no limit). A sync tool that runs
            out of time is abandoned, not stopped: its thread finishes in the background.
        options: handed to tools through ``ToolContext.options``.

    Returns:
        ``Message(role="tool", tool_call_id=…, name=…, content=…)`` per call, in order.

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     '''Add.'''
        ...     return a + b
        >>> calls = [{"id": "1", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}},
        ...          {"id": "2", "function": {"name": "nope", "arguments": "{}"}}]
        >>> [m.content for m in asyncio.run(execute_tool_calls(calls, [add]))]
        ['5', "Error: unknown tool 'nope'. Available tools: add."]
    """
    table = _index(tools)
    parsed = [parse_tool_call(raw, i) for i, raw in enumerate(tool_calls)]
    node = ctx.node_id if ctx is not None else None
    keys: list[str] = []
    for i, call in enumerate(parsed):  # a repeated call id must not share an effect
        key = f"tool:{call.id}"
        keys.append(key if key not in keys else f"{key}#{i}")

    async def one(call: ToolCall, key: str) -> Message:
        context = ToolContext(
            work_dir=ctx.run.work_dir if ctx is not None else None,
            run_id=ctx.run_id if ctx is not None else "",
            node_id=node or "", step=ctx.step if ctx is not None else 0,
            call_id=call.id, options=dict(options or {}),
            emit=ctx.emit if ctx is not None else (lambda event: None),
        )  # fmt: skip

        async def thunk() -> str:
            with span(f"execute_tool {call.name}", {"gen_ai.operation.name": "execute_tool",
                                                    "gen_ai.tool.name": call.name,
                                                    "gen_ai.tool.call.id": call.id}) as traced:
                result = await _run_one(call, table, context, timeout)  # fmt: skip
                if result.startswith("Error: "):
                    set_attributes(traced, {"error.type": "tool_error"})
            logger.debug("tool %s (call %s) of node %s: %.200s", call.name, call.id, node, result)
            return result

        content = await (ctx.effect(key, thunk) if ctx is not None else thunk())
        return Message(role="tool", tool_call_id=call.id, name=call.name or None,
                       content=str(content), node=node)  # fmt: skip

    if parallel:
        return list(await asyncio.gather(*(one(c, k) for c, k in zip(parsed, keys, strict=True))))
    return [await one(c, k) for c, k in zip(parsed, keys, strict=True)]
