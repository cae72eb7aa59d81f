"""The run's declared state: each variable's type and merge rule, as the scheduler applies
them (LangGraph's reducers, declared in graph files and the builder).

A step's updates are applied in frontier order, variable by variable, by the variable's
merge rule:

=========  ==================================================  ==================
rule       the new value                                       parallel writers
=========  ==================================================  ==================
replace    the written value (the default rule)                an error
append     the current list plus the written value (one item)  all kept, in order
extend     the current list plus the written items             all kept, in order
merge      the current dict updated with the written dict      an error on a key
                                                               both wrote
add        current + written (written when there is none)      all added
min, max   the smaller / larger of current and written         all compared
union      the current set with the written items added        all kept
a function ``fn(current, written) -> new`` (``current``: None  applied in order
           when unset), given as ``module:function``
=========  ==================================================  ==================

Two nodes of one step writing the same ``replace`` variable is
:class:`~graphflow.errors.InvalidUpdate` naming both nodes and the variable — never a
silent last-writer-wins. A variable with a ``type`` has what nodes write validated (and
converted, as pydantic does) against it — the item type for ``append`` — and is restored
as that type when a run is loaded from the store; a value that could not come back
exactly is refused when the node returns it (see :mod:`graphflow.store.values`).
"""

from __future__ import annotations

import ast
import datetime
import decimal
import difflib
import pathlib
import re
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from graphflow.errors import InvalidUpdate, Problem
from graphflow.imports import resolve_import
from graphflow.messages import Update
from graphflow.spec.base import is_not_serializable_marker
from graphflow.spec.variables import MERGE_RULES, VariableSpec
from graphflow.store import values
from graphflow.store.values import Extend, Merge, NotStorable, Union

__all__ = ["StateSchema", "Variable", "compile_state", "parse_type"]

_TYPE_NAMES: dict[str, Any] = {
    "str": str, "int": int, "float": float, "bool": bool, "bytes": bytes,
    "bytearray": bytearray, "list": list, "dict": dict, "set": set, "frozenset": frozenset,
    "tuple": tuple, "Any": Any, "any": Any, "object": Any, "None": None,
    "datetime": datetime.datetime, "date": datetime.date, "time": datetime.time,
    "timedelta": datetime.timedelta, "Decimal": decimal.Decimal, "UUID": uuid.UUID,
    "Path": pathlib.Path,
}  # fmt: skip
_IMPORT_PATH = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_MISSING = object()


def parse_type(text: str, base_dir: Path | None = None) -> Any:
    """The Python type a type expression names.

    Names: ``str int float bool bytes list dict set frozenset tuple Any None datetime
    date time timedelta Decimal UUID Path``, subscripts (``dict[str, list[int]]``,
    ``tuple[int, ...]``), unions (``int | None``) and import paths
    (``mypkg.models:Report``, imported as ``call:`` paths are, safe mode included).

    Raises:
        ValueError: the text is not such an expression, with what to write instead.

    Example:
        >>> parse_type("dict[str, list[int]] | None")
        typing.Optional[dict[str, list[int]]]
    """
    imports: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        name = f"__import_{len(imports)}"
        imports[name] = match.group(0)
        return name

    source = _IMPORT_PATH.sub(placeholder, text.strip())
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise ValueError(f"type {text!r} does not parse; write e.g. list[str], int | None or "
                         "mypkg.models:Report") from None  # fmt: skip

    def build(node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            if node.id in imports:
                found = resolve_import(imports[node.id], base_dir)
                if type(found).__name__ == "NotImported":  # validate imports nothing
                    return Any
                if not isinstance(found, type) and typing.get_origin(found) is None:
                    raise ValueError(f"{imports[node.id]!r} is not a type")
                return found
            if node.id in _TYPE_NAMES:
                return _TYPE_NAMES[node.id]
            close = difflib.get_close_matches(node.id, list(_TYPE_NAMES), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "name your own type module:Class"
            raise ValueError(f"unknown type {node.id!r}; {hint}")
        if isinstance(node, ast.Constant) and node.value in (None, Ellipsis):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return typing.Union[build(node.left), build(node.right)]  # noqa: UP007
        if isinstance(node, ast.Subscript):
            origin = build(node.value)
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            try:
                return origin[tuple(build(i) for i in items)]
            except TypeError as exc:
                raise ValueError(f"type {text!r}: {exc}") from None
        raise ValueError(f"type {text!r}: {ast.unparse(node)!r} is not a type")

    return build(tree)


def _item_type(tp: Any) -> Any:
    args = typing.get_args(tp)
    return args[0] if typing.get_origin(tp) is list and args else Any


@dataclass(frozen=True)
class Variable:
    """A declared variable as the scheduler applies it.

    Attributes:
        name: the variable's name.
        merge: the rule's name (``replace``, ``append`` …, or ``custom``).
        reducer: for a custom rule, ``fn(current, written) -> new``.
        type: the declared type (``None``: any storable value).
    """

    name: str
    merge: str = "replace"
    reducer: Callable[[Any, Any], Any] | None = None
    type: Any = None

    @property
    def adapter(self) -> TypeAdapter[Any] | None:
        return None if self.type is None else _adapter(self.type)

    @property
    def write_adapter(self) -> TypeAdapter[Any] | None:
        """Validates what one node writes (an item, for ``append``)."""
        if self.type is None or self.merge == "custom":
            return None
        return _adapter(_item_type(self.type) if self.merge == "append" else self.type)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    try:
        found = _ADAPTERS.get(tp)
    except TypeError:  # an unhashable type expression
        return TypeAdapter(tp)
    if found is None:
        found = _ADAPTERS[tp] = TypeAdapter(tp)
    return found


def _short(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"])
    return f"{first['msg']}{' at ' + loc if loc else ''}" + (
        f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")


#: values an undeclared variable stores exactly as they are
_SCALARS = frozenset({str, int, float, bool, type(None)})


class StateSchema:
    """The compiled declarations of a graph's variables (undeclared ones: ``replace``, any
    storable value)."""

    def __init__(self, declared: Mapping[str, Variable] | None = None) -> None:
        self.declared: dict[str, Variable] = dict(declared or {})
        self.typed = {n: v for n, v in self.declared.items() if v.type is not None}

    # ---- what a node writes -----------------------------------------------------

    def prepare(self, node: str, update: Update, step: int | None = None) -> Update:
        """Check and convert the variables of a node's update as it returns: values of
        declared types are validated (and converted), every value must come back exactly
        from storage.

        Raises:
            InvalidUpdate: naming the node, the variable, the type and the fix.
        """
        if not update.variables:
            return update
        converted: dict[str, Any] | None = None
        declared = self.declared
        for name, value in update.variables.items():
            if type(value) in _SCALARS and name not in declared:
                continue  # an undeclared JSON scalar is stored as it is
            new = self.prepare_value(name, value, node=node, step=step)
            if new is not value:
                converted = converted if converted is not None else dict(update.variables)
                converted[name] = new
        if converted is None:
            return update
        return Update(messages=update.messages, variables=converted, goto=update.goto,
                      usage=update.usage, stop=update.stop, reason=update.reason)  # fmt: skip

    def prepare_value(self, name: str, value: Any, *, node: str | None = None,
                      step: int | None = None, whole: bool = False) -> Any:  # fmt: skip
        """One written value (``whole``: a variable's entire value, as a default or a run
        input is), checked and converted; see :meth:`prepare`."""
        who = f"node {node!r} wrote" if node else "the run was given"
        var = self.declared.get(name)
        adapter = (var.adapter if whole else var.write_adapter) if var is not None else None
        try:
            if adapter is None:
                values.check(value)
                return value
            try:
                value = adapter.validate_python(value)
            except ValidationError as exc:
                raise InvalidUpdate(
                    f"{who} variable {name!r} a {type(value).__name__} that does not fit its "
                    f"declared type {_type_name(var)}: {_short(exc)}; return a value of that "
                    "type, or change the declaration", run_id=None, step=step, node=node) from None
            again = adapter.validate_python(values.decode(values.encode(value)))
            if again != value:
                raise NotStorable("", type(value).__name__,
                                  "it does not come back equal from storage; declare a type that "
                                  "describes all of it (no Any around models, enums or "
                                  "dataclasses)")  # fmt: skip
            return value
        except NotStorable as exc:
            text = str(exc).replace("VARIABLE", name)
            raise InvalidUpdate(f"{who} variable {name!r} {text}", step=step,
                                node=node) from None  # fmt: skip

    # ---- a step ---------------------------------------------------------------------

    def apply(self, variables: Mapping[str, Any], writes: Sequence[tuple[str, Mapping[str, Any]]],
              step: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
        """Apply a step's writes (``(node, variables)`` in frontier order) by the merge
        rules, to the state ``variables`` (not changed).

        Returns:
            ``(new, delta)``: the new values of the variables written, and what the store
            keeps for the step (the new value, or a merge operation for a grown list, dict
            or set).

        Raises:
            InvalidUpdate: two nodes wrote one ``replace`` variable (or one key of a
                ``merge`` variable), or a value does not fit its merge rule.
        """
        new: dict[str, Any] = {}
        delta: dict[str, Any] = {}
        writers: dict[str, str] = {}
        keys: dict[str, dict[Any, str]] = {}  # for merge rule merge: who wrote each key
        declared = self.declared
        for node, written in writes:
            for name, value in written.items():
                var = declared.get(name)
                if var is None or var.merge == "replace":
                    if name in writers:
                        raise _conflict(name, "replace", writers[name], node, step)
                    new[name] = delta[name] = value
                    writers[name] = node
                    continue
                current = new.get(name, variables.get(name, _MISSING))
                try:
                    result, op = _merge(var, current, value, name in new)
                except InvalidUpdate as exc:
                    raise InvalidUpdate(f"node {node!r}: {exc}", step=step, node=node) from None
                if var.merge == "merge":
                    owners = keys.setdefault(name, {})
                    for key in value:
                        if owners.setdefault(key, node) != node:
                            raise _conflict(name, "merge", owners[key], node, step, key=str(key))
                if var.merge == "custom" and var.type is not None:
                    result = self.prepare_value(name, result, node=node, step=step, whole=True)
                new[name] = result
                delta[name] = _combine(delta.get(name), op, result, name in variables)
                writers.setdefault(name, node)
        return new, delta

    # ---- loading ----------------------------------------------------------------

    def restore(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Variables read from the store, with declared types restored (in place)."""
        for name, var in self.typed.items():
            if name in variables and variables[name] is not None:
                variables[name] = var.adapter.validate_python(variables[name])  # type: ignore[union-attr]
        return variables

    def restore_update(self, update: Update) -> Update:
        """A branch's update read back from the store, with declared types restored."""
        if not self.typed or not any(n in self.typed for n in update.variables):
            return update
        restored = dict(update.variables)
        for name in restored:
            adapter = self.typed[name].write_adapter if name in self.typed else None
            if adapter is not None and restored[name] is not None:
                restored[name] = adapter.validate_python(restored[name])
        return Update(messages=update.messages, variables=restored, goto=update.goto,
                      usage=update.usage, stop=update.stop, reason=update.reason)  # fmt: skip


def _type_name(var: Variable | None) -> str:
    from graphflow.spec.variables import type_text

    return type_text(var.type) if var is not None else "?"


def _conflict(name: str, rule: str, first: str, second: str, step: int | None,
              key: str | None = None) -> InvalidUpdate:  # fmt: skip
    what = f"key {key!r} of variable {name!r}" if key else f"variable {name!r}"
    fix = ("write different keys, or declare another merge rule" if key else
           f"declare a merge rule that combines writes (e.g. `{name}: {{merge: append}}`), or "
           "let only one branch write it")  # fmt: skip
    return InvalidUpdate(
        f"{what} (merge rule {rule}) was written by both {first!r} and {second!r} in "
        f"step {step}; a {rule} variable takes one writer per step: {fix}",
        step=step, node=second)  # fmt: skip


def _merge(var: Variable, current: Any, value: Any, again: bool) -> tuple[Any, Any]:
    """``(new value, what the step added)`` for one write by ``var``'s rule."""
    rule = var.merge
    unset = current is _MISSING or current is None
    if rule == "custom":
        assert var.reducer is not None
        try:
            return var.reducer(None if unset else current, value), None
        except Exception as exc:
            raise InvalidUpdate(f"the merge function of variable {var.name!r} raised "
                                f"{type(exc).__name__}: {exc}") from None  # fmt: skip
    if rule in ("append", "extend"):
        if rule == "extend" and not isinstance(value, (list, tuple)):
            raise InvalidUpdate(f"variable {var.name!r} (merge rule extend) takes a list of "
                                f"items, got a {type(value).__name__}")  # fmt: skip
        if not unset and not isinstance(current, list):
            raise InvalidUpdate(f"variable {var.name!r} (merge rule {rule}) holds a "
                                f"{type(current).__name__}, not a list")  # fmt: skip
        items = [value] if rule == "append" else list(value)
        return [*(() if unset else current), *items], Extend(items)
    if rule == "merge":
        if not isinstance(value, dict) or not (unset or isinstance(current, dict)):
            raise InvalidUpdate(f"variable {var.name!r} (merge rule merge) merges dicts, got "
                                f"{type(value).__name__} into {type(current).__name__}")  # fmt: skip
        return {**({} if unset else current), **value}, Merge(dict(value))
    if rule == "union":
        if not isinstance(value, (set, frozenset, list, tuple)):
            raise InvalidUpdate(f"variable {var.name!r} (merge rule union) takes a set or list "
                                f"of items, got a {type(value).__name__}")  # fmt: skip
        if not unset and not isinstance(current, (set, frozenset)):
            raise InvalidUpdate(f"variable {var.name!r} (merge rule union) holds a "
                                f"{type(current).__name__}, not a set")  # fmt: skip
        return set(() if unset else current) | set(value), Union(set(value))
    try:
        if unset:
            return value, None
        if rule == "add":
            return current + value, None
        return (min if rule == "min" else max)(current, value), None
    except TypeError as exc:
        raise InvalidUpdate(f"variable {var.name!r} (merge rule {rule}): {exc}") from None


def _combine(before: Any, op: Any, result: Any, existed: bool) -> Any:
    """The delta entry after one more write: grow the step's merge operation while the
    variable existed before the step, else store the whole new value."""
    if op is None or not existed:
        return result
    if before is None:
        return op
    if type(before) is Extend and type(op) is Extend:
        return Extend([*before.items, *op.items])
    if type(before) is Merge and type(op) is Merge:
        return Merge({**before.values, **op.values})
    if type(before) is Union and type(op) is Union:
        return Union(before.items | op.items)
    return result


def compile_state(declarations: Mapping[str, VariableSpec], defaults: Mapping[str, Any],
                  base_dir: Path | None, problems: list[Problem], where: str) -> StateSchema:  # fmt: skip
    """Compile a spec's variable declarations; bad types, rules and defaults are added to
    ``problems`` (all of them, each with its place and a fix)."""
    declared: dict[str, Variable] = {}
    for name, spec in declarations.items():
        place = f"{where}: variables.{name}"
        tp = spec.type
        if isinstance(tp, str):
            if is_not_serializable_marker(tp):
                problems.append(Problem(place, f"its type was a Python object ({tp})",
                                        "name it as module:Class"))  # fmt: skip
                continue
            try:
                tp = parse_type(tp, base_dir)
            except (ValueError, LookupError) as exc:
                problems.append(Problem(place, f"type: {exc}"))
                continue
        if tp is not None:
            try:
                _adapter(tp)
            except Exception as exc:
                problems.append(Problem(place, f"type {spec.type!r} cannot be validated: "
                                        f"{str(exc).splitlines()[0]}",
                                        "use a standard type, a pydantic model or a dataclass"))
                continue
        merge, reducer = spec.merge, None
        reducer_fn: Callable[[Any, Any], Any] | None = None
        if callable(merge):
            merge, reducer = "custom", merge
        elif isinstance(merge, str) and ":" in merge and not is_not_serializable_marker(merge):
            try:
                reducer = resolve_import(merge, base_dir)
            except LookupError as exc:
                problems.append(Problem(f"{place}: merge", str(exc)))
                continue
            merge = "custom"
        elif merge not in MERGE_RULES:
            close = difflib.get_close_matches(str(merge), MERGE_RULES, n=1)
            problems.append(Problem(f"{place}: merge", f"unknown merge rule {merge!r}",
                                    f"did you mean {close[0]!r}?" if close else
                                    f"use one of {', '.join(MERGE_RULES)} or module:function"))
            continue
        if merge == "custom":
            if not callable(reducer):
                problems.append(Problem(f"{place}: merge", f"{spec.merge!r} is not callable"))
                continue
            reducer_fn = reducer
        declared[name] = Variable(name, merge, reducer_fn, tp)
    schema = StateSchema(declared)
    for name, value in defaults.items():
        try:
            schema.prepare_value(name, value, whole=True)
        except InvalidUpdate as exc:
            problems.append(Problem(f"{where}: variables.{name}", f"its default: {exc}"))
    return schema
