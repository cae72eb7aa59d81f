"""Fault injection: HTTP errors, timeouts, broken and empty answers, and scripts whose
rules inject them.

The test server (:mod:`graphflow.testing.server`) turns a :class:`Fault` into real HTTP
behaviour; the in-process :class:`~graphflow.models.scripted_model.ScriptedModel` raises
the error the model client would raise for it (:meth:`Fault.error`). A
:class:`FaultScript` is a :class:`~graphflow.models.reply_script.Script` whose rules may
say ``fault:`` instead of ``reply:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from graphflow.errors import (
    DefinitionError,
    ModelBadResponse,
    ModelError,
    ModelRequestRejected,
    ModelTimeout,
    Problem,
)
from graphflow.models.reply_script import Rule, Script

__all__ = ["Fault", "FaultKind", "FaultScript"]

FaultKind = Literal["status", "timeout", "truncate", "malformed", "empty", "latency", "disconnect",
                    "content_filter", "zero_usage"]  # fmt: skip
_KINDS = ("status", "timeout", "truncate", "malformed", "empty", "latency", "disconnect",
          "content_filter", "zero_usage")  # fmt: skip
_ALIASES = {"empty_choices": "empty", "hang": "timeout", "bad_json": "malformed"}


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    Attributes:
        kind: ``status`` (an HTTP error), ``timeout`` (no answer for ``seconds``),
            ``truncate`` (a stream cut off mid-way), ``malformed`` (a 200 whose body is
            not JSON), ``empty`` (a completion with no choices), ``latency`` (answer
            normally after ``seconds``), ``disconnect`` (close without answering),
            ``content_filter`` (a completion with ``content: null`` and
            ``finish_reason: content_filter``, as Azure OpenAI answers a filtered
            prompt), ``zero_usage`` (answer normally, but report usage of zero tokens, as
            some servers' last stream chunk does).
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

    def error(self, model: str) -> ModelError:
        """The error the model client raises for this fault (what an in-process scripted
        model raises when its script answers with it).

        Example:
            >>> type(Fault.parse("timeout").error("m")).__name__
            'ModelTimeout'
        """
        where = f"scripted model {model!r}"
        if self.kind == "timeout":
            return ModelTimeout(f"{where} timed out (an injected timeout fault)")
        if self.kind == "status" and self.status in (400, 413, 422):
            return ModelRequestRejected(
                f"{where} rejected the request (HTTP {self.status}: {self.message})"
            )
        if self.kind in ("malformed", "empty", "truncate", "content_filter"):
            return ModelBadResponse(
                f"{where} answered with a broken completion (an injected {self.kind} fault)"
            )
        detail = f"HTTP {self.status}: {self.message}" if self.kind == "status" else self.kind
        return ModelError(f"{where} failed ({detail}, an injected fault)")

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
                "truncate, malformed, empty, disconnect, content_filter or zero_usage",
            )
        ]
    )


class FaultScript(Script):
    """A :class:`~graphflow.models.reply_script.Script` whose rules may inject a fault:
    ``{contains: overload, fault: 503}`` answers a matching request with that fault.

    Example:
        >>> script = FaultScript(["hi"], rules=[{"contains": "boom", "fault": "timeout"}])
        >>> script.answer([{"role": "user", "content": "boom"}]).kind
        'timeout'
        >>> script.answer([{"role": "user", "content": "hello"}]).content
        'hi'
    """

    @classmethod
    def parse_rule(cls, data: Rule | Mapping[str, Any], *, where: str = "rule") -> Rule:
        """A rule with ``reply:`` (see :meth:`Rule.parse`) or with ``fault:``.

        Raises:
            DefinitionError: both or neither of reply: and fault:, an unknown fault, or a
                latency fault (which delays an answer but cannot be one).
        """
        if not isinstance(data, Mapping) or "fault" not in data:
            return Rule.parse(data, where=where)
        if "reply" in data:
            raise DefinitionError([Problem(where, "a rule needs exactly one of reply: or fault:")])
        fault = Fault.parse(data["fault"], where=f"{where}.fault")
        if fault.kind in ("latency", "zero_usage"):
            raise DefinitionError(
                [
                    Problem(
                        f"{where}.fault",
                        f"a {fault.kind} fault cannot answer a request by itself",
                        "give the server a latency, or queue the fault with inject()",
                    )
                ]
            )
        tests = {k: v for k, v in data.items() if k != "fault"}
        return replace(Rule.parse({**tests, "reply": ""}, where=where), reply=None, failure=fault)
