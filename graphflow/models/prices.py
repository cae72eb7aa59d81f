"""List prices of well-known hosted models, used when a config sets no ``price``.

Prices are US dollars per 1,000 tokens as ``(prompt, completion)``. They are published
list prices and change over time: set ``price:`` in a model config to be exact, and
``price: [0, 0]`` for a local model.
"""

from __future__ import annotations

__all__ = ["KNOWN_PRICES", "known_price"]

#: (prompt, completion) US dollars per 1k tokens, matched by longest model-name prefix.
KNOWN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.00015, 0.0006),
    "gpt-4o": (0.0025, 0.01),
    "gpt-4.1-nano": (0.0001, 0.0004),
    "gpt-4.1-mini": (0.0004, 0.0016),
    "gpt-4.1": (0.002, 0.008),
    "gpt-4-turbo": (0.01, 0.03),
    "gpt-4-32k": (0.06, 0.12),
    "gpt-4": (0.03, 0.06),
    "gpt-3.5-turbo": (0.0005, 0.0015),
    "o1-mini": (0.0011, 0.0044),
    "o1": (0.015, 0.06),
    "o3-mini": (0.0011, 0.0044),
    "o4-mini": (0.0011, 0.0044),
}


def known_price(model: str) -> tuple[float, float] | None:
    """The list price of ``model`` per 1k tokens, or ``None`` when it is not known.

    The longest known name that ``model`` starts with wins, so dated snapshots such as
    ``gpt-4o-2024-08-06`` find ``gpt-4o``.

    Example:
        >>> known_price("gpt-4o-mini-2024-07-18")
        (0.00015, 0.0006)
        >>> known_price("llama3") is None
        True
    """
    best = ""
    for name in KNOWN_PRICES:
        if model.startswith(name) and len(name) > len(best):
            best = name
    return KNOWN_PRICES[best] if best else None
