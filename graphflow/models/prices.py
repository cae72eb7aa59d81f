"""List prices of hosted models, from a maintained price library (``genai-prices``),
used when a config sets no ``price:`` and the server reports no cost.

A price is looked up for the model *at its endpoint*: OpenAI's own API, Azure OpenAI, or
a hosted provider the library knows by its URL (Groq, Together, Mistral, DeepSeek …).
A local server (Ollama, vLLM, llama.cpp), a proxy or an unlisted model has no list
price: its cost is *unknown* (``None``), never a silent 0. Set ``price:`` in the model
config to be exact (``price: [0, 0]`` for a local model).

The library is imported on the first lookup (it takes about half a second), so runs of
scripted models and graphs without agents never load it; without it installed every
lookup answers ``None``.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

__all__ = ["list_price"]

logger = logging.getLogger(__name__)

#: Local and private addresses: no provider lists prices for them.
_LOCAL = ("localhost", "127.", "0.0.0.0", "[::1]", "10.", "192.168.", "host.docker.internal")


@cache
def _library() -> Any:
    try:
        import genai_prices
    except ImportError:  # pragma: no cover - a declared dependency
        logger.debug("genai-prices is not installed: list prices are unknown")
        return None
    return genai_prices


def list_price(model: str, provider: str, url: str, prompt_tokens: int,
               completion_tokens: int) -> float | None:  # fmt: skip
    """The list price in US dollars of a call to ``model`` at ``url`` with these token
    counts, or ``None`` when no price is listed for that model at that endpoint.

    ``provider`` is :attr:`ModelConfig.provider <graphflow.models.ModelConfig.provider>`
    (``openai``, ``azure`` or ``openai-compatible``).

    Example:
        >>> round(list_price("gpt-4o-mini", "openai", "https://api.openai.com/v1", 1000, 1000), 6)
        0.00075
        >>> list_price("llama3", "openai-compatible", "http://localhost:11434/v1", 10, 5) is None
        True
    """
    host = url.split("://", 1)[-1]
    if provider == "openai-compatible" and host.startswith(_LOCAL):
        return None
    library = _library()
    if library is None:
        return None
    where: dict[str, str] = (
        {"provider_id": provider} if provider in ("openai", "azure") else {"provider_api_url": url}
    )
    try:
        found = library.calc_price(
            library.Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens),
            model, **where,
        )  # fmt: skip
    except LookupError:
        return None
    except Exception as exc:  # the library's own failure must not fail a model call
        logger.debug("no list price for %s at %s: %s", model, url, exc)
        return None
    return float(found.total_price)
