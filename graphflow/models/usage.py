"""Token usage and cost: one call's :class:`Usage`, sums of many, and a :class:`Budget`.

At the boundary (stored with a run's steps, shown by ``graphflow show``) usage travels as
plain dicts: ``Usage.to_dict()`` for one call and ``UsageTotals.to_dict()`` for a sum.
:func:`sum_usage` accepts either form, so per-node sums add up into per-run sums.

A call answered from the response cache is counted apart: it costs nothing, so budgets
and ``cost`` count only billed calls, while ``cached_*`` fields say what the cache saved
(AutoGen's usage "with and without cached inference").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphflow.errors import BudgetExceeded

__all__ = [
    "Budget",
    "Usage",
    "UsageTotals",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "sum_usage",
    "usage_by_node",
]

_TOKEN = re.compile(r"\w{1,6}|[^\w\s]", re.UNICODE)


def estimate_tokens(text: str | None) -> int:
    """A plausible token count for ``text`` without a tokenizer (a word or punctuation mark, long words count double).

    Example:
        >>> estimate_tokens("Hello, world!")
        4
    """
    return len(_TOKEN.findall(text or ""))


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """A plausible prompt-token count for OpenAI-shaped messages (content, tool calls and
    a few tokens of framing per message, as chat formats add).

    Example:
        >>> estimate_prompt_tokens([{"role": "user", "content": "Hello, world!"}])
        10
    """
    total = 3
    for message in messages:
        total += 3 + estimate_tokens(str(message.get("content") or ""))
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            total += 3 + estimate_tokens(function.get("name", ""))
            total += estimate_tokens(function.get("arguments", ""))
    return total


@dataclass(frozen=True)
class Usage:
    """Usage of one model call.

    Attributes:
        prompt_tokens: tokens sent.
        completion_tokens: tokens generated.
        cost: price of the call (0 when no price is known); for a ``cached`` call, what
            it would have cost, which sums count apart and never bill.
        cached: the answer came from the response cache; nothing was billed.
        model: the model that answered.
        base_url: the endpoint that answered (``None`` for in-process models).

    Example:
        >>> Usage(prompt_tokens=10, completion_tokens=5, model="m").total_tokens
        15
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cached: bool = False
    model: str = ""
    base_url: str | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": self.cost,
            "cached": self.cached,
            "model": self.model,
            "base_url": self.base_url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """Read a dict written by :meth:`to_dict` (unknown keys are ignored)."""
        return cls(
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            cost=float(data.get("cost") or 0.0),
            cached=bool(data.get("cached", False)),
            model=str(data.get("model") or ""),
            base_url=data.get("base_url"),
        )


_MODEL_FIELDS = ("calls", "cached_calls", "prompt_tokens", "completion_tokens", "cost")


@dataclass
class UsageTotals:
    """A sum of usages: billed calls and cached calls counted apart, and a per-model split.

    ``prompt_tokens``, ``completion_tokens`` and ``cost`` count billed calls only; the
    ``cached_*`` fields count what cache hits would have cost.

    Example:
        >>> totals = sum_usage([Usage(prompt_tokens=10, completion_tokens=2, model="m"),
        ...                     Usage(prompt_tokens=10, completion_tokens=2, model="m",
        ...                           cached=True)])
        >>> (totals.calls, totals.cached_calls, totals.total_tokens)
        (2, 1, 12)
    """

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    cached_cost: float = 0.0
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        """Billed tokens (cache hits excluded)."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens_including_cached(self) -> int:
        """Billed tokens plus the tokens of cache hits."""
        return self.total_tokens + self.cached_prompt_tokens + self.cached_completion_tokens

    def add(self, item: Usage | UsageTotals | Mapping[str, Any] | None) -> UsageTotals:
        """Add one call's usage or another sum (object or dict); returns ``self``."""
        if item is None:
            return self
        if isinstance(item, Mapping):
            item = UsageTotals.from_dict(item) if "calls" in item else Usage.from_dict(item)
        if isinstance(item, Usage):
            item = _totals_of(item)
        self.calls += item.calls
        self.cached_calls += item.cached_calls
        self.prompt_tokens += item.prompt_tokens
        self.completion_tokens += item.completion_tokens
        self.cost += item.cost
        self.cached_prompt_tokens += item.cached_prompt_tokens
        self.cached_completion_tokens += item.cached_completion_tokens
        self.cached_cost += item.cached_cost
        for model, numbers in item.models.items():
            mine = self.models.setdefault(model, dict.fromkeys(_MODEL_FIELDS, 0))
            for key in _MODEL_FIELDS:
                mine[key] = mine.get(key, 0) + numbers.get(key, 0)
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` (and :func:`sum_usage`) read it back."""
        return {
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cost": round(self.cost, 10),
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "cached_completion_tokens": self.cached_completion_tokens,
            "cached_cost": round(self.cached_cost, 10),
            "models": {name: dict(numbers) for name, numbers in sorted(self.models.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageTotals:
        """Read a dict written by :meth:`to_dict`."""
        return cls(
            calls=int(data.get("calls") or 0),
            cached_calls=int(data.get("cached_calls") or 0),
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            cost=float(data.get("cost") or 0.0),
            cached_prompt_tokens=int(data.get("cached_prompt_tokens") or 0),
            cached_completion_tokens=int(data.get("cached_completion_tokens") or 0),
            cached_cost=float(data.get("cached_cost") or 0.0),
            models={str(k): dict(v) for k, v in (data.get("models") or {}).items()},
        )


def _totals_of(usage: Usage) -> UsageTotals:
    name = usage.model or "unknown"
    if usage.cached:
        return UsageTotals(
            calls=1,
            cached_calls=1,
            cached_prompt_tokens=usage.prompt_tokens,
            cached_completion_tokens=usage.completion_tokens,
            cached_cost=usage.cost,
            models={name: {**dict.fromkeys(_MODEL_FIELDS, 0), "calls": 1, "cached_calls": 1}},
        )
    numbers = {
        "calls": 1,
        "cached_calls": 0,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost": usage.cost,
    }
    return UsageTotals(
        calls=1,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost=usage.cost,
        models={name: numbers},
    )


def sum_usage(items: Iterable[Usage | UsageTotals | Mapping[str, Any] | None]) -> UsageTotals:
    """Sum calls' usages and/or earlier sums (objects or their dicts); ``None`` is skipped.

    Example:
        >>> sum_usage([{"prompt_tokens": 3, "completion_tokens": 1, "cost": 0.5},
        ...            None]).to_dict()["cost"]
        0.5
    """
    totals = UsageTotals()
    for item in items:
        totals.add(item)
    return totals


def usage_by_node(
    records: Iterable[tuple[str, Usage | UsageTotals | Mapping[str, Any] | None]],
) -> dict[str, UsageTotals]:
    """Sum usages per node from ``(node, usage)`` pairs, e.g. a run's step records.

    Example:
        >>> by_node = usage_by_node([("writer", Usage(prompt_tokens=5)),
        ...                          ("writer", Usage(prompt_tokens=7))])
        >>> by_node["writer"].prompt_tokens
        12
    """
    out: dict[str, UsageTotals] = {}
    for node, usage in records:
        out.setdefault(node, UsageTotals()).add(usage)
    return out


@dataclass(frozen=True)
class Budget:
    """A token and/or cost limit over billed usage (cache hits are free).

    Example:
        >>> Budget(max_tokens=100).exceeded(sum_usage([Usage(prompt_tokens=150)]))
        'token budget exceeded: 150 tokens used, the limit is 100 (max_tokens)'
    """

    max_tokens: int | None = None
    max_cost: float | None = None

    def __bool__(self) -> bool:
        return self.max_tokens is not None or self.max_cost is not None

    def exceeded(self, used: UsageTotals | Mapping[str, Any]) -> str | None:
        """Why the budget is used up, or ``None`` while some remains."""
        totals = used if isinstance(used, UsageTotals) else sum_usage([used])
        if self.max_tokens is not None and totals.total_tokens >= self.max_tokens:
            return (
                f"token budget exceeded: {totals.total_tokens:,} tokens used, "
                f"the limit is {self.max_tokens:,} (max_tokens)"
            )
        if self.max_cost is not None and totals.cost >= self.max_cost:
            return (
                f"cost budget exceeded: {totals.cost:.4f} spent, "
                f"the limit is {self.max_cost:g} (max_cost)"
            )
        return None

    def check(self, used: UsageTotals | Mapping[str, Any], *, where: str = "") -> None:
        """Raise :class:`~graphflow.errors.BudgetExceeded` when the budget is used up.

        Raises:
            BudgetExceeded: naming the limit, what was used, and how to raise it.
        """
        reason = self.exceeded(used)
        if reason is not None:
            place = f"{where}: " if where else ""
            raise BudgetExceeded(
                f"{place}{reason}; raise limits.max_tokens / limits.max_cost in the graph "
                "or shorten the conversation"
            )

    def remaining(self, used: UsageTotals | Mapping[str, Any]) -> dict[str, float | None]:
        """Tokens and cost left (``None`` where there is no limit)."""
        totals = used if isinstance(used, UsageTotals) else sum_usage([used])
        return {
            "tokens": None
            if self.max_tokens is None
            else max(self.max_tokens - totals.total_tokens, 0),
            "cost": None if self.max_cost is None else max(self.max_cost - totals.cost, 0.0),
        }
