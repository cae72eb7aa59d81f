"""Events a run streams while it executes.

Every event is a frozen dataclass with ``type``, ``run_id`` and ``step``; ``to_dict``
gives the JSON-lines form used by ``graphflow run --events jsonl``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from graphflow.messages import Message

__all__ = [
    "Event",
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
    "UsageEvent",
    "Waiting",
]


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
