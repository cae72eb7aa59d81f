"""Prompt templates: ``{placeholders}`` filled from variables.

``{name}`` inserts a variable; ``{state.topic}`` or ``{items.0}`` looks up keys,
attributes and list positions; ``{{`` and ``}}`` are literal braces; a format spec works
as in Python (``{score:.2f}``). Mappings and lists are inserted as JSON, ``None`` as an
empty string.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.errors import DefinitionError, Problem, RunError

__all__ = ["render_template", "template_fields"]

_FORMATTER = string.Formatter()
_MISSING = object()


def template_fields(text: str, *, where: str = "template") -> list[str]:
    """The placeholders of ``text`` in order, without duplicates.

    Raises:
        DefinitionError: the template is malformed (an unmatched brace).

    Example:
        >>> template_fields("Write about {topic} for {state.audience}; {{not this}}")
        ['topic', 'state.audience']
    """
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise DefinitionError(
            [Problem(where, f"malformed template ({exc})", "write {{ and }} for literal braces")]
        ) from None
    fields: list[str] = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not name.strip():
            raise DefinitionError(
                [Problem(where, "empty placeholder {}", "name a variable, e.g. {topic}")]
            )
        if name not in fields:
            fields.append(name)
    return fields


def render_template(text: str, variables: Mapping[str, Any], *, where: str = "template") -> str:
    """Fill the ``{placeholders}`` of ``text`` from ``variables``.

    Raises:
        DefinitionError: the template is malformed.
        RunError: a placeholder names a variable (or key) that is not there; the message
            names it and lists the known names.

    Example:
        >>> render_template("Hello {user.name}, {{braces}} stay", {"user": {"name": "Ada"}})
        'Hello Ada, {braces} stay'
    """
    template_fields(text, where=where)
    out: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(text):
        out.append(literal)
        if name is None:
            continue
        value = _lookup(name, variables, where)
        if conversion == "r":
            value = repr(value)
        elif conversion == "s":
            value = str(value)
        elif conversion == "a":
            value = ascii(value)
        out.append(_format(value, spec or "", name, where))
    return "".join(out)


def _lookup(name: str, variables: Mapping[str, Any], where: str) -> Any:
    parts = name.replace("[", ".").replace("]", "").split(".")
    value: Any = variables
    for depth, part in enumerate(parts):
        found = _step(value, part)
        if found is _MISSING:
            path = ".".join(parts[:depth]) or None
            known = _known(value)
            place = f"{path} has no {part!r}" if path else f"unknown variable {part!r}"
            hint = f"known: {', '.join(known)}" if known else "no variables are set"
            raise RunError(
                f"{where}: {{{name}}}: {place} ({hint}); set it under variables: or fix the "
                "placeholder"
            )
        value = found
    return value


def _step(value: Any, part: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(part, _MISSING)
    if isinstance(value, Sequence) and not isinstance(value, str) and part.lstrip("-").isdigit():
        index = int(part)
        return value[index] if -len(value) <= index < len(value) else _MISSING
    if part.startswith("_"):
        return _MISSING
    return getattr(value, part, _MISSING)


def _known(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return sorted(str(k) for k in value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [str(i) for i in range(len(value))][:20]
    return (
        sorted(k for k in vars(value) if not k.startswith("_"))
        if hasattr(value, "__dict__")
        else []
    )


#: The largest width or precision a format spec may ask for (``{topic:>2000000000}``
#: would build a 2 GB string).
MAX_FORMAT_WIDTH = 10_000


def _format(value: Any, spec: str, name: str, where: str) -> str:
    if value is None:
        return ""
    if any(int(n) > MAX_FORMAT_WIDTH for n in re.findall(r"\d+", spec)):
        raise RunError(f"{where}: {{{name}:{spec}}}: a width or precision above "
                       f"{MAX_FORMAT_WIDTH:,}; use a smaller one")
    if isinstance(value, (Mapping, list, tuple)) and not spec:
        return json.dumps(value, ensure_ascii=False, default=str)
    try:
        return format(value, spec)
    except (ValueError, TypeError) as exc:
        raise RunError(f"{where}: {{{name}:{spec}}}: cannot format {value!r} ({exc})") from None
