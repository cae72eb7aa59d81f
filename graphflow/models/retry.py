"""Retry policy and error classification of model requests.

Every failed attempt is sorted into one :class:`Failure` kind, which decides what the
client does next:

=============  ==========================================  ============================
kind           cause                                       what happens
=============  ==========================================  ============================
timeout        no answer within the config's ``timeout``   retry, then the next config
connection     refused, reset, stream cut off              retry, then the next config
rate_limit     HTTP 429                                    retry (honours Retry-After)
server         HTTP 5xx, 408, 409                          retry, then the next config
bad_response   not JSON, no choices, unfinished stream     retry once, then next config
model_missing  HTTP 404, or 400 naming an unknown model    the next config at once
endpoint       HTTP 401/403/404, missing or refused key    the next config at once
rejected       HTTP 400/413/422 (context length, filter)   raise ModelRequestRejected
=============  ==========================================  ============================

A server that refuses ``stream_options`` (HTTP 400 naming it) is asked again without it
by the client, once; that is not a failure kind of its own. :func:`hint` turns a
failure into the advice error messages end with.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any, Literal

from graphflow.errors import ModelBadResponse, ModelError

__all__ = ["Failure", "FailureKind", "RetryPolicy", "classify", "hint", "refuses_stream_options"]

FailureKind = Literal["timeout", "connection", "rate_limit", "server", "bad_response",
                      "model_missing", "endpoint", "rejected"]  # fmt: skip
RETRYABLE: frozenset[str] = frozenset({"timeout", "connection", "rate_limit", "server"})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter between attempts on one endpoint.

    The n-th retry (from 0) waits ``min(maximum, initial * multiplier**n)``, reduced by a
    random fraction up to ``jitter``; a server's ``Retry-After`` is honoured up to
    ``maximum``. How many retries each endpoint gets is its config's ``max_retries``;
    a bad response is retried ``bad_response_retries`` times.

    Example:
        >>> policy = RetryPolicy(initial=1.0, maximum=4.0, jitter=0.0)
        >>> [policy.delay(n) for n in range(4)]
        [1.0, 2.0, 4.0, 4.0]
    """

    initial: float = 0.5
    maximum: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.25
    bad_response_retries: int = 1

    def delay(self, retry: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.maximum)
        base = min(self.maximum, self.initial * self.multiplier**retry)
        return base * (1.0 - random.uniform(0.0, self.jitter)) if self.jitter else base


@dataclass(frozen=True)
class Failure:
    """One failed attempt, classified.

    Attributes:
        kind: see the module table.
        message: what went wrong, as the endpoint or transport said it.
        status: the HTTP status, when there was one.
        retry_after: the server's Retry-After, in seconds.
    """

    kind: FailureKind
    message: str
    status: int | None = None
    retry_after: float | None = None
    code: str | None = None

    @property
    def retryable(self) -> bool:
        """Whether retrying the same endpoint may help."""
        return self.kind in RETRYABLE

    def describe(self) -> str:
        """A short phrase for error messages, e.g. ``HTTP 500: overloaded``."""
        if self.status is not None:
            return f"HTTP {self.status}: {self.message}"
        return self.message


def classify(exc: BaseException) -> Failure:
    """Sort an exception raised while calling an endpoint into a :class:`Failure`.

    Works for the ``openai`` package's errors and for transport errors of the HTTP
    library underneath it, which can surface while a stream is being read.
    """
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", "the request timed out")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return Failure("connection", f"connection failed ({cause or exc})")
    if isinstance(exc, openai.APIStatusError):
        return _status_failure(exc.status_code, _server_message(exc), exc, _server_code(exc))
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError, ModelBadResponse)):
        return Failure("bad_response", f"the answer is not a valid chat completion ({exc})")
    if isinstance(exc, ModelError):
        return Failure("endpoint", str(exc))
    names = {cls.__name__ for cls in type(exc).__mro__}
    module = type(exc).__module__
    if module.startswith("httpx") or "TransportError" in names:
        if "TimeoutException" in names:
            return Failure("timeout", "the request timed out")
        return Failure("connection", f"connection broke ({type(exc).__name__}: {exc})")
    if isinstance(exc, (ConnectionError, TimeoutError)):
        kind: FailureKind = "timeout" if isinstance(exc, TimeoutError) else "connection"
        return Failure(kind, str(exc) or type(exc).__name__)
    if isinstance(exc, (ValueError, KeyError, TypeError, AttributeError)):
        return Failure(
            "bad_response", f"the answer could not be read ({type(exc).__name__}: {exc})"
        )
    raise exc


_MODEL_MISSING = re.compile(
    r"model_not_found|does not exist|no such model|unknown model|invalid model|model not found"
    r"|model\b.{0,80}\bnot (?:found|available|supported)", re.IGNORECASE)
_KEY = re.compile(r"api[ _-]?key|authenticat|unauthori[sz]ed|credential", re.IGNORECASE)
_CONTEXT = re.compile(r"context[ _]length|maximum context|too many tokens|token limit"
                      r"|reduce the length|context window", re.IGNORECASE)  # fmt: skip
_FILTER = re.compile(r"content[ _]filter|content management|safety|moderation", re.IGNORECASE)


def _status_failure(status: int, message: str, exc: Any, code: str | None = None) -> Failure:
    if status == 429:
        return Failure("rate_limit", message, status, _retry_after(exc), code)
    if status >= 500 or status in (408, 409):
        return Failure("server", message, status, _retry_after(exc), code)
    text = f"{code or ''} {message}"
    if status in (400, 404) and _MODEL_MISSING.search(text):
        return Failure("model_missing", message, status, code=code)
    if status in (400, 413, 422) and not (status == 400 and _KEY.search(text)):
        return Failure("rejected", message, status, code=code)
    return Failure("endpoint", message, status, code=code)


def refuses_stream_options(failure: Failure) -> bool:
    """Whether the server refused the request because of ``stream_options``.

    Example:
        >>> refuses_stream_options(Failure("rejected", "stream_options is not supported", 400))
        True
    """
    return failure.kind == "rejected" and "stream_options" in failure.message


def hint(failure: Failure, url: str) -> str:
    """What to do about ``failure`` at the endpoint ``url``, for error messages.

    Example:
        >>> hint(Failure("model_missing", "The model `gpt-5x` does not exist", 404),
        ...      "http://localhost:4000/v1")
        'check the model name (--model, or model: in the models: section); the server lists its models at http://localhost:4000/v1/models'
    """
    text = f"{failure.code or ''} {failure.message}"
    if failure.kind == "model_missing":
        return ("check the model name (--model, or model: in the models: section); the server "
                f"lists its models at {url}/models")  # fmt: skip
    if failure.kind == "endpoint" and (failure.status in (401, 403) or _KEY.search(text)):
        return ("check the API key: export the variable the config names (api_key_env, "
                "OPENAI_API_KEY by default), or the key the server expects")  # fmt: skip
    if failure.kind == "rejected":
        if _CONTEXT.search(text):
            return "shorten the conversation, or use a model with a larger context window"
        if _FILTER.search(text):
            return "the server's content filter refused it; rephrase the request"
        return ("retrying cannot help; change the request or its options (params:, tools, "
                "response_format) as the server's message says")  # fmt: skip
    if failure.kind == "endpoint" and failure.status == 404:
        return f"check base_url ({url}): it should be the server's OpenAI-compatible /v1 URL"
    return "check base_url, the API key and the server, or add a fallback config"


def _server_code(exc: Any) -> str | None:
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else getattr(exc, "code", None)
    return str(code) if code else None


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return str(getattr(exc, "message", "") or exc)


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    try:
        if value is not None:
            return float(value) / 1000.0
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
