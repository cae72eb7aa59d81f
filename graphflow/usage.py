"""Summing token usage and cost, and checking a run's budget.

A usage record is a plain dict: ``prompt_tokens``, ``completion_tokens``, ``cost``,
``calls``, ``cached_calls`` and, for calls answered from the cache, the same counts under
``cached_prompt_tokens``/``cached_completion_tokens``/``cached_cost`` (what the call
would have cost). The run row stores the totals; per-node totals (``by_node``) are
summed from the step rows, which keep each step's usage per node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["accumulate", "add_usage", "by_node_from_steps", "total_tokens", "usage_exceeds"]

_NUMERIC = ("prompt_tokens", "completion_tokens", "cost", "calls", "cached_calls",
            "cached_prompt_tokens", "cached_completion_tokens", "cached_cost")  # fmt: skip


def _sum(into: dict[str, Any], usage: Mapping[str, Any]) -> None:
    for key in _NUMERIC:
        value = usage.get(key)
        if isinstance(value, (int, float)):
            into[key] = into.get(key, 0) + value


def add_usage(total: Mapping[str, Any], usage: Mapping[str, Any], *, node: str | None = None
              ) -> dict[str, Any]:  # fmt: skip
    """Return ``total`` plus ``usage`` (also under ``by_node[node]`` when given)."""
    out = {k: v for k, v in total.items() if k != "by_node"}
    _sum(out, usage)
    by_node = {k: dict(v) for k, v in (total.get("by_node") or {}).items()}
    if node is not None:
        _sum(by_node.setdefault(node, {}), usage)
    if by_node:
        out["by_node"] = by_node
    return out


def accumulate(total: dict[str, Any], usage: Mapping[str, Any]) -> None:
    """Add ``usage`` into ``total`` in place."""
    _sum(total, usage)


def by_node_from_steps(step_usages: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Per-node totals from the ``usage`` of step rows (``{node: usage}`` each)."""
    out: dict[str, dict[str, Any]] = {}
    for usage in step_usages:
        for node, u in (usage or {}).items():
            _sum(out.setdefault(node, {}), u)
    return out


def total_tokens(usage: Mapping[str, Any]) -> int:
    return int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))


def usage_exceeds(usage: Mapping[str, Any], max_tokens: int | None,
                  max_cost: float | None) -> str | None:  # fmt: skip
    """The reason text when the budget is used up, else ``None``."""
    if max_tokens is not None and total_tokens(usage) >= max_tokens:
        return f"token budget used up ({total_tokens(usage)} of {max_tokens} tokens)"
    cost = float(usage.get("cost", 0.0))
    if max_cost is not None and cost >= max_cost:
        return f"cost budget used up ({cost:.4f} of {max_cost:g})"
    return None
