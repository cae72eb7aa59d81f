"""Fetching a web page — off unless allowed.

A model can read the web only when the person running the graph says so, either
with the environment variable ``GRAPHFLOW_ALLOW_HTTP`` or with the tool node's option
``allow_http``. Each takes ``1``/``true``/``*`` (any host) or a comma-separated list of
host names (``example.org,docs.python.org``). Only ``http`` and ``https`` URLs are
fetched, redirects are followed only to allowed hosts, and the body is capped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlsplit

from graphflow.tools import ToolContext, current_tool_context

__all__ = ["fetch_url"]

ENV_VAR = "GRAPHFLOW_ALLOW_HTTP"
MAX_BYTES = 200_000
_MAX_REDIRECTS = 5


def _allowance(value: Any) -> set[str] | bool:
    """``True`` for any host, a set of hosts, or ``False``."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "*", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        return {h.strip() for h in text.split(",") if h.strip()}
    if isinstance(value, Iterable):
        return {str(h).strip().lower() for h in value}
    return bool(value)


def allowed_hosts(ctx: ToolContext | None) -> set[str] | bool:
    """What the tool node's option and the environment allow (the option wins)."""
    option = ctx.options.get("allow_http") if ctx is not None else None
    if option is not None:
        return _allowance(option)
    return _allowance(os.environ.get(ENV_VAR))


def check_url(url: str, allowed: set[str] | bool) -> None:
    """Refuse ``url`` unless it is http(s) and its host is allowed.

    Raises:
        ValueError: not an http(s) URL. PermissionError: web access is off, or the host
            is not among the allowed ones.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if allowed is True:
        return
    if allowed is False:
        raise PermissionError(
            "web access is turned off for this graph; the person running it can allow it "
            f"with the tool node option `allow_http: true` or the environment variable {ENV_VAR}=1"
        )
    if parts.hostname.lower() not in allowed:
        raise PermissionError(f"host {parts.hostname!r} is not among the allowed hosts "
                              f"({', '.join(sorted(allowed))})")  # fmt: skip


async def fetch_url(url: Annotated[str, "the http(s) URL to fetch"],
                    max_bytes: Annotated[int, "the most bytes of the body to return"] = 20_000,
                    ctx: ToolContext | None = None) -> str:  # fmt: skip
    """Fetch a URL with GET and return the status line and the start of the body as text.

    Example:
        >>> import asyncio
        >>> asyncio.run(fetch_url("http://example.org", ctx=ToolContext(options={"allow_http": False})))
        Traceback (most recent call last):
        ...
        PermissionError: web access is turned off for this graph; ...
    """
    import httpx

    context = ctx or current_tool_context()
    allowed = allowed_hosts(context)
    limit = max(1, min(int(max_bytes), MAX_BYTES))
    async with httpx.AsyncClient(timeout=20.0, follow_redirects=False) as client:
        for _ in range(_MAX_REDIRECTS + 1):
            check_url(url, allowed)
            async with client.stream("GET", url) as response:
                if response.is_redirect and "location" in response.headers:
                    url = str(response.url.join(response.headers["location"]))
                    continue
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        break
                text = bytes(body[:limit]).decode(response.encoding or "utf-8", errors="replace")
                more = "\n[truncated]" if len(body) > limit else ""
                kind = response.headers.get("content-type", "")
                return f"HTTP {response.status_code} {kind}\n\n{text}{more}"
    raise ValueError(f"more than {_MAX_REDIRECTS} redirects")
