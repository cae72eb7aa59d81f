"""The condition language: safe, declarative expressions on edges.

An expression is parsed with :mod:`ast` and compiled into a tree of closures over a
whitelist of constructs; nothing is ever passed to ``eval``. It can use:

- names: ``last`` (the last message: ``role``, ``name``, ``content``, ``tool_calls``,
  ``tool_call_id``, ``node``), ``state`` (run variables: ``state.topic`` or
  ``state["topic"]``; a missing variable is ``None``), ``visits`` (per-node run counts:
  ``visits.writer``; a node not yet run is ``0``), ``step`` (the step number),
  ``messages`` (the conversation; use it with ``len``), ``true``/``false``/``null`` and
  Python's ``True``/``False``/``None``;
- comparisons ``== != < <= > >= in not in is is not``, ``and or not``, arithmetic
  ``+ - * / // %``, ``x if cond else y``, list/tuple literals, subscripts;
- functions: ``contains(text, part)``, ``startswith``, ``endswith``, ``matches(text, regex)``
  (search), ``len``, ``lower``, ``upper``, ``strip``, ``int``, ``float``, ``str``, ``bool``,
  ``min``, ``max``, ``abs``, ``any``, ``all``.

Every condition runs in bounded time: ``matches`` uses RE2 (google-re2), whose matching
time is linear in the text — a pattern such as ``(a+)+$`` cannot make it backtrack for
ever, as Python's ``re`` would on a model's reply. RE2 has no backreferences and no
lookaround (``(?=…)``); a pattern using them is refused when the graph compiles. Repeating
text or a list (``"ab" * n``) is capped at :data:`MAX_REPEAT` items.

Example:
    >>> from graphflow.messages import Message, State
    >>> cond = compile_condition('not contains(last.content, "APPROVED") and visits.writer < 3')
    >>> cond(State(messages=[Message(content="try again")], visits={"writer": 1}))
    True
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

from graphflow.errors import ConditionSyntaxError, Problem
from graphflow.messages import Message, State

__all__ = ["FUNCTIONS", "MAX_REPEAT", "NAMES", "Condition", "compile_condition",
           "compile_expression", "compile_option", "regex"]

Condition = Callable[[State], Any]
_Fn = Callable[[State], Any]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Message):
        return value.text
    return value if isinstance(value, str) else str(value)


#: The most items (characters of text, items of a list) ``*`` may make in a condition.
MAX_REPEAT = 1_000_000


@functools.lru_cache(maxsize=256)
def regex(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (linear-time matching): an object with ``search``.

    Raises:
        ValueError: the pattern is not valid RE2 syntax (say which part), or google-re2
            is not installed (with the install hint).
    """
    try:
        import re2
    except ImportError:  # pragma: no cover - a dependency of graphflow
        raise ValueError("matches() needs the google-re2 package; pip install google-re2") from None
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(_text(pattern), options=options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"bad regular expression {pattern!r}: {detail} (RE2 syntax: no "
                         "backreferences or lookaround)") from None


def _repeat(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_REPEAT:
            raise ValueError(f"'*' would make {len(seq) * n:,} items (at most "
                                 f"{MAX_REPEAT:,} in a condition)")
    return operator.mul(a, b)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda text, part: _text(part) in _text(text),
    "startswith": lambda text, prefix: _text(text).startswith(_text(prefix)),
    "endswith": lambda text, suffix: _text(text).rstrip().endswith(_text(suffix)),
    "matches": lambda text, pattern: regex(pattern).search(_text(text)) is not None,
    "len": lambda value: 0 if value is None else len(value),
    "lower": lambda text: _text(text).lower(),
    "upper": lambda text: _text(text).upper(),
    "strip": lambda text: _text(text).strip(),
    "int": int,
    "float": float,
    "str": _text,
    "bool": bool,
    "min": min,
    "max": max,
    "abs": abs,
    "any": any,
    "all": all,
}

_MESSAGE_FIELDS = {"role", "name", "content", "tool_calls", "tool_call_id", "node", "text"}

NAMES = ("last", "state", "visits", "step", "messages")
_CONSTANTS = {"true": True, "false": False, "null": None, "none": None}

_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b if b is not None else False,
    ast.NotIn: lambda a, b: a not in b if b is not None else True,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _repeat,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


class _Namespace:
    """Marks ``state`` and ``visits``: attribute access reads a key."""

    __slots__ = ("default", "mapping")

    def __init__(self, mapping: dict[str, Any], default: Any) -> None:
        self.mapping = mapping
        self.default = default


def _root(name: str) -> _Fn:
    if name == "last":
        return lambda s: s.last
    if name == "state":
        return lambda s: _Namespace(s.variables, None)
    if name == "visits":
        return lambda s: _Namespace(s.visits, 0)
    if name == "step":
        return lambda s: s.step
    return lambda s: s.messages


def _get(value: Any, key: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, _Namespace):
        return value.mapping.get(key, value.default)
    if isinstance(value, Message):
        if key not in _MESSAGE_FIELDS:
            raise KeyError(f"a message has no field {key!r}")
        return getattr(value, key)
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, Sequence):  # list, tuple, str, a run's Conversation
        try:
            return value[key]
        except IndexError:
            return None
    raise TypeError(f"cannot look up {key!r} in a {type(value).__name__}")


def _unwrap(value: Any) -> Any:
    return value.mapping if isinstance(value, _Namespace) else value


class _Compiler:
    def __init__(self, expression: str) -> None:
        self.expression = expression

    def fail(self, node: ast.AST, message: str) -> ConditionSyntaxError:
        column = getattr(node, "col_offset", None)
        return ConditionSyntaxError(
            self.expression, message, column + 1 if column is not None else None
        )

    def compile(self, node: ast.AST) -> _Fn:
        if isinstance(node, ast.Expression):
            return self.compile(node.body)
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (str, int, float, bool, type(None))):
                raise self.fail(node, f"constant {node.value!r} is not allowed")
            value = node.value
            return lambda s: value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda s: all(p(s) for p in parts)
            return lambda s: any(p(s) for p in parts)
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda s: not operand(s)
            if isinstance(node.op, ast.USub):
                return lambda s: -operand(s)
            if isinstance(node.op, ast.UAdd):
                return lambda s: +operand(s)
            raise self.fail(node, "operator '~' is not allowed")
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
            left, right = self.compile(node.left), self.compile(node.right)
            return lambda s: op(_unwrap(left(s)), _unwrap(right(s)))
        if isinstance(node, ast.IfExp):
            test, body, other = (self.compile(n) for n in (node.test, node.body, node.orelse))
            return lambda s: body(s) if test(s) else other(s)
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise self.fail(node, f"attribute {node.attr!r} is not allowed")
            base, attr = self.compile(node.value), node.attr
            if isinstance(node.value, ast.Name) and node.value.id == "state":
                return lambda s: s.variables.get(attr)  # _get of _root("state"), in one call
            if isinstance(node.value, ast.Name) and node.value.id == "visits":
                return lambda s: s.visits.get(attr, 0)
            return lambda s: _get(base(s), attr)
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                raise self.fail(node, "slices are not allowed; use an index")
            base, index = self.compile(node.value), self.compile(node.slice)
            return lambda s: _get(base(s), index(s))
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.compile(e) for e in node.elts]
            return lambda s: [i(s) for i in items]
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"{type(node).__name__} expressions are not allowed here")

    def name(self, node: ast.Name) -> _Fn:
        if node.id in NAMES:
            return _root(node.id)
        lowered = node.id.lower()
        if node.id in ("True", "False", "None") or lowered in _CONSTANTS:
            value = _CONSTANTS.get(lowered, {"True": True, "False": False}.get(node.id))
            return lambda s: value
        if node.id in FUNCTIONS:
            raise self.fail(node, f"{node.id!r} is a function; call it, e.g. {node.id}(...)")
        known = ", ".join(NAMES)
        raise self.fail(
            node, f"unknown name {node.id!r}; use one of {known} (variables are state.NAME)"
        )

    def compare(self, node: ast.Compare) -> _Fn:
        left = self.compile(node.left)
        ops = []
        for op, comparator in zip(node.ops, node.comparators, strict=False):
            fn = _COMPARE.get(type(op))
            if fn is None:  # pragma: no cover - every ast comparison is mapped
                raise self.fail(node, f"comparison {type(op).__name__} is not allowed")
            ops.append((fn, self.compile(comparator)))

        if len(ops) == 1:  # the usual `a < b`: one comparison, no loop
            (only, right), = ops
            if isinstance(node.comparators[0], ast.Constant):  # `state.i < 10`: b as is
                constant = node.comparators[0].value

                def compare_to_constant(s: State) -> bool:
                    return bool(only(_unwrap(left(s)), constant))

                return compare_to_constant

            def compare_once(s: State) -> bool:
                return bool(only(_unwrap(left(s)), _unwrap(right(s))))

            return compare_once

        def evaluate(s: State) -> bool:
            current = _unwrap(left(s))
            for fn, right in ops:
                other = _unwrap(right(s))
                if not fn(current, other):
                    return False
                current = other
            return True

        return evaluate

    def call(self, node: ast.Call) -> _Fn:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            known = ", ".join(sorted(FUNCTIONS))
            raise self.fail(node, f"unknown function {name!r}; available: {known}")
        if node.keywords:
            raise self.fail(node, "keyword arguments are not allowed in conditions")
        fn = FUNCTIONS[node.func.id]
        args = [self.compile(a) for a in node.args]
        if node.func.id == "matches" and len(node.args) == 2:
            pattern = node.args[1]
            if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str):
                try:
                    regex(pattern.value)
                except ValueError as exc:
                    raise self.fail(pattern, str(exc)) from None
        return lambda s: fn(*(_unwrap(a(s)) for a in args))


def compile_expression(expression: str) -> Callable[[State], Any]:
    """Compile an expression of the condition language into a function of the state.

    Raises:
        ConditionSyntaxError: the text does not parse, or uses something not allowed;
            the error carries the column.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ConditionSyntaxError(str(expression), "empty condition", None)
    source = expression.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ConditionSyntaxError(source, f"syntax error: {exc.msg}", exc.offset) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ConditionSyntaxError(source, f"cannot parse: {exc}", None) from None
    try:
        return _Compiler(source).compile(tree)
    except RecursionError:
        raise ConditionSyntaxError(source, "expression is nested too deeply", None) from None


def compile_condition(expression: str) -> Condition:
    """Compile a condition; the result is truthy when the edge should be taken."""
    return compile_expression(expression)


def compile_option(expression: str | None, where: str, problems: list[Problem]) -> Condition | None:
    """Compile a condition given as a node option (``None`` when unset); a bad one is
    added to ``problems`` under ``where`` instead of raised, so all are reported at once."""
    if not expression:
        return None
    try:
        return compile_expression(expression)
    except ConditionSyntaxError as exc:
        problems.append(Problem(where, str(exc)))
        return None
