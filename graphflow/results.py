"""What a run returns, and how a branch's Update is saved and read back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphflow.messages import Message, Update
from graphflow.store.protocol import RunStatus

__all__ = ["RunResult", "update_from_payload", "update_payload"]


@dataclass
class RunResult:
    """The outcome of ``run``/``resume``: where the run stands now.

    ``status`` (a :data:`~graphflow.store.RunStatus`) is one of ``completed``,
    ``waiting``, ``failed``, ``limit_reached``, ``budget_exceeded``, ``timeout``;
    ``reason`` says which stop condition fired. ``messages`` is the run's conversation
    (a :class:`~graphflow.conversation.Conversation` after a run: a resumed run's earlier
    messages are read from the store when first used).

    Its ``repr`` stays short however long the run (counts and the last message, not
    every message), so logging a result, or ``asyncio.run`` formatting it, costs nothing.

    Example:
        >>> RunResult("r1", "completed", steps=3, variables={"i": 3})
        RunResult(run_id='r1', status='completed', steps=3, messages=<0>, variables=<1: i>)
    """

    run_id: str
    status: RunStatus
    reason: str | None = None
    messages: Sequence[Message] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    waiting: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    #: the ids of the questions waiting, ``{node: "NODE@STEP"}``: pass one as
    #: ``resume(..., question=...)`` so the answer lands on that question only
    questions: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = [f"run_id={self.run_id!r}", f"status={self.status!r}"]
        if self.reason is not None:
            parts.append(f"reason={_short(self.reason)}")
        parts.append(f"steps={self.steps}")
        last = self.last
        about = "" if last is None else f", last: {last.role} {_short(last.content)}"
        parts.append(f"messages=<{len(self.messages)}{about}>")
        names = list(self.variables)
        shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        parts.append(f"variables=<{len(names)}{': ' + shown if names else ''}>")
        if self.waiting:
            parts.append(f"waiting=<{', '.join(self.waiting)}>")
        if self.error is not None:
            parts.append(f"error={_short(self.error)}")
        return f"RunResult({', '.join(parts)})"

    @property
    def last(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    @property
    def question(self) -> str | None:
        """The question of the (first) waiting human checkpoint, if any."""
        return next(iter(self.waiting.values()), None)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (what ``graphflow run --json`` prints)."""
        return {"run_id": self.run_id, "status": self.status, "reason": self.reason,
                "error": self.error, "steps": self.steps, "waiting": dict(self.waiting),
                "variables": self.variables, "visits": dict(self.visits), "usage": self.usage,
                "messages": [m.to_record() for m in self.messages]}  # fmt: skip

    def _repr_html_(self) -> str:
        """The result as a notebook shows it: status, transcript, tokens and cost."""
        from graphflow.display import run_result_html

        return run_result_html(self)
    @property
    def question_id(self) -> str | None:
        """The id (``NODE@STEP``) of the (first) waiting question, if any."""
        return next(iter(self.questions.values()), None)


def update_payload(update: Update) -> dict[str, Any]:
    goto = update.goto if update.goto is None or isinstance(update.goto, str) else list(update.goto)
    return {"messages": [m.to_record() for m in update.messages],
            "variables": dict(update.variables), "goto": goto,
            "usage": dict(update.usage) if update.usage else None, "stop": update.stop,
            **({"reason": update.reason} if update.reason else {})}  # fmt: skip


def update_from_payload(data: Mapping[str, Any]) -> Update:
    return Update(messages=[Message(**m) for m in data.get("messages", [])],
                  variables=data.get("variables") or {}, goto=data.get("goto"),
                  usage=data.get("usage"), stop=data.get("stop"),
                  reason=data.get("reason"))  # fmt: skip


def _short(text: str | None, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
