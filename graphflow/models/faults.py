"""Faults a scripted model can inject: HTTP errors, timeouts, broken and empty answers.

The test server (:mod:`graphflow.models.server`) turns a :class:`Fault` into real HTTP
behaviour; the in-process :class:`~graphflow.models.scripted.ScriptedModel` raises the
error the model client would raise for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from graphflow.errors import DefinitionError, Problem

__all__ = ["Fault", "FaultKind"]

FaultKind = Literal["status", "timeout", "truncate", "malformed", "empty", "latency", "disconnect"]
_KINDS = ("status", "timeout", "truncate", "malformed", "empty", "latency", "disconnect")
_ALIASES = {"empty_choices": "empty", "hang": "timeout", "bad_json": "malformed"}


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    Attributes:
        kind: ``status`` (an HTTP error), ``timeout`` (no answer for ``seconds``),
            ``truncate`` (a stream cut off mid-way), ``malformed`` (a 200 whose body is
            not JSON), ``empty`` (a completion with no choices), ``latency`` (answer
            normally after ``seconds``), ``disconnect`` (close without answering).
        status: the HTTP status of a ``status`` fault.
        message: the error message of a ``status`` fault.
        seconds: how long a ``timeout`` or ``latency`` fault waits.
        model: apply only to requests for this model (``None``: any request).

    Example:
        >>> Fault.parse("429")
        Fault(kind='status', status=429, message='rate limited', seconds=0.0, model=None)
        >>> Fault.parse("latency:0.2").seconds
        0.2
    """

    kind: FaultKind
    status: int = 500
    message: str = ""
    seconds: float = 0.0
    model: str | None = None

    @classmethod
    def http(cls, status: int, message: str = "") -> Fault:
        """An HTTP error answer, e.g. ``Fault.http(429)``."""
        return cls("status", status=status, message=message or _default_message(status))

    @classmethod
    def timeout(cls, seconds: float = 30.0) -> Fault:
        """Hold the request without answering for ``seconds`` (longer than the client waits)."""
        return cls("timeout", seconds=seconds)

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Answer normally, ``seconds`` late."""
        return cls("latency", seconds=seconds)

    def for_model(self, model: str | None) -> Fault:
        """The same fault, limited to requests for ``model``."""
        return replace(self, model=model)

    def applies_to(self, model: str | None) -> bool:
        """Whether this fault targets a request for ``model``."""
        return self.model is None or self.model == model

    @classmethod
    def parse(cls, spec: Fault | str | int | Mapping[str, Any], *, where: str = "fault") -> Fault:
        """Read a fault from text (``"429"``, ``"500:overloaded"``, ``"timeout"``,
        ``"timeout:5"``, ``"latency:0.2"``, ``"truncate"``, ``"malformed"``, ``"empty"``,
        ``"disconnect"``) or a mapping of the fields.

        Raises:
            DefinitionError: the text names no fault.
        """
        if isinstance(spec, Fault):
            return spec
        if isinstance(spec, Mapping):
            data = dict(spec)
            kind = str(data.pop("kind", "status"))
            kind = _ALIASES.get(kind, kind)
            if kind not in _KINDS:
                raise _bad(where, kind)
            if kind == "status" and "message" not in data:
                data["message"] = _default_message(int(data.get("status", 500)))
            try:
                return cls(kind, **data)  # type: ignore[arg-type]
            except TypeError as exc:
                raise DefinitionError([Problem(where, str(exc))]) from None
        text = str(spec).strip()
        head, _, rest = text.partition(":")
        head = _ALIASES.get(head.lower(), head.lower())
        if head.isdigit():
            return cls.http(int(head), rest.strip())
        if head not in _KINDS or head == "status":
            raise _bad(where, text)
        if head in ("timeout", "latency"):
            try:
                seconds = float(rest) if rest else (30.0 if head == "timeout" else 0.0)
            except ValueError:
                raise DefinitionError(
                    [Problem(where, f"{text!r}: {rest!r} is not a number of seconds")]
                ) from None
            return cls(head, seconds=seconds)  # type: ignore[arg-type]
        return cls(head)  # type: ignore[arg-type]


def _default_message(status: int) -> str:
    return {
        400: "bad request",
        401: "invalid API key",
        404: "model not found",
        429: "rate limited",
        500: "internal server error",
        502: "bad gateway",
        503: "service unavailable",
    }.get(status, f"HTTP {status}")


def _bad(where: str, text: str) -> DefinitionError:
    return DefinitionError(
        [
            Problem(
                where,
                f"unknown fault {text!r}",
                "use an HTTP status (429, 500:message), timeout[:seconds], latency:seconds, "
                "truncate, malformed, empty or disconnect",
            )
        ]
    )
