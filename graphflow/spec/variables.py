"""Variable declarations: a variable's type, merge rule and default, as graph files and
the builder give them.

In a file, ``variables:`` maps a name to its default value, or to a *declaration*: a
mapping with ``type:``, ``merge:`` or ``default:`` (and ``description:``)::

    variables:
      topic: graphs                               # a value (merge rule: replace)
      findings: {merge: append, default: []}      # parallel branches each add one
      report: {type: "mypkg.models:Report"}       # restored as a Report after a resume
      settings: {default: {type: pdf}}            # a mapping value that has a `type` key

The rules themselves (what ``append`` does, who may write at once) live with the
compiled graph, in :mod:`graphflow.graph.state`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from graphflow.errors import Problem
from graphflow.spec.base import (
    _Model,
    _pydantic_problems,
    import_path_of,
    not_serializable,
    serializable,
)

__all__ = ["DECLARATION_KEYS", "MERGE_RULES", "VariableSpec", "is_declaration", "type_text",
           "variables_from_file"]  # fmt: skip

#: The merge rules a variable may declare (besides an import path ``module:function``).
MERGE_RULES = ("replace", "append", "extend", "merge", "add", "min", "max", "union")
#: The keys of a variable declaration; a mapping under ``variables:`` with one of the
#: first three is a declaration, not a value.
DECLARATION_KEYS = ("type", "merge", "default", "description")
_NO_DEFAULT = object()


class VariableSpec(_Model):
    """A declared variable (its default, if any, stays in ``GraphSpec.variables``).

    Attributes:
        type: a type expression (``"list[str]"``, ``"datetime"``,
            ``"mypkg.models:Report"``, ``"dict[str, int] | None"``) or, from the builder,
            a Python type. Values are validated (and converted, as pydantic does) against
            it when a node writes them, and restored as it when a run is loaded.
        merge: how a write combines with the current value: one of
            :data:`MERGE_RULES`, an import path ``module:function`` or, from the builder,
            a callable ``(current, written) -> new`` (LangGraph's reducers).
        description: free text.
    """

    type: Any = None
    merge: Any = "replace"
    description: str | None = None

    def to_file(self, default: Any = _NO_DEFAULT) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.type is not None:
            out["type"] = type_text(self.type)
        if self.merge != "replace":
            out["merge"] = self.merge if isinstance(self.merge, str) else serializable(self.merge)
        if default is not _NO_DEFAULT:
            out["default"] = default
        if self.description is not None:
            out["description"] = self.description
        if not any(k in out for k in DECLARATION_KEYS[:3]):
            out = {"merge": "replace", **out}
        return out


def is_declaration(value: Any) -> bool:
    """Whether a value under ``variables:`` is a declaration (a mapping with ``type:``,
    ``merge:`` or ``default:``) rather than a variable's default value."""
    return isinstance(value, dict) and any(k in value for k in DECLARATION_KEYS[:3])


def type_text(tp: Any) -> str:
    """A type as a graph file writes it: text stays; ``int`` → ``"int"``,
    ``list[Report]`` → ``"list[mypkg.models:Report]"``; a type a file cannot name
    becomes a not-serializable marker."""
    import datetime
    import decimal
    import pathlib
    import types
    import typing
    import uuid

    if isinstance(tp, str):
        return tp
    if tp is None or tp is type(None):
        return "None"
    if tp is typing.Any:
        return "Any"
    std = {datetime.datetime: "datetime", datetime.date: "date", datetime.time: "time",
           datetime.timedelta: "timedelta", decimal.Decimal: "Decimal", uuid.UUID: "UUID",
           pathlib.Path: "Path"}  # fmt: skip
    if tp in std:
        return std[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is not None and args:
        return f"{type_text(origin)}[{', '.join(type_text(a) for a in args)}]"
    if getattr(tp, "__module__", None) == "builtins" and isinstance(tp, type):
        return tp.__name__
    path = import_path_of(tp)
    return path if path is not None else not_serializable(tp)


def variables_from_file(raw: Any, where: str,
                         problems: list[Problem]) -> tuple[dict[str, Any], dict[str, VariableSpec]]:  # fmt: skip
    """Split ``variables:`` into defaults and declarations."""
    if raw is None:
        return {}, {}
    if not isinstance(raw, dict):
        problems.append(Problem(where, "`variables:` must be a mapping of name → default value "
                                "or declaration"))  # fmt: skip
        return {}, {}
    values: dict[str, Any] = {}
    declared: dict[str, VariableSpec] = {}
    for name, value in raw.items():
        place = f"{where}: variables.{name}"
        if not isinstance(name, str):
            problems.append(Problem(place, f"a variable name must be text, not {name!r}",
                                    "quote it"))  # fmt: skip
            continue
        if not is_declaration(value):
            values[name] = value
            continue
        unknown = [k for k in value if k not in DECLARATION_KEYS]
        if unknown:
            problems.append(Problem(
                place, f"unknown key {unknown[0]!r} in a variable declaration (keys: "
                f"{', '.join(DECLARATION_KEYS)})",
                "to give a mapping as the variable's value, write it as {default: {...}}"))
            continue
        if "default" in value:
            values[name] = value["default"]
        if set(value) - {"default"}:
            try:
                declared[name] = VariableSpec.model_validate(
                    {k: v for k, v in value.items() if k != "default"})
            except ValidationError as exc:
                problems.extend(_pydantic_problems(exc, place))
    return values, declared
