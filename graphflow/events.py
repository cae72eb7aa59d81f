"""Events a run streams while it executes.

Every event is a frozen dataclass with ``type``, ``run_id`` and ``step``; ``to_dict``
gives the JSON-lines form used by ``graphflow run --events jsonl``.

A listener (``on_event``) only watches: one that raises is logged (under
``graphflow.events``, with its traceback, once per kind of error) and the run goes on
(:func:`guarded`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphflow.messages import Message

__all__ = [
    "Event",
    "MemoryWarning",
    "MessageEvent",
    "ModelsChosen",
    "NodeFinished",
    "NodeStarted",
    "RunError",
    "RunFinished",
    "RunStarted",
    "StepFinished",
    "StepStarted",
    "TokenEvent",
    "ToolFailed",
    "UsageEvent",
    "Waiting",
    "guarded",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    run_id: str
    step: int

    type = "event"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_record() if isinstance(value, Message) else value
        return out


@dataclass(frozen=True)
class RunStarted(Event):
    graph: str = ""
    resumed: bool = False
    type = "run_started"


@dataclass(frozen=True)
class StepStarted(Event):
    nodes: tuple[str, ...] = ()
    type = "step_started"


@dataclass(frozen=True)
class NodeStarted(Event):
    node: str = ""
    type = "node_started"


@dataclass(frozen=True)
class NodeFinished(Event):
    node: str = ""
    seconds: float = 0.0
    type = "node_finished"


@dataclass(frozen=True)
class MessageEvent(Event):
    node: str = ""
    message: Message = field(default_factory=Message)
    type = "message"


@dataclass(frozen=True)
class TokenEvent(Event):
    """A streamed piece of a model's answer."""

    node: str = ""
    text: str = ""
    type = "token"


@dataclass(frozen=True)
class ToolFailed(Event):
    """A tool call raised: its error went back to the model as the call's result; the
    traceback is here (and in the tool node's ``NODE_errors`` variable)."""

    node: str = ""
    tool: str = ""
    call_id: str = ""
    error: str = ""
    traceback: str = ""
    type = "tool_failed"


@dataclass(frozen=True)
class MemoryWarning(Event):
    """A teachable agent could not learn from a message (the analyzer's answer was not
    usable, or its model failed): no memo was stored from it, and the run goes on."""

    node: str = ""
    warning: str = ""
    type = "memory_warning"


@dataclass(frozen=True)
class UsageEvent(Event):
    node: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    type = "usage"


@dataclass(frozen=True)
class ModelsChosen(Event):
    """Which models the run uses, and why: sent the first time one of its nodes needs a
    model. ``models`` has one line per entry, ``origin`` says where they came from
    (``from --model``, ``recorded with the run`` …), ``notice`` is a warning, if any."""

    models: tuple[str, ...] = ()
    source: str = ""
    origin: str = ""
    notice: str = ""
    type = "models"


@dataclass(frozen=True)
class StepFinished(Event):
    nodes: tuple[str, ...] = ()
    next: tuple[str, ...] = ()
    seconds: float = 0.0
    type = "step_finished"


@dataclass(frozen=True)
class Waiting(Event):
    node: str = ""
    question: str = ""
    type = "waiting"


@dataclass(frozen=True)
class RunError(Event):
    node: str | None = None
    error: str = ""
    type = "error"


@dataclass(frozen=True)
class RunFinished(Event):
    status: str = ""
    reason: str = ""
    type = "finished"


def guarded(listener: Callable[[Event], None]) -> Callable[[Event], None]:
    """``listener`` made harmless to the run: an exception it raises is logged (with its
    traceback the first time, then once more per kind of error at DEBUG) and swallowed.
    Guarding a guarded listener returns it as is.

    Example:
        >>> def broken(event: Event) -> None:
        ...     raise RuntimeError("listener bug")
        >>> guarded(broken)(Event("r1", 0)) is None
        True
    """
    if getattr(listener, "_graphflow_guarded", False):
        return listener
    seen: set[str] = set()

    def call(event: Event) -> None:
        try:
            listener(event)
        except Exception as exc:
            kind = type(exc).__name__
            first = kind not in seen
            seen.add(kind)
            logger.log(logging.ERROR if first else logging.DEBUG,
                       "event listener %r failed on a %s event of run %s (the run goes on): "
                       "%s: %s", listener, event.type, event.run_id, kind, exc,
                       exc_info=first)  # fmt: skip

    call._graphflow_guarded = True  # type: ignore[attr-defined]
    return call
