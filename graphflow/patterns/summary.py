"""Summaries of finished chats (AutoGen's ``summary_method``), and carryover text.

As in AutoGen (``ConversableAgent._summarize_chat``):

- ``last_msg`` takes the chat's last message and removes ``TERMINATE`` from it — nothing
  else, so the summary may be ``""`` (a chat that ended with a bare ``TERMINATE``);
- ``reflection_with_llm`` asks the recipient's model (the sender's when the recipient
  has none) to summarize the chat as the recipient saw it, with
  :data:`SUMMARY_PROMPT` (or ``summary_args["summary_prompt"]``) appended as a system
  message;
- a callable gets the chat's messages (``fn(messages)`` or ``fn(messages,
  summary_args)`` here; ``graphflow.autogen`` also calls AutoGen's ``fn(sender,
  recipient, summary_args)``). Its signature is checked before the chat starts
  (:func:`check_summary_method`).

Graph files use :func:`last_message` as a ``function`` node; reflection is an ``agent``
node.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from graphflow.errors import DefinitionError, Problem
from graphflow.messages import Message

__all__ = [
    "SUMMARY_PROMPT",
    "SummaryMethod",
    "call_summary",
    "carryover_text",
    "check_summary_method",
    "last_message",
    "strip_terminate",
]

#: AutoGen's default summary prompt (``ConversableAgent.DEFAULT_SUMMARY_PROMPT``).
SUMMARY_PROMPT = (
    "Summarize the takeaway from the conversation. Do not add any introductory phrases."
)
SummaryMethod = str | Callable[..., Any] | None
SummaryForm = Literal["messages", "messages_args", "autogen"]


def strip_terminate(text: str | None) -> str:
    """``text`` without the ``TERMINATE`` marker, trimmed.

    Example:
        >>> strip_terminate("The answer is 42.\\nTERMINATE")
        'The answer is 42.'
    """
    return (text or "").replace("TERMINATE", "").strip()


def last_message(messages: Sequence[Message], node: str | None = None) -> str:
    """AutoGen's ``last_msg`` summary: the chat's last message with ``TERMINATE`` removed
    (and nothing else: it is not trimmed, and it may be ``""``).

    Args:
        messages: the conversation.
        node: only consider messages produced by this node (a nested chat's node).

    Example:
        >>> last_message([Message(content="4"), Message(content="It is 4.\\nTERMINATE")])
        'It is 4.\\n'
        >>> last_message([Message(content="4"), Message(content="TERMINATE")])
        ''
    """
    for message in reversed(messages):
        if node is not None and message.node != node:
            continue
        return (message.content or "").replace("TERMINATE", "")
    return ""


def carryover_text(message: str, carryover: Sequence[Any]) -> str:
    """A chat's first message with the carryover appended, as AutoGen does
    (``ConversableAgent._process_carryover``).

    Example:
        >>> carryover_text("Plot it.", ["The data is in x.csv."])
        'Plot it.\\nContext: \\nThe data is in x.csv.'
    """
    items = [_carry_item(c) for c in carryover]
    return message + "\nContext: \n" + "\n".join(items) if items else message


def _carry_item(item: Any) -> str:
    if isinstance(item, Mapping) and "content" in item:
        return str(item["content"])
    return item if isinstance(item, str) else str(item)


def _required_positional(method: Callable[..., Any]) -> list[inspect.Parameter] | None:
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return [p for p in params if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]  # fmt: skip


def check_summary_method(method: SummaryMethod, *, where: str = "summary_method",
                         autogen: bool = False) -> SummaryForm | None:  # fmt: skip
    """Check a ``summary_method`` before the chat runs.

    Returns:
        ``None`` for a method name (or ``None``), else how the callable is called:
        ``messages`` (``fn(messages)``), ``messages_args`` (``fn(messages,
        summary_args)``) or ``autogen`` (``fn(sender, recipient, summary_args)``, only
        with ``autogen=True``).

    Raises:
        DefinitionError: an unknown name, or a callable taking neither form.

    Example:
        >>> check_summary_method(lambda messages: "x")
        'messages'
        >>> check_summary_method(lambda sender, recipient, summary_args: "x", autogen=True)
        'autogen'
    """
    if method is None or method in ("last_msg", "reflection_with_llm"):
        return None
    if not callable(method):
        raise DefinitionError([Problem(where, f"unknown method {method!r}",
                                       "use last_msg, reflection_with_llm or a function")])  # fmt: skip
    params = _required_positional(method)
    count = 1 if params is None else len(params)
    if count == 3 and autogen:
        return "autogen"
    if count in (0, 1):
        return "messages"
    if count == 2:
        return "messages_args"
    hint = ("graphflow.autogen calls AutoGen's (sender, recipient, summary_args); here "
            "write it as (messages) or (messages, summary_args)") if count == 3 else (
            "write it as (messages) or (messages, summary_args)")  # fmt: skip
    names = ", ".join(p.name for p in params or ())
    raise DefinitionError([Problem(where, f"{getattr(method, '__name__', method)!s}({names}) "
                                   "is not a summary function this chat can call", hint)])


def call_summary(
    method: Callable[..., Any], messages: Sequence[Message], summary_args: Mapping[str, Any]
) -> str:
    """Call a summary function: ``fn(messages)`` or ``fn(messages, summary_args)``.

    Raises:
        DefinitionError: the function's signature takes neither form.
    """
    form = check_summary_method(method)
    if form == "messages_args":
        result = method(list(messages), dict(summary_args))
    else:
        result = method(list(messages))
    return "" if result is None else str(result)
