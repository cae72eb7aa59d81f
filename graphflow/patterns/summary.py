"""Summaries of finished chats (AutoGen's ``summary_method``), and carryover text.

``last_msg`` takes the last message of the chat without ``TERMINATE``;
``reflection_with_llm`` asks a model to summarize the chat; a callable gets the chat's
messages and returns the summary. Graph files use :func:`last_message` as a
``function`` node; reflection is an ``agent`` node (the ``summarizer`` persona).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphflow.errors import DefinitionError, Problem
from graphflow.messages import Message

__all__ = [
    "SUMMARY_PROMPT",
    "SummaryMethod",
    "call_summary",
    "carryover_text",
    "last_message",
    "strip_terminate",
]

#: The instruction appended after a chat to have a model summarize it.
SUMMARY_PROMPT = (
    "Summarize the outcome of the conversation above: the result, then the key facts it "
    "rests on. No introductory phrases."
)
SummaryMethod = str | Callable[..., Any]


def strip_terminate(text: str | None) -> str:
    """``text`` without the ``TERMINATE`` marker, trimmed.

    Example:
        >>> strip_terminate("The answer is 42.\\nTERMINATE")
        'The answer is 42.'
    """
    return (text or "").replace("TERMINATE", "").strip()


def last_message(messages: Sequence[Message], node: str | None = None) -> str:
    """The chat's last non-empty message without ``TERMINATE`` (AutoGen's ``last_msg``).

    Args:
        messages: the conversation.
        node: only consider messages produced by this node (a nested chat's node).

    Example:
        >>> last_message([Message(content="4"), Message(content="TERMINATE")])
        '4'
    """
    for message in reversed(messages):
        if node is not None and message.node != node:
            continue
        text = strip_terminate(message.content)
        if text:
            return text
    return ""


def carryover_text(message: str, carryover: Sequence[str]) -> str:
    """A chat's first message with the carryover appended, as AutoGen does.

    Example:
        >>> carryover_text("Plot it.", ["The data is in x.csv."])
        'Plot it.\\nContext: \\nThe data is in x.csv.'
    """
    items = [c for c in carryover if c]
    return message + "\nContext: \n" + "\n".join(items) if items else message


def call_summary(
    method: Callable[..., Any], messages: Sequence[Message], summary_args: Mapping[str, Any]
) -> str:
    """Call a summary function: ``fn(messages)`` or ``fn(messages, summary_args)``.

    Raises:
        DefinitionError: the function's signature takes neither form.
    """
    try:
        params = [p for p in inspect.signature(method).parameters.values()
                  if p.default is inspect.Parameter.empty and p.kind in (
                      p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]  # fmt: skip
    except (TypeError, ValueError):
        params = []
    if len(params) >= 2:
        result = method(list(messages), dict(summary_args))
    elif len(params) == 1 or not params:
        result = method(list(messages))
    else:  # pragma: no cover - covered by the branches above
        raise DefinitionError([Problem("summary_method", "takes (messages[, summary_args])")])
    return "" if result is None else str(result)
