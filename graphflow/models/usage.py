"""Token usage and cost: one value type, :class:`Usage`, for one call and for any sum of
calls, and a :class:`Budget` over it.

A call answered from the response cache is counted apart: it costs nothing, so budgets
and ``prompt_tokens`` / ``completion_tokens`` / ``cost`` count only billed calls, while
the ``cached_*`` fields say what the cache saved (AutoGen's usage "with and without
cached inference"). Usages add up (``a + b``, :meth:`Usage.total`); a call's usage, a
node's, a step's and a run's are the same type.

At the boundary — step rows and the run row of the store, ``Update.usage``, events,
``RunResult.usage`` — usage travels as a plain dict: :meth:`Usage.to_dict` writes it and
:meth:`Usage.from_dict` reads it back (a dict without ``calls`` counts as one call, so
usage a node reports by hand, ``{"prompt_tokens": 40, "completion_tokens": 10}``, is
read as one call). A run's usage report adds the per-node split under ``by_node``
(:func:`usage_report` / :func:`read_usage_report`).
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
    "estimate_prompt_tokens",
    "estimate_tokens",
    "message_tokens",
    "read_usage_report",
    "usage_by_node",
    "usage_report",
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
    a few tokens of framing per message, as chat formats add): 3 plus
    :func:`message_tokens` of each. Messages that carry their estimate already (an
    :class:`~graphflow.models.openai_messages.OpenAIMessages` as built) are not scanned.

    Example:
        >>> estimate_prompt_tokens([{"role": "user", "content": "Hello, world!"}])
        10
    """
    known = getattr(messages, "prompt_tokens", None)
    if isinstance(known, int):
        return known
    return 3 + sum(message_tokens(message) for message in messages)


def message_tokens(message: Mapping[str, Any]) -> int:
    """What one OpenAI-shaped message adds to :func:`estimate_prompt_tokens`.

    Example:
        >>> message_tokens({"role": "user", "content": "Hello, world!"})
        7
    """
    total = 3 + estimate_tokens(str(message.get("content") or ""))
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        total += 3 + estimate_tokens(function.get("name", ""))
        total += estimate_tokens(function.get("arguments", ""))
    return total


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage and cost of model calls: one call, a node's, a step's or a run's.

    Attributes:
        calls: model calls, cache hits included.
        cached_calls: calls answered from the response cache.
        prompt_tokens: prompt tokens of billed calls.
        completion_tokens: completion tokens of billed calls.
        cost: price of the billed calls in US dollars, of those whose price is known.
        cached_prompt_tokens, cached_completion_tokens: tokens of cache hits.
        cached_cost: what the cache hits would have cost.
        models: the same numbers per model name (entries have no ``models`` of their
            own); treat it as read-only, sums may share it.
        unpriced_calls: calls whose price is unknown (no ``price:``, no cost reported by
            the server, no list price): ``cost`` leaves them out, and :attr:`cost_known`
            is false, so the cost is shown as unknown, not as $0.

    Example:
        >>> call = Usage.of_call(10, 2, cost=0.5, model="m")
        >>> hit = Usage.of_call(10, 2, cost=0.5, cached=True, model="m")
        >>> run = call + hit
        >>> (run.calls, run.cached_calls, run.total_tokens, run.cost, run.cached_cost)
        (2, 1, 12, 0.5, 0.5)
        >>> run.models["m"].calls, hit.cached, run.cached
        (2, True, False)
        >>> (run + Usage.of_call(5, 1, cost=None, model="local")).cost_known
        False
    """

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    cached_cost: float = 0.0
    models: Mapping[str, Usage] = field(default_factory=dict, hash=False)
    unpriced_calls: int = 0

    @classmethod
    def of_call(cls, prompt_tokens: int = 0, completion_tokens: int = 0, *,
                cost: float | None = 0.0, cached: bool = False, model: str = "") -> Usage:  # fmt: skip
        """The usage of one call; ``cost`` is its price in US dollars (for a ``cached``
        call, what it would have cost, which is counted under ``cached_cost`` and never
        billed), ``None`` when the price is unknown."""
        unpriced = 1 if cost is None else 0
        price = cost or 0.0
        if cached:
            one = cls(1, 1, 0, 0, 0.0, prompt_tokens, completion_tokens, price,
                      unpriced_calls=unpriced)  # fmt: skip
        else:
            one = cls(1, 0, prompt_tokens, completion_tokens, price, unpriced_calls=unpriced)
        return cls(one.calls, one.cached_calls, one.prompt_tokens, one.completion_tokens,
                   one.cost, one.cached_prompt_tokens, one.cached_completion_tokens,
                   one.cached_cost, {model or "unknown": one}, unpriced)  # fmt: skip

    @classmethod
    def total(cls, items: Iterable[Usage | None]) -> Usage:
        """The sum of ``items`` (``None`` is skipped).

        Example:
            >>> Usage.total([Usage.of_call(3, 1), None, Usage.of_call(2, 2)]).total_tokens
            8
        """
        out: Usage | None = None
        for item in items:
            if item is not None:
                out = item if out is None else out + item
        return cls() if out is None else out

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        if not other.models:
            models = self.models
        elif not self.models:
            models = other.models
        else:
            merged = dict(self.models)
            for name, numbers in other.models.items():
                mine = merged.get(name)
                merged[name] = numbers if mine is None else mine + numbers
            models = merged
        return Usage(self.calls + other.calls, self.cached_calls + other.cached_calls,
                     self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens, self.cost + other.cost,
                     self.cached_prompt_tokens + other.cached_prompt_tokens,
                     self.cached_completion_tokens + other.cached_completion_tokens,
                     self.cached_cost + other.cached_cost, models,
                     self.unpriced_calls + other.unpriced_calls)  # fmt: skip

    def __radd__(self, other: object) -> Usage:
        if other == 0:  # sum(usages) starts from 0
            return self
        return NotImplemented

    def __bool__(self) -> bool:
        """False when nothing was used (no calls, tokens or cost)."""
        return bool(self.calls or self.prompt_tokens or self.completion_tokens or self.cost
                    or self.cached_prompt_tokens or self.cached_completion_tokens
                    or self.cached_cost)  # fmt: skip

    @property
    def total_tokens(self) -> int:
        """Billed tokens (cache hits excluded)."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens_including_cached(self) -> int:
        """Billed tokens plus the tokens of cache hits."""
        return self.total_tokens + self.cached_prompt_tokens + self.cached_completion_tokens

    @property
    def cost_known(self) -> bool:
        """Whether every call's price is known (so ``cost`` is the whole cost)."""
        return self.unpriced_calls == 0

    def cost_text(self, digits: int = 4) -> str:
        """The billed cost for people: ``$0.0123``, ``unknown`` when no call's price is
        known, ``≥ $0.0123 (2 calls unpriced)`` when some are.

        Example:
            >>> Usage.of_call(10, 2, cost=None).cost_text(), Usage.of_call(1, 1, cost=0.5).cost_text()
            ('unknown', '$0.5000')
        """
        amount = f"${self.cost:.{digits}f}"
        if self.cost_known:
            return amount
        billed = self.calls - self.cached_calls
        if self.unpriced_calls >= max(billed, 1) and not self.cost:
            return "unknown"
        return f"≥ {amount} ({self.unpriced_calls} call{'s' * (self.unpriced_calls != 1)} unpriced)"

    @property
    def cached(self) -> bool:
        """Whether there were calls and the cache answered every one of them."""
        return self.calls > 0 and self.cached_calls == self.calls

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        return {
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "cost": round(self.cost, 10),
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "cached_completion_tokens": self.cached_completion_tokens,
            "cached_cost": round(self.cached_cost, 10),
            "models": {name: u._numbers() for name, u in sorted(self.models.items())},
            **({"unpriced_calls": self.unpriced_calls} if self.unpriced_calls else {}),
        }

    def _numbers(self) -> dict[str, Any]:
        """A per-model entry: the cache-hit numbers only when there are any (rows stay small)."""
        out: dict[str, Any] = {
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": round(self.cost, 10),
        }
        if self.cached_calls:
            out["cached_prompt_tokens"] = self.cached_prompt_tokens
            out["cached_completion_tokens"] = self.cached_completion_tokens
            out["cached_cost"] = round(self.cached_cost, 10)
        if self.unpriced_calls:
            out["unpriced_calls"] = self.unpriced_calls
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage:
        """Read a dict written by :meth:`to_dict`; keys it does not know are ignored.

        A dict without ``calls`` is one call's usage (``prompt_tokens``,
        ``completion_tokens``, ``cost`` — ``None`` when unknown, 0 when left out —, and
        optionally ``cached`` and ``model``).

        Example:
            >>> Usage.from_dict({"prompt_tokens": 3, "completion_tokens": 1}).calls
            1
        """
        if not data:
            return cls()
        get = data.get
        if "calls" not in data:
            cost = None if "cost" in data and data["cost"] is None else float(get("cost") or 0.0)
            return cls.of_call(int(get("prompt_tokens") or 0), int(get("completion_tokens") or 0),
                               cost=cost, cached=bool(get("cached", False)),
                               model=str(get("model") or ""))  # fmt: skip
        models = get("models") or {}
        return cls(int(get("calls") or 0), int(get("cached_calls") or 0),
                   int(get("prompt_tokens") or 0), int(get("completion_tokens") or 0),
                   float(get("cost") or 0.0), int(get("cached_prompt_tokens") or 0),
                   int(get("cached_completion_tokens") or 0), float(get("cached_cost") or 0.0),
                   {str(name): cls.from_dict({"calls": 0, **numbers})
                    for name, numbers in models.items() if isinstance(numbers, Mapping)},
                   int(get("unpriced_calls") or 0))  # fmt: skip


def usage_by_node(step_usages: Iterable[Mapping[str, Mapping[str, Any]] | None]) -> dict[str, Usage]:
    """Per-node sums from the ``usage`` of stored step rows (``{node: usage dict}`` each),
    or from what a store's ``node_usage_parts(run_id)`` returns: the per-node totals its
    newest snapshot kept, then the rows of the steps since (a usage dict with ``calls``
    is read as that many calls, so a total adds up like the rows it sums).

    Example:
        >>> rows = [{"writer": {"prompt_tokens": 5}}, None, {"writer": {"prompt_tokens": 7}}]
        >>> usage_by_node(rows)["writer"].prompt_tokens
        12
    """
    out: dict[str, Usage] = {}
    for row in step_usages:
        for node, data in (row or {}).items():
            usage = Usage.from_dict(data)
            out[node] = out[node] + usage if node in out else usage
    return out


def usage_report(total: Usage, by_node: Mapping[str, Usage] | None = None) -> dict[str, Any]:
    """A run's usage as a JSON-ready dict: the totals, and per node under ``by_node``
    (``{}`` when nothing was used).

    Example:
        >>> usage_report(Usage.of_call(3, 1), {"a": Usage.of_call(3, 1)})["by_node"]["a"]["calls"]
        1
    """
    if not total and not by_node:
        return {}
    out = total.to_dict()
    if by_node:
        out["by_node"] = {node: usage.to_dict() for node, usage in by_node.items()}
    return out


def read_usage_report(data: Mapping[str, Any] | None) -> tuple[Usage, dict[str, Usage]]:
    """Read back a :func:`usage_report`: the totals and the per-node split."""
    data = data or {}
    by_node = {str(n): Usage.from_dict(u) for n, u in (data.get("by_node") or {}).items()}
    totals = {k: v for k, v in data.items() if k != "by_node"}
    return Usage.from_dict(totals), by_node


@dataclass(frozen=True)
class Budget:
    """A token and/or cost limit over billed usage (cache hits are free).

    Example:
        >>> Budget(max_tokens=100).exceeded(Usage.of_call(150))
        'token budget used up (150 of 100 tokens)'
    """

    max_tokens: int | None = None
    max_cost: float | None = None

    def __bool__(self) -> bool:
        return self.max_tokens is not None or self.max_cost is not None

    def exceeded(self, used: Usage) -> str | None:
        """Why the budget is used up, or ``None`` while some remains."""
        if self.max_tokens is not None and used.total_tokens >= self.max_tokens:
            return f"token budget used up ({used.total_tokens} of {self.max_tokens} tokens)"
        if self.max_cost is not None and used.cost >= self.max_cost:
            return f"cost budget used up ({used.cost:.4f} of {self.max_cost:g})"
        return None

    def check(self, used: Usage, *, where: str = "") -> None:
        """Raise :class:`~graphflow.errors.BudgetExceeded` when the budget is used up.

        Raises:
            BudgetExceeded: naming the limit, what was used, and how to raise it.
        """
        reason = self.exceeded(used)
        if reason is not None:
            place = f"{where}: " if where else ""
            raise BudgetExceeded(
                f"{place}{reason}; raise max_tokens / max_cost (limits: in a graph) "
                "or shorten the conversation"
            )

    def remaining(self, used: Usage) -> dict[str, float | None]:
        """Tokens and cost left (``None`` where there is no limit)."""
        return {
            "tokens": None
            if self.max_tokens is None
            else max(self.max_tokens - used.total_tokens, 0),
            "cost": None if self.max_cost is None else max(self.max_cost - used.cost, 0.0),
        }

