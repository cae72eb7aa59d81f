"""Reply scripts: what a scripted model answers. Used by the in-process
:class:`~graphflow.models.scripted_model.ScriptedModel` (graph files' ``scripted:``
entries, the offline model) and by the loopback test server of :mod:`graphflow.testing`.

A script answers a request from, in order: a Python function of the request; the first
matching **rule** (``contains`` / ``matches`` / ``role`` / ``model`` tested against the
last message); the next entry of its **replies** list; its **default** reply. A reply is
a string, a :class:`~graphflow.messages.Message`, or a mapping with ``content`` and/or
``tool_calls`` (OpenAI's shape, or the short ``{name, arguments}``).

A rule or function may also answer with a **failure**: any object with an
``error(model)`` method (:class:`ScriptFailure`), such as the faults of
:mod:`graphflow.testing`; the scripted model then raises that error. Rules written as
data inject faults only in scripts built by :mod:`graphflow.testing` (``FaultScript``).

The position in the replies list is the larger of the replies served so far and the
number of this script's replies already present in the request's conversation, so a run
resumed in a new process continues where it stopped instead of starting over.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import yaml

from graphflow.errors import DefinitionError, ModelError, Problem
from graphflow.messages import Message

__all__ = ["Reply", "Rule", "Script", "ScriptFailure", "ScriptRequest", "reply_message"]

Reply = str | Message | Mapping[str, Any]
_REPLY_KEYS = {"content", "tool_calls", "role", "name"}


@runtime_checkable
class ScriptFailure(Protocol):
    """A failure a script answers with instead of a reply (e.g. an injected fault)."""

    def error(self, model: str) -> ModelError:
        """The error a model client would raise for this failure, for ``model``."""
        ...


@dataclass(frozen=True)
class ScriptRequest:
    """A request as a script sees it: OpenAI-shaped messages, model, tools and options.

    The message dicts may be shared with later requests of the same conversation: read
    them, never change them."""

    messages: Sequence[Mapping[str, Any]]
    model: str = "scripted"
    tools: tuple[Mapping[str, Any], ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    call: int = 0

    @property
    def last(self) -> Mapping[str, Any] | None:
        """The last message, or ``None``."""
        return self.messages[-1] if self.messages else None

    @property
    def last_text(self) -> str:
        """The last message's content ('' when there is none)."""
        return str((self.last or {}).get("content") or "")


def reply_message(reply: Reply, position: int = 0, *, where: str = "reply") -> Message:
    """Turn a script reply into an assistant :class:`Message` with OpenAI-shaped tool calls.

    Tool-call ids are ``call_<position>_<i>`` unless given, so answers are reproducible.

    Raises:
        DefinitionError: the reply has an unknown key or a malformed tool call.

    Example:
        >>> reply_message({"tool_calls": [{"name": "add", "arguments": {"a": 1}}]}, 3).tool_calls
        [{'id': 'call_3_0', 'type': 'function', 'function': {'name': 'add', 'arguments': '{"a": 1}'}}]
    """
    if isinstance(reply, Message):
        return reply.model_copy(update={"role": "assistant", "node": None})
    if isinstance(reply, str):
        return Message(role="assistant", content=reply)
    if not isinstance(reply, Mapping):
        raise DefinitionError(
            [Problem(where, f"a reply must be text or a mapping, not {type(reply).__name__}")]
        )
    unknown = set(reply) - _REPLY_KEYS
    if unknown:
        raise DefinitionError(
            [Problem(where, f"unknown reply keys {sorted(unknown)}", "use content and tool_calls")]
        )
    calls = [
        _tool_call(call, f"call_{position}_{i}", f"{where}.tool_calls[{i}]")
        for i, call in enumerate(reply.get("tool_calls") or ())
    ]
    content = reply.get("content")
    return Message(
        role="assistant",
        content=None if content is None and calls else str(content or ""),
        name=reply.get("name"),
        tool_calls=calls or None,
    )


def _tool_call(call: Any, default_id: str, where: str) -> dict[str, Any]:
    if not isinstance(call, Mapping):
        raise DefinitionError([Problem(where, "a tool call must be a mapping")])
    function = call.get("function", call)
    name = function.get("name") if isinstance(function, Mapping) else None
    if not name:
        raise DefinitionError(
            [
                Problem(
                    where,
                    "a tool call needs a function name",
                    "write {name: ..., arguments: {...}}",
                )
            ]
        )
    arguments = function.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return {
        "id": str(call.get("id") or default_id),
        "type": "function",
        "function": {"name": str(name), "arguments": arguments},
    }


@dataclass(frozen=True)
class Rule:
    """Answer ``reply`` (or fail with ``failure``) when every given test holds for a request.

    Tests: ``contains`` (substring of the last message), ``matches`` (regular expression
    searched in it), ``role`` (the last message's role), ``model`` (the requested model).
    """

    reply: Reply | None = None
    failure: ScriptFailure | None = None
    contains: str | None = None
    matches: str | None = None
    role: str | None = None
    model: str | None = None

    def applies(self, request: ScriptRequest) -> bool:
        """Whether every test of the rule holds for ``request``."""
        text = request.last_text
        if self.contains is not None and self.contains not in text:
            return False
        if self.matches is not None and not re.search(self.matches, text):
            return False
        if self.role is not None and (request.last or {}).get("role") != self.role:
            return False
        return self.model is None or self.model == request.model

    @classmethod
    def parse(cls, data: Rule | Mapping[str, Any], *, where: str = "rule") -> Rule:
        """Read a rule from a mapping, checking its keys and regular expression.

        Raises:
            DefinitionError: unknown keys, no ``reply:``, or a bad regular expression.
        """
        if isinstance(data, Rule):
            return data
        if not isinstance(data, Mapping):
            raise DefinitionError([Problem(where, "a rule must be a mapping")])
        known = {"reply", "contains", "matches", "role", "model"}
        unknown = set(data) - known
        if unknown:
            hint = f"use {sorted(known)}"
            if "fault" in unknown:
                hint = ("fault: rules inject failures for tests: build the script with "
                        "graphflow.testing.FaultScript, or serve it with the test server")  # fmt: skip
            raise DefinitionError([Problem(where, f"unknown rule keys {sorted(unknown)}", hint)])
        if "reply" not in data:
            raise DefinitionError([Problem(where, "a rule needs a reply:")])
        if data.get("matches") is not None:
            try:
                re.compile(data["matches"])
            except re.error as exc:
                raise DefinitionError(
                    [Problem(where, f"matches: bad regular expression ({exc})")]
                ) from None
        reply_message(data["reply"], where=f"{where}.reply")
        return cls(**{k: data[k] for k in known if k in data})


ScriptFunction = Callable[[ScriptRequest], Reply | ScriptFailure]


class Script:
    """What a scripted model answers (see the module docs for the order of lookups).

    Example:
        >>> script = Script(["first", "second"], rules=[{"contains": "ping", "reply": "pong"}])
        >>> script.answer([{"role": "user", "content": "ping?"}]).content
        'pong'
        >>> script.answer([{"role": "user", "content": "hi"}]).content
        'first'
    """

    def __init__(
        self,
        replies: Sequence[Reply] = (),
        *,
        rules: Sequence[Rule | Mapping[str, Any]] = (),
        default: Reply | None = None,
        function: ScriptFunction | None = None,
        where: str = "script",
    ) -> None:
        if isinstance(replies, (str, Mapping, Message)):
            replies = [replies]
        problems: list[Problem] = []
        self.replies: list[Message] = []
        for i, reply in enumerate(replies):
            try:
                self.replies.append(reply_message(reply, i, where=f"{where}.replies[{i}]"))
            except DefinitionError as exc:
                problems.extend(exc.problems)
        self.rules: list[Rule] = []
        for i, rule in enumerate(rules):
            try:
                self.rules.append(self.parse_rule(rule, where=f"{where}.rules[{i}]"))
            except DefinitionError as exc:
                problems.extend(exc.problems)
        self.default = default
        if default is not None:
            try:
                reply_message(default, where=f"{where}.default")
            except DefinitionError as exc:
                problems.extend(exc.problems)
        if problems:
            raise DefinitionError(problems)
        self.function = function
        self.calls = 0
        self._served = 0
        self._lock = threading.Lock()
        self._signatures = [_signature(m.to_openai()) for m in self.replies]

    def answer(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str = "scripted",
        tools: Sequence[Mapping[str, Any]] = (),
        params: Mapping[str, Any] | None = None,
    ) -> Message | ScriptFailure:
        """The reply (or failure) for one request; thread-safe.

        Raises:
            ModelError: no function, rule, reply or default answers the request.
        """
        with self._lock:
            call = self.calls
            self.calls += 1
        request = ScriptRequest(messages, model, tuple(tools), dict(params or {}), call)
        if self.function is not None:
            result = self.function(request)
            if isinstance(result, (str, Message, Mapping)) or not hasattr(result, "error"):
                return reply_message(cast("Reply", result), call)  # a reply, or a clear error
            return result
        for rule in self.rules:
            if rule.applies(request):
                if rule.failure is not None:
                    return rule.failure
                return reply_message(rule.reply or "", call)
        with self._lock:
            position = max(self._served, self._already_answered(messages))
            if position < len(self.replies):
                self._served = position + 1
                return self.replies[position]
        if self.default is not None:
            return reply_message(self.default, call)
        raise ModelError(
            f"the scripted model has no reply for request {call + 1}: its {len(self.replies)} "
            "replies are used up; add replies, a default: reply or rules to the script"
        )

    @classmethod
    def parse_rule(cls, data: Rule | Mapping[str, Any], *, where: str = "rule") -> Rule:
        """Read one rule of this kind of script (:meth:`Rule.parse`; subclasses add kinds
        of rules, as graphflow.testing's FaultScript adds ``fault:``)."""
        return Rule.parse(data, where=where)

    def _already_answered(self, messages: Sequence[Mapping[str, Any]]) -> int:
        if self._served >= len(self.replies):  # used up: the conversation cannot move it
            return 0
        wanted = set(self._signatures)
        return sum(1 for m in messages if _signature(m) in wanted)

    def advance_to(self, position: int) -> None:
        """Continue the reply list at ``position`` at least (replies a run already used,
        e.g. before it continued in a new process)."""
        with self._lock:
            self._served = max(self._served, position)

    def reset(self) -> None:
        """Start again from the first reply."""
        with self._lock:
            self.calls = 0
            self._served = 0

    @classmethod
    def from_data(cls, data: Any, *, base_dir: Path | None = None, where: str = "script") -> Script:
        """Build a script from graph-file data: a list of replies, a mapping with
        ``replies`` / ``rules`` / ``default`` / ``function`` (an import path) /
        ``script`` (a YAML or JSON file), or a file path.

        Raises:
            DefinitionError: naming ``where`` and what is wrong.
        """
        if isinstance(data, Script):
            return data
        if isinstance(data, (str, Path)):
            return cls.load(Path(base_dir or ".") / Path(data))
        if isinstance(data, list):
            return cls(data)
        if not isinstance(data, Mapping):
            raise DefinitionError(
                [Problem(where, "a script is a list of replies, a mapping, or a file path")]
            )
        known = {"replies", "rules", "default", "function", "script"}
        unknown = set(data) - known
        if unknown:
            raise DefinitionError(
                [Problem(where, f"unknown script keys {sorted(unknown)}", f"use {sorted(known)}")]
            )
        merged: dict[str, Any] = {}
        if "script" in data:
            merged.update(_read_file(Path(base_dir or ".") / str(data["script"]), where))
        merged.update({k: v for k, v in data.items() if k != "script"})
        function = None
        if merged.get("function"):
            function = _import_function(str(merged["function"]), base_dir, where)
        return cls(
            merged.get("replies") or (),
            rules=merged.get("rules") or (),
            default=merged.get("default"),
            function=function,
            where=where,
        )

    @classmethod
    def load(cls, path: str | Path) -> Script:
        """Read a script from a YAML or JSON file (a list of replies or a mapping)."""
        return cls.from_data(
            _read_file(Path(path), str(path)), base_dir=Path(path).parent, where=str(path)
        )


def _read_file(path: Path, where: str) -> dict[str, Any]:
    if not path.is_file():
        raise DefinitionError(
            [Problem(where, f"script file {str(path)!r} not found", "check the script: path")]
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem(str(path), f"not valid YAML/JSON: {exc}")]) from None
    if isinstance(data, list):
        return {"replies": data}
    if not isinstance(data, dict) or "script" in data:
        raise DefinitionError(
            [
                Problem(
                    str(path),
                    "a script file holds a list of replies or a mapping with replies/rules/default",
                )
            ]
        )
    return data


def _import_function(path: str, base_dir: Path | None, where: str) -> ScriptFunction:
    from graphflow.imports import resolve_import

    try:
        function = resolve_import(path, base_dir)
    except LookupError as exc:
        raise DefinitionError([Problem(f"{where}.function", str(exc))]) from None
    if not callable(function):
        raise DefinitionError([Problem(f"{where}.function", f"{path} is not callable")])
    return cast("ScriptFunction", function)


def _signature(message: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    calls = []
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        arguments = function.get("arguments", "")
        with contextlib.suppress(TypeError, ValueError):
            arguments = json.dumps(json.loads(arguments), sort_keys=True)
        calls.append((str(function.get("name", "")), str(arguments)))
    return (str(message.get("content") or "").strip(), tuple(calls))
