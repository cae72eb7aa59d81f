"""JSON errors of the HTTP API: one shape, one status per kind of problem.

Every error the API answers is ``{"error": {"status": STATUS, "code": CODE, "message":
TEXT}}`` (plus ``"question"`` for an answer to a question that is no longer waiting,
and ``"problems"`` for an invalid graph). The message says what went wrong and how to
fix it; a request that gets an error changed nothing stored.
"""

from __future__ import annotations

import re
from typing import Any

from graphflow.errors import (
    DefinitionError,
    GraphflowError,
    IncompatibleGraph,
    InvalidUpdate,
    RunInUse,
    RunNotFound,
    RunNotResumable,
    StaleAnswer,
    StoreCorrupt,
)
from graphflow.secrets import redact

__all__ = ["ApiError", "error_body", "from_graphflow_error", "hide_passwords"]


class ApiError(Exception):
    """An HTTP error with a JSON body: ``status`` (400, 401, 403, 404, 405, 409, 413,
    503 …), a short ``code`` and a ``message`` saying what and how to fix it; ``extra``
    is merged into the error object."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


# the user part ends at the address's last @ (a password may hold one)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^\s/]+@")
_PARAM_PASSWORD = re.compile(r"(?i)([?&](?:ssl)?password=)[^&#\s]*")


def hide_passwords(text: str) -> str:
    """``text`` with the password of every address ``scheme://user:password@host``
    (or ``…?password=…``) replaced by ``[redacted]``.

    Example:
        >>> hide_passwords("postgresql://app:s3cret@db/runs and runs.db")
        'postgresql://app:[redacted]@db/runs and runs.db'
    """
    return _PARAM_PASSWORD.sub(r"\1[redacted]", _URL_PASSWORD.sub(r"\1[redacted]@", text))


def error_body(error: ApiError) -> dict[str, Any]:
    """The JSON body of ``error``: ``{"error": {"status", "code", "message", …}}``, every
    string of it redacted (keys, and the password of a store address).

    Example:
        >>> error_body(ApiError(500, "x", "cannot reach postgresql://app:s3cret@db/runs"))
        {'error': {'status': 500, 'code': 'x', 'message': 'cannot reach postgresql://app:[redacted]@db/runs'}}
    """
    return {"error": {"status": error.status, "code": error.code,
                      "message": _clean(error.message), **_clean(error.extra)}}  # fmt: skip


def _clean(value: Any) -> Any:
    """``value`` with every string redacted and its store passwords hidden."""
    if isinstance(value, str):
        return hide_passwords(redact(value))
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def from_graphflow_error(exc: GraphflowError) -> ApiError:
    """The API error for a graphflow exception: unknown run 404; an answer to a question
    that is no longer waiting, a run in use or not resumable, a changed graph 409; an
    invalid graph or input 400; a damaged run 500; a broker that cannot be reached (runs
    handed to workers) 503."""
    text = str(exc)
    if isinstance(exc, RunNotFound):
        return ApiError(404, "run_not_found", text)
    if isinstance(exc, StaleAnswer):
        return ApiError(409, "stale_answer", text, question=exc.question)
    if isinstance(exc, RunInUse):
        return ApiError(409, "run_in_use", text)
    if isinstance(exc, RunNotResumable):
        return ApiError(409, "not_resumable", text)
    if isinstance(exc, IncompatibleGraph):
        return ApiError(409, "incompatible_graph", text)
    if isinstance(exc, DefinitionError):
        problems = [{"where": p.where, "what": p.what, "fix": p.fix} for p in exc.problems]
        return ApiError(400, "invalid_graph", text, problems=problems)
    if isinstance(exc, InvalidUpdate):
        return ApiError(400, "invalid_input", text)
    if isinstance(exc, StoreCorrupt):
        return ApiError(500, "store_corrupt", text)
    from graphflow.distributed.app import BrokerUnavailable, WorkersUnavailable

    if isinstance(exc, (BrokerUnavailable, WorkersUnavailable)):
        return ApiError(503, "workers_unavailable", text)
    return ApiError(400, "bad_request", text)
