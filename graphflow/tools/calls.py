"""Executing the tool calls of a model's message.

Every call becomes exactly one ``tool`` message, in the order of the calls. Nothing a
call does can crash the run: an unknown tool, arguments that are not JSON or do not fit
the schema, a tool that raises or runs out of time — each becomes an ``Error: …`` text
in that call's result, so the model can correct itself. A tool that raised is also
reported with its traceback (:class:`ToolFailure`; a node emits a
:class:`~graphflow.events.ToolFailed` event), and :func:`run_tool_calls` with
``fail=True`` raises :class:`~graphflow.errors.ToolError` instead. Calls run
concurrently (sync tools in worker threads) unless ``parallel=False``. With a node
context, each call is recorded as the effect ``tool:<call id>`` (``ctx.effect``): a run
resumed after a crash replays the recorded result instead of calling the tool again.

Return values become JSON text (:func:`render_result`): pydantic models, dataclasses,
dates and times, enums, sets and UUIDs are converted wherever they sit (inside lists and
dicts too), never written as their ``repr``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

from graphflow.messages import Message
from graphflow.secrets import redact
from graphflow.tools.context import ToolContext
from graphflow.tools.core import ArgumentsError, Tool, as_tool
from graphflow.tracing import set_attributes, span

if TYPE_CHECKING:
    from graphflow.kinds.base import NodeContext

__all__ = [
    "ToolCall",
    "ToolCallsResult",
    "ToolFailure",
    "execute_tool_calls",
    "parse_tool_call",
    "render_result",
    "run_tool_calls",
]

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


@dataclass(frozen=True)
class ToolFailure:
    """A call whose tool raised: what went back to the model, and the traceback.

    Attributes:
        call_id: the call's id.
        tool: the tool's name.
        error: ``ExceptionType: message``.
        traceback: the formatted traceback (secrets redacted).
    """

    call_id: str
    tool: str
    error: str
    traceback: str

    def to_dict(self) -> dict[str, str]:
        """The failure as a JSON-ready dict."""
        return {"call_id": self.call_id, "tool": self.tool, "error": self.error,
                "traceback": self.traceback}  # fmt: skip


@dataclass(frozen=True)
class ToolCallsResult:
    """What :func:`run_tool_calls` returns: one message per call, and the failures."""

    messages: list[Message]
    failures: list[ToolFailure]


def render_result(value: Any) -> str:
    """A tool's return value as message text: strings as they are, the rest as JSON.

    Pydantic models, dataclasses, dates and times, enums, sets, UUIDs and decimals are
    converted to JSON values wherever they are (a list of models is a JSON list of
    objects); anything else JSON cannot hold is written as ``str(value)``.

    Example:
        >>> import datetime, dataclasses
        >>> @dataclasses.dataclass
        ... class Seat:
        ...     row: int
        ...     letter: str
        >>> render_result("hi"), render_result({"a": 1}), render_result(None)
        ('hi', '{"a": 1}', 'null')
        >>> render_result([Seat(12, "A"), datetime.date(2024, 5, 1)])
        '[{"row": 12, "letter": "A"}, "2024-05-01"]'
    """
    if isinstance(value, str):
        return value
    try:
        plain = to_jsonable_python(value, fallback=str)
        return json.dumps(plain, ensure_ascii=False)
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
                   timeout: float | None) -> str | dict[str, Any]:  # fmt: skip
    """The call's result text, or ``{"content": text, "failure": {...}}`` when the tool
    raised (the failure carries the traceback)."""
    tool = table.get(call.name)
    if tool is None:
        names = ", ".join(sorted(table)) or "none"
        return f"Error: unknown tool {call.name!r}. Available tools: {names}."
    task = asyncio.ensure_future(tool.call(call.arguments, context))
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        return f"Error: tool {call.name!r} did not finish within {timeout:g} s."
    try:
        value = task.result()
    except ArgumentsError as exc:
        return f"Error: tool {call.name!r} was called with {exc}"
    except Exception as exc:
        error = redact(f"{type(exc).__name__}: {exc}")
        trace = redact("".join(traceback.format_exception(exc)))
        failure = ToolFailure(call.id, call.name, error, trace)
        return {"content": f"Error: tool {call.name!r} raised {error}",
                "failure": failure.to_dict()}  # fmt: skip
    return render_result(value)


async def run_tool_calls(
    tool_calls: Sequence[Any],
    tools: Sequence[Tool] | Mapping[str, Tool],
    ctx: NodeContext | None = None,
    *,
    parallel: bool = True,
    timeout: float | None = None,
    options: Mapping[str, Any] | None = None,
    fail: bool = False,
) -> ToolCallsResult:
    """Run ``tool_calls`` and return their messages and the failures of tools that raised.

    Args: as for :func:`execute_tool_calls`, and
        fail: raise instead of returning an ``Error: ...`` result when a tool raises.

    Raises:
        ToolError: with ``fail=True``, a tool raised (the message holds its traceback).
    """
    table = _index(tools)
    parsed = [parse_tool_call(raw, i) for i, raw in enumerate(tool_calls)]
    node = ctx.node_id if ctx is not None else None
    keys: list[str] = []
    for i, call in enumerate(parsed):  # a repeated call id must not share an effect
        key = f"tool:{call.id}"
        keys.append(key if key not in keys else f"{key}#{i}")

    async def one(call: ToolCall, key: str) -> tuple[Message, ToolFailure | None]:
        context = ToolContext(
            work_dir=ctx.run.work_dir if ctx is not None else None,
            run_id=ctx.run_id if ctx is not None else "",
            node_id=node or "", step=ctx.step if ctx is not None else 0,
            call_id=call.id, options=dict(options or {}),
            emit=ctx.emit if ctx is not None else (lambda event: None),
        )  # fmt: skip

        async def thunk() -> str | dict[str, Any]:
            with span(f"execute_tool {call.name}", {"gen_ai.operation.name": "execute_tool",
                                                    "gen_ai.tool.name": call.name,
                                                    "gen_ai.tool.call.id": call.id}) as traced:
                result = await _run_one(call, table, context, timeout)
                if isinstance(result, Mapping) or result.startswith("Error: "):
                    set_attributes(traced, {"error.type": "tool_error"})
            logger.debug("tool %s (call %s) of node %s: %.200s", call.name, call.id, node, result)
            return result

        outcome = await (ctx.effect(key, thunk) if ctx is not None else thunk())
        failure = None
        if isinstance(outcome, Mapping):
            failure = ToolFailure(**outcome["failure"])
            outcome = outcome["content"]
        message = Message(role="tool", tool_call_id=call.id, name=call.name or None,
                          content=str(outcome), node=node)  # fmt: skip
        return message, failure

    pairs = zip(parsed, keys, strict=True)
    if parallel:
        done = list(await asyncio.gather(*(one(c, k) for c, k in pairs)))
    else:
        done = [await one(c, k) for c, k in pairs]
    failures = [f for _, f in done if f is not None]
    if ctx is not None:
        from graphflow.events import ToolFailed

        for f in failures:
            ctx.emit(ToolFailed(ctx.run_id, ctx.step, node or "", f.tool, f.call_id, f.error,
                                f.traceback))  # fmt: skip
    if fail and failures:
        from graphflow.errors import ToolError

        first = failures[0]
        raise ToolError(f"tool {first.tool!r} (call {first.call_id}) raised {first.error}; "
                        f"the node fails the run because its tool errors are fatal "
                        f"(on_error: fail)\n{first.traceback}")  # fmt: skip
    return ToolCallsResult([m for m, _ in done], failures)


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
        ctx: the calling node's context: gives tools the work dir, records calls as
            effects and emits a ``ToolFailed`` event (with the traceback) per tool that
            raised.
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
    result = await run_tool_calls(tool_calls, tools, ctx, parallel=parallel, timeout=timeout,
                                  options=options)  # fmt: skip
    return result.messages
