"""Reading what a request sends: its JSON body, query parameters and ids, each checked
with an error that says what is wrong and how to fix it."""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from graphflow.serve.errors import ApiError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["MAX_BODY", "json_body", "optional_text", "query_int", "run_id_field"]

#: The largest request body read, in bytes (a graph file is at most 1 MB of text).
MAX_BODY = 2_000_000
#: The deepest nesting of arrays and objects a request body may have.
MAX_DEPTH = 64
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


async def json_body(request: Request, example: str) -> dict[str, Any]:
    """The request's JSON object.

    Raises:
        ApiError: 413 over :data:`MAX_BODY`; 400 when it is not JSON or not an object
            (the message shows ``example``).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, "too_large", f"the request body has {int(declared):,} bytes; at most "
                       f"{MAX_BODY:,} are read")  # fmt: skip
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, "too_large", f"the request body is over {MAX_BODY:,} bytes")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant,
                          parse_float=_finite)  # fmt: skip
    except _NotFinite as exc:
        raise ApiError(400, "malformed_json", f"the request body holds {exc}, which is not a "
                       "finite number; JSON numbers must be finite") from None  # fmt: skip
    except RecursionError:
        data = None  # nested too deep for the parser: refused below
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the request body is not UTF-8 text; send a "
                       f"JSON object such as {example}") from None  # fmt: skip
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON ({exc.msg} "
                       f"at line {exc.lineno}, column {exc.colno}); send a JSON object such as "
                       f"{example}") from None  # fmt: skip
    if data is None or _too_deep(data):
        raise ApiError(400, "malformed_json", f"the request body is nested deeper than "
                       f"{MAX_DEPTH} levels of arrays and objects; send e.g. {example}")  # fmt: skip
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", f"the request body must be a JSON object, not "
                       f"{type(data).__name__}; send e.g. {example}")  # fmt: skip
    return data


class _NotFinite(ValueError):
    """A JSON number Python would read as NaN or infinity."""


def _no_constant(name: str) -> Any:
    raise _NotFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text[:40])
    return value


def _too_deep(data: Any) -> bool:
    """Whether ``data`` nests arrays and objects deeper than :data:`MAX_DEPTH`."""
    level: list[Any] = [data]
    for _ in range(MAX_DEPTH):
        level = [v for item in level if isinstance(item, (dict, list))
                 for v in (item.values() if isinstance(item, dict) else item)]  # fmt: skip
        if not level:
            return False
    return True


def optional_text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    """``data[key]`` as text (``None`` when absent or null, unless ``required``).

    Raises:
        ApiError: 400 when it is missing but required, or not a string.
    """
    value = data.get(key)
    if value is None:
        if required:
            raise ApiError(400, "missing_field", f'"{key}" is required (a string)')
        return None
    if not isinstance(value, str):
        raise ApiError(400, "bad_field", f'"{key}" must be a string, not {type(value).__name__}')
    return value


def run_id_field(value: Any, what: str) -> str:
    """``value`` checked as a run id (letters, digits, ``_.-``; at most 128).

    Raises:
        ApiError: 400 naming ``what``.
    """
    if not isinstance(value, str) or not _RUN_ID.match(value):
        raise ApiError(400, "bad_run_id", f"{what} {str(value)[:80]!r} is not a run id: use "
                       "letters, digits, '_', '.' and '-' (at most 128, starting with a letter "
                       "or digit)")  # fmt: skip
    return value


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as an integer in ``[low, high]``.

    Raises:
        ApiError: 400 when it is not one.
    """
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, "bad_query", f"?{name}={text[:40]!r} is not a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_query", f"?{name}={value} is out of range; use {low}…{high}")
    return value
