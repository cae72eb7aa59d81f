"""Finishing a chat run: its summary (AutoGen's ``summary_method``) and its
:class:`~graphflow.patterns.runner.ChatResult`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphflow.agents.modelcalls import run_model
from graphflow.agents.views import agent_view
from graphflow.messages import Message
from graphflow.models.usage import Usage, read_usage_report, usage_report
from graphflow.patterns.runner import ChatResult, Runner, autogen_cost, history, run_context
from graphflow.patterns.summary import (
    SUMMARY_PROMPT,
    SummaryMethod,
    call_summary,
    check_summary_method,
    last_message,
)
from graphflow.results import RunResult

__all__ = ["ChatSides", "chat_result", "summarize"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatSides:
    """Who a chat's summary and history are about.

    Attributes:
        sender: the initiator's speaker name (``chat_history`` is its view).
        recipient: the recipient's node id and speaker name (reflection summarizes
            the chat as the recipient saw it).
        models: model references to try for reflection, in order (AutoGen: the
            recipient's, then the sender's); ``False`` entries are skipped.
        custom: calls a callable summary method with the finished messages (e.g. with
            AutoGen's ``(sender, recipient, summary_args)``); ``None``: the patterns'
            ``(messages[, summary_args])``.
    """

    sender: str | None
    recipient: str
    models: Sequence[Any] = ()
    custom: Callable[[Sequence[Message]], Any] | None = None


async def chat_result(runner: Runner, result: RunResult, sides: ChatSides,
                      method: SummaryMethod, summary_args: dict[str, Any]) -> ChatResult:  # fmt: skip
    """The :class:`ChatResult` of a chat run: its history as the sender saw it, its
    summary (by ``method``), the run's usage plus the summary's (``cost`` in AutoGen's
    shape), and a ``resume`` that continues a waiting chat."""
    usage = dict(result.usage)
    summary = ""
    if result.status != "waiting":
        summary, extra = await summarize(runner, result.messages, method, summary_args, sides)
        if extra is not None:
            total, by_node = read_usage_report(usage)
            by_node["summary"] = by_node.get("summary", Usage()) + extra
            usage = usage_report(total + extra, by_node)
        runner.close()

    async def resume(answer: str) -> ChatResult:
        nxt = await runner.resume(result.run_id, answer, next(iter(result.waiting), None))
        return await chat_result(runner, nxt, sides, method, summary_args)

    return ChatResult(history(result.messages, sides.sender), summary, autogen_cost(usage),
                      list(runner.given), result.run_id, result.status, result.reason,
                      list(result.messages), result.question, result.error, usage,
                      _resume=resume if result.status == "waiting" else None)  # fmt: skip


async def summarize(runner: Runner, messages: Sequence[Message], method: SummaryMethod,
                    summary_args: Mapping[str, Any], sides: ChatSides) -> tuple[str, Usage | None]:  # fmt: skip
    """Summarize a finished chat; returns the summary and the usage of a model call.

    Raises:
        DefinitionError: ``method`` is not a known summary method.
    """
    check_summary_method(method, autogen=sides.custom is not None)
    if method is None:
        return "", None
    if callable(method):
        if sides.custom is not None:
            value = sides.custom(messages)
            return ("" if value is None else str(value)), None
        return call_summary(method, messages, summary_args), None
    if method == "last_msg":
        return last_message(messages), None
    ref = next((m for m in sides.models if m is not False), None)
    if ref is True:
        ref = None
    context = run_context(runner.models, options=runner.options)
    context.store = runner.store
    try:
        model = run_model(context, getattr(runner.graph.spec, "models", None), ref,
                          where="summary_method")  # fmt: skip
        prompt = summary_args.get("summary_prompt")
        role = str(summary_args.get("summary_role") or "system")
        view = agent_view(messages, node_id=sides.recipient, name=sides.recipient).plus(
            {"role": role, "content": SUMMARY_PROMPT if prompt is None else str(prompt)})
        logger.debug("summarizing a chat of %d messages with %r", len(messages), model)
        response = await model.complete(view)
    finally:
        await context.services.aclose()
    return response.text, response.usage
