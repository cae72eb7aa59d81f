"""Who may talk to the server, and what its answers allow a browser to do.

:class:`Guard` is an ASGI middleware around the whole app:

- **Host check.** Without a token (the server then listens on loopback only), a request
  must name a loopback host (``127.0.0.1``, ``localhost``, ``[::1]``): a web page whose
  name an attacker points at 127.0.0.1 (DNS rebinding) is refused.
- **Token.** With a token (required for any bind that is not loopback), every request
  must carry it: ``Authorization: Bearer TOKEN`` (scripts), or the cookie a browser gets
  by opening ``/?token=TOKEN`` once (``HttpOnly``, ``SameSite=Strict``; the server then
  redirects to the same page without the token, so it stays out of the address bar and
  the history). Compared in constant time. The token is never sent back to the browser.
- **Cross-site requests.** A request that changes something (``POST`` …) must not come
  from another site: an ``Origin`` header, when present, must be this server's; and
  unless it carries the token in ``Authorization``, it must carry the header
  ``X-Graphflow-Request`` — which a page of another site cannot add without a CORS
  preflight, which this server never grants.
- **Headers on every answer:** a Content-Security-Policy that allows only the server's
  own scripts, styles and connections (no inline script, no plugin, no framing),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  ``X-Frame-Options: DENY`` and ``Cache-Control: no-store`` for the API.

Refusals are JSON errors (401 for a missing or wrong token, 403 otherwise) that say what
to do; nothing is changed.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

__all__ = ["COOKIE", "CSP", "CSRF_HEADER", "Guard", "is_loopback"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The content security policy of every answer (the report's rules, with the server's
#: own script and style files instead of an inline script).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")  # fmt: skip
COOKIE = "graphflow_token"
CSRF_HEADER = "x-graphflow-request"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address or a Host header's name) is this machine only.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    import ipaddress

    name = host.strip().lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """The middleware described in the module docs; ``token=None`` serves loopback
    clients only (checked by their ``Host`` header)."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if isinstance(refusal, tuple):
            await self._error(send, *refusal)
            return
        if refusal == "login":
            await self._login(scope, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-security-policy", CSP.encode()),
                         (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]  # fmt: skip
                if api:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | str | None:
        host = headers.get("host", "")
        if self.token is None and not is_loopback(_host_name(host)):
            return (403, "host_refused",
                    f"this server answers only requests addressed to 127.0.0.1 or localhost "
                    f"(this one named {host[:80]!r}); open http://127.0.0.1:PORT/, or start "
                    "the server with --token to serve other hosts")  # fmt: skip
        bearer = False
        if self.token is not None:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            auth = headers.get("authorization", "")
            if auth.lower().startswith("bearer ") and self._same(auth[7:].strip()):
                bearer = True
            elif scope["method"] == "GET" and "token" in query and self._same(query["token"]):
                return "login"
            elif not self._same(_cookie(headers.get("cookie", ""), COOKIE)):
                return (401, "unauthorized",
                        "this server needs its token: send 'Authorization: Bearer TOKEN', or "
                        "open the address `graphflow serve` printed (/?token=TOKEN) once in "
                        "the browser")  # fmt: skip
        if scope["method"] not in _SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and origin != "null":
                # The host and port must be this server's; the scheme may differ behind a
                # TLS-terminating proxy.
                if origin.rstrip("/").lower().partition("://")[2] != host.lower():
                    return (403, "cross_site_refused",
                            f"a {scope['method']} from origin {origin[:80]!r} is refused: "
                            "only pages of this server may change runs")  # fmt: skip
            elif origin == "null":
                return (403, "cross_site_refused",
                        "a request from an opaque origin (null) is refused")
            if not bearer and CSRF_HEADER not in headers:
                return (403, "csrf_header_missing",
                        f"a {scope['method']} must carry the header 'X-Graphflow-Request: 1' "
                        "(or the token in 'Authorization: Bearer …'); the web UI sends it, "
                        "pages of other sites cannot")  # fmt: skip
        return None

    def _same(self, given: str) -> bool:
        return self.token is not None and bool(given) and hmac.compare_digest(given.encode(), self.token)

    async def _login(self, scope: Scope, send: Send) -> None:
        """Set the token cookie and redirect to the same path on this server, without the
        token."""
        query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
                 if k != "token"]  # fmt: skip
        # The path quoted again, and with one leading slash: "//host/…" would send the
        # browser to another site, a line break would break the headers.
        path = "/" + quote(str(scope.get("path") or "/"), safe="/").lstrip("/")
        target = path + (f"?{urlencode(query)}" if query else "")
        cookie = (f"{COOKIE}={self.token.decode() if self.token else ''}; HttpOnly; "
                  "SameSite=Strict; Path=/")  # fmt: skip
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", target.encode()), (b"set-cookie", cookie.encode()),
                                (b"referrer-policy", b"no-referrer"),
                                (b"cache-control", b"no-store"), (b"content-length", b"0")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})

    async def _error(self, send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"status": status, "code": code, "message": message}}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"content-security-policy", CSP.encode()),
                                (b"x-content-type-options", b"nosniff"),
                                (b"cache-control", b"no-store")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""
