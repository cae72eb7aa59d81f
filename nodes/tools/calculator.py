"""A safe calculator for models: arithmetic parsed with ``ast``, never ``eval``.

Graphs offer it as ``nodes.tools.calculator:calculate`` (or just ``calculate``).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Annotated, Any

__all__ = ["calculate"]

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}  # fmt: skip
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos,
                                                         ast.USub: operator.neg}  # fmt: skip
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "round": round, "min": min, "max": max, "sqrt": math.sqrt,
    "exp": math.exp, "log": math.log, "log10": math.log10, "log2": math.log2,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin,
    "acos": math.acos, "atan": math.atan, "floor": math.floor, "ceil": math.ceil,
    "factorial": math.factorial, "gcd": math.gcd, "hypot": math.hypot,
}  # fmt: skip
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_MAX_EXPONENT = 10_000
_MAX_DIGITS = 4_000
_MAX_LENGTH = 2_000


def _check_size(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > _MAX_DIGITS * 3.33:
        raise ValueError(f"the result has more than {_MAX_DIGITS} digits")
    return value


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ValueError(f"exponent {right} is too large (at most {_MAX_EXPONENT})")
        return _check_size(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fn = _FUNCTIONS.get(node.func.id)
        if fn is not None:
            if node.func.id == "factorial" and _eval(node.args[0]) > 1000:
                raise ValueError("factorial is limited to n <= 1000")
            return _check_size(fn(*(_eval(arg) for arg in node.args)))
    where = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
    raise ValueError(
        f"{where!r} is not allowed; use numbers, + - * / // % **, parentheses, "
        f"{', '.join(sorted(_CONSTANTS))} and {', '.join(sorted(_FUNCTIONS))}"
    )


def calculate(expression: Annotated[str, "an arithmetic expression, e.g. (2 + 3) * sqrt(16)"],
              ) -> int | float:  # fmt: skip
    """Evaluate an arithmetic expression exactly as written and return the number.

    Supports + - * / // % ** and parentheses, the constants pi, e and tau, and the
    functions abs, round, min, max, sqrt, exp, log, log10, log2, sin, cos, tan, asin,
    acos, atan, floor, ceil, factorial, gcd and hypot.

    Example:
        >>> calculate("(2 + 3) * sqrt(16)"), calculate("2 ** 10 // 3")
        (20.0, 341)
    """
    if len(expression) > _MAX_LENGTH:
        raise ValueError(f"the expression is longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{expression!r} is not a valid expression ({exc.msg})") from None
    result = _eval(tree)
    if isinstance(result, float) and not math.isfinite(result):
        raise ValueError(f"the result is not a finite number ({result})")
    return result
