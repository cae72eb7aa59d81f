"""Finishing a chat run: its summary (AutoGen's ``summary_method``) and its
:class:`~graphflow.patterns.result.ChatResult`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.agents.modelcalls import run_model
from graphflow.agents.views import agent_view
from graphflow.errors import DefinitionError, Problem
from graphflow.messages import Message
from graphflow.models.usage import Usage, read_usage_report, usage_report
from graphflow.patterns.result import ChatResult, Runner, history, run_context
from graphflow.patterns.summary import SUMMARY_PROMPT, SummaryMethod, call_summary, last_message
from graphflow.results import RunResult

__all__ = ["chat_result", "summarize"]

logger = logging.getLogger(__name__)


async def chat_result(runner: Runner, result: RunResult, models: Sequence[Any],
                      method: SummaryMethod, summary_args: dict[str, Any]) -> ChatResult:  # fmt: skip
    """The :class:`ChatResult` of a chat run: its history, its summary (by ``method``,
    with the first of ``models`` that is not ``False`` for reflection), the run's usage
    plus the summary's, and a ``resume`` that continues a waiting chat."""
    usage = dict(result.usage)
    summary = ""
    if result.status != "waiting":
        summary, extra = await summarize(runner, result.messages, method, summary_args,
                                         models=models)  # fmt: skip
        if extra is not None:
            total, by_node = read_usage_report(usage)
            by_node["summary"] = by_node.get("summary", Usage()) + extra
            usage = usage_report(total + extra, by_node)

    if result.status != "waiting":
        runner.close()

    async def resume(answer: str) -> ChatResult:
        nxt = await runner.resume(result.run_id, answer)
        return await chat_result(runner, nxt, models, method, summary_args)

    return ChatResult(history(result.messages), summary, usage, list(runner.given),
                      result.run_id, result.status, result.reason, list(result.messages),
                      result.question, result.error,
                      resume if result.status == "waiting" else None)  # fmt: skip


async def summarize(runner: Runner, messages: Sequence[Message], method: SummaryMethod,
                    summary_args: Mapping[str, Any],
                    models: Sequence[Any] = ()) -> tuple[str, Usage | None]:  # fmt: skip
    """Summarize a finished chat; returns the summary and the usage of a model call.

    Raises:
        DefinitionError: ``method`` is not a known summary method.
    """
    if callable(method):
        return call_summary(method, messages, summary_args), None
    if method == "last_msg":
        return last_message(messages), None
    if method != "reflection_with_llm":
        raise DefinitionError([Problem("summary_method", f"unknown method {method!r}",
                                       "use last_msg, reflection_with_llm or a function")])  # fmt: skip
    ref = next((m for m in models if m is not False), None)
    if ref is True:
        ref = None
    context = run_context(runner.models, options=runner.options)
    context.store = runner.store
    try:
        model = run_model(context, getattr(runner.graph.spec, "models", None), ref,
                          where="summary_method")  # fmt: skip
        prompt = str(summary_args.get("summary_prompt") or SUMMARY_PROMPT)
        view = agent_view(messages, node_id="summary", name="summary", instruction=prompt)
        logger.debug("summarizing a chat of %d messages with %r", len(messages), model)
        response = await model.complete(view)
    finally:
        await context.services.aclose()
    return response.text.strip(), response.usage
