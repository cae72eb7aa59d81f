"""Safe parsing of math text into sympy objects, and the worker process that computes.

Math text written by a model is hostile input. sympy's own ``sympify`` and
``parse_expr`` evaluate Python (``parse_expr("__import__('os').system('id')")`` runs a
shell command), so they are never used here. The text is parsed with :mod:`ast` and
every node is checked against a whitelist before a sympy object is built from it
directly — no ``eval``, no attribute access, no subscripts, no keywords, no lambdas:

- numbers (integers of at most 1,000 digits, decimals), ``+ - * / **`` (``^`` is read as
  ``**``), unary ``-``, parentheses;
- names: the functions and constants of :data:`FUNCTIONS` and :data:`CONSTANTS`, any
  other plain name (letters, digits, ``_``; not starting with ``_``; at most 30
  characters) is a symbol;
- calls of the whitelisted functions with positional arguments only;
- for equations, ``lhs = rhs`` (or ``==``).

Numeric powers with exponents above 10,000 and factorials above 1,000 are refused before
sympy tries them; what is left — an expansion or an integral that runs long — is bounded
by the worker process: :func:`main` runs in a child interpreter (``python -I FILE``) that
caps its own CPU time and memory first, and the caller kills it at the deadline.

This module imports nothing from graphflow, so the worker starts fast.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from typing import Any

__all__ = ["CONSTANTS", "FUNCTIONS", "UnsafeExpression", "compute", "parse_equation",
           "parse_expression"]  # fmt: skip

MAX_TEXT = 1_000
MAX_DIGITS = 1_000
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 1_000
MAX_NODES = 500
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,29}")

#: Function names the text may call, and the sympy attribute each one is.
FUNCTIONS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "cot": "cot", "sec": "sec", "csc": "csc",
    "asin": "asin", "acos": "acos", "atan": "atan", "atan2": "atan2",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "exp": "exp", "log": "log", "ln": "log", "sqrt": "sqrt", "root": "root",
    "Abs": "Abs", "abs": "Abs", "sign": "sign", "floor": "floor", "ceiling": "ceiling",
    "factorial": "factorial", "binomial": "binomial", "gamma": "gamma",
    "Min": "Min", "Max": "Max", "min": "Min", "max": "Max", "gcd": "gcd", "lcm": "lcm",
    "Rational": "Rational", "re": "re", "im": "im", "conjugate": "conjugate",
}  # fmt: skip
#: Constant names, and the sympy attribute each one is.
CONSTANTS = {"pi": "pi", "E": "E", "I": "I", "oo": "oo", "inf": "oo", "infinity": "oo"}


class UnsafeExpression(ValueError):
    """The text is not a math expression this parser accepts (the message says why)."""


def _sympy() -> Any:
    try:
        import sympy
    except ImportError:  # pragma: no cover - depends on the installation
        raise UnsafeExpression("the algebra tools need sympy: pip install 'graphflow[gallery]'"
                               ) from None  # fmt: skip
    return sympy


class _Builder:
    """Turns a checked ``ast`` tree into a sympy object, node by node."""

    def __init__(self, text: str) -> None:
        self.sp = _sympy()
        self.text = text
        self.count = 0

    def refuse(self, node: ast.AST, why: str, *, functions: bool = False) -> UnsafeExpression:
        where = ast.get_source_segment(self.text, node) if isinstance(node, ast.expr) else None
        shown = f" in {where[:80]!r}" if where else ""
        known = f" (functions: {', '.join(sorted(FUNCTIONS))})" if functions else ""
        return UnsafeExpression(f"{why}{shown}; write plain math such as 2*x**2 + sin(x) - 1"
                                f"{known}")  # fmt: skip

    def build(self, node: ast.AST) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise UnsafeExpression(f"the expression has more than {MAX_NODES} parts")
        sp = self.sp
        if isinstance(node, ast.Constant) and type(node.value) is int:
            if len(str(abs(node.value))) > MAX_DIGITS:
                raise self.refuse(node, f"a number has more than {MAX_DIGITS} digits")
            return sp.Integer(node.value)
        if isinstance(node, ast.Constant) and type(node.value) is float:
            return sp.Float(node.value)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                                ast.Div, ast.Pow)):  # fmt: skip
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.Add):
                return sp.Add(left, right)
            if isinstance(node.op, ast.Sub):
                return sp.Add(left, sp.Mul(-1, right))
            if isinstance(node.op, ast.Mult):
                return sp.Mul(left, right)
            if isinstance(node.op, ast.Div):
                if right == 0:
                    raise self.refuse(node, "division by zero")
                return sp.Mul(left, sp.Pow(right, -1))
            if right.is_Number and abs(right) > MAX_EXPONENT and (left.is_Number or
                                                                  left.is_NumberSymbol):  # fmt: skip
                raise self.refuse(node, f"an exponent above {MAX_EXPONENT}")
            return sp.Pow(left, right)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refuse(node, f"{type(node).__name__} is not allowed")

    def name(self, node: ast.Name) -> Any:
        if node.id in CONSTANTS:
            return getattr(self.sp, CONSTANTS[node.id])
        if node.id in FUNCTIONS:
            raise self.refuse(node, f"{node.id} is a function: call it, e.g. {node.id}(x)")
        if not _NAME.fullmatch(node.id):
            raise self.refuse(node, f"the name {node.id!r} is not allowed (letters, digits "
                                    "and _, starting with a letter, at most 30)")  # fmt: skip
        return self.sp.Symbol(node.id)

    def call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise self.refuse(node, "only the listed math functions may be called",
                              functions=True)  # fmt: skip
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.refuse(node, "functions take positional arguments only")
        if not node.args:
            raise self.refuse(node, f"{node.func.id} needs an argument")
        args = [self.build(a) for a in node.args]
        name = FUNCTIONS[node.func.id]
        if name == "factorial" and args[0].is_Number and abs(args[0]) > MAX_FACTORIAL:
            raise self.refuse(node, f"factorial is limited to n <= {MAX_FACTORIAL}")
        try:
            return getattr(self.sp, name)(*args)
        except (TypeError, ValueError) as exc:
            raise self.refuse(node, f"{node.func.id}: {exc}") from None


def _tree(text: str) -> ast.expr:
    if not isinstance(text, str) or not text.strip():
        raise UnsafeExpression("the expression is empty")
    if len(text) > MAX_TEXT:
        raise UnsafeExpression(f"the expression is longer than {MAX_TEXT} characters")
    source = text.strip().replace("^", "**")
    try:
        return ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        raise UnsafeExpression(f"{text!r} is not a math expression ({exc.msg}); write "
                               "products with *, e.g. 2*x, and powers with ** or ^") from None  # fmt: skip


def parse_expression(text: str) -> Any:
    """The sympy expression ``text`` writes, built without evaluating any Python.

    Raises:
        UnsafeExpression: the text is empty, too long, not math, or uses anything outside
            the whitelist (the message names the part and how to write it).

    Example:
        >>> parse_expression("2*x^2 + sin(pi/2)")
        2*x**2 + 1
        >>> parse_expression("__import__('os').system('id')")
        Traceback (most recent call last):
        ...
        UnsafeExpression: only the listed math functions may be called in ...
    """
    source = text.strip().replace("^", "**") if isinstance(text, str) else ""
    return _Builder(source).build(_tree(text))


def parse_equation(text: str) -> Any:
    """An equation ``lhs = rhs`` (or ``lhs == rhs``) as ``lhs - rhs``; plain expressions
    mean ``expression = 0``.

    Raises:
        UnsafeExpression: as :func:`parse_expression`, or more than one ``=``.
    """
    if not isinstance(text, str):
        raise UnsafeExpression("an equation must be text, e.g. 'x**2 = 4'")
    parts = re.split(r"==|(?<![<>!=])=(?!=)", text)
    if len(parts) > 2:
        raise UnsafeExpression(f"{text!r} has more than one '='")
    if len(parts) == 2:
        return parse_expression(parts[0]) - parse_expression(parts[1])
    return parse_expression(text)


def _symbols(names: list[str] | None, exprs: list[Any]) -> list[Any]:
    sp = _sympy()
    if not names:
        found = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
        return sorted(found, key=str)
    out = []
    for name in names:
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in FUNCTIONS:
            raise UnsafeExpression(f"{name!r} is not a variable name (letters, digits, _)")
        out.append(sp.Symbol(name))
    return out


def _text(value: Any) -> str:
    return str(value)


def compute(operation: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one operation on parsed input and return a JSON-ready result.

    Operations: ``solve`` (``equations``, ``unknowns``), ``simplify`` (``expression``,
    ``mode``: simplify, expand, factor, together, cancel), ``integrate``
    (``expression``, ``variable``, ``lower``, ``upper``), ``differentiate``
    (``expression``, ``variable``, ``order``), ``evaluate`` (``expression``, ``digits``).

    Raises:
        UnsafeExpression: bad input (see :func:`parse_expression`), or an unknown operation.
    """
    sp = _sympy()
    if operation == "solve":
        equations = [parse_equation(e) for e in args.get("equations") or []]
        if not equations:
            raise UnsafeExpression("give at least one equation, e.g. ['x**2 = 4']")
        unknowns = _symbols(args.get("unknowns"), equations)
        solutions = sp.solve(equations, unknowns, dict=True)
        return {"unknowns": [_text(u) for u in unknowns],
                "solutions": [{_text(k): _text(v) for k, v in s.items()} for s in solutions]}  # fmt: skip
    if operation == "simplify":
        expr = parse_expression(args.get("expression", ""))
        mode = args.get("mode", "simplify")
        functions = {"simplify": sp.simplify, "expand": sp.expand, "factor": sp.factor,
                     "together": sp.together, "cancel": sp.cancel}  # fmt: skip
        if mode not in functions:
            raise UnsafeExpression(f"mode {mode!r} is not one of {', '.join(functions)}")
        return {"result": _text(functions[mode](expr))}
    if operation == "integrate":
        expr = parse_expression(args.get("expression", ""))
        (var,) = _symbols([args.get("variable") or "x"], [expr])
        lower, upper = args.get("lower"), args.get("upper")
        if (lower is None) != (upper is None):
            raise UnsafeExpression("give both bounds for a definite integral, or neither")
        if lower is None:
            return {"result": _text(sp.integrate(expr, var)), "definite": False}
        bounds = (var, parse_expression(str(lower)), parse_expression(str(upper)))
        value = sp.integrate(expr, bounds)
        return {"result": _text(value), "definite": True, "numeric": _numeric(value)}
    if operation == "differentiate":
        expr = parse_expression(args.get("expression", ""))
        (var,) = _symbols([args.get("variable") or "x"], [expr])
        order = int(args.get("order", 1))
        if not 1 <= order <= 20:
            raise UnsafeExpression("order must be between 1 and 20")
        return {"result": _text(sp.diff(expr, var, order))}
    if operation == "evaluate":
        expr = parse_expression(args.get("expression", ""))
        digits = max(1, min(int(args.get("digits", 15)), 100))
        return {"exact": _text(sp.nsimplify(expr) if expr.is_Float else expr),
                "numeric": _text(sp.N(expr, digits))}  # fmt: skip
    raise UnsafeExpression(f"unknown operation {operation!r}")


def _numeric(value: Any) -> str | None:
    try:
        return str(value.evalf(15)) if value.is_number else None
    except (TypeError, ValueError, AttributeError):
        return None


def _limit_self(cpu_seconds: int, memory_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def main() -> None:
    """Worker entry: read ``{"operation", "args", "cpu_seconds", "memory_bytes"}`` as JSON
    on standard input, cap this process, compute, and print ``{"ok": result}`` or
    ``{"error": message}`` as JSON."""
    request = json.loads(sys.stdin.read())
    _limit_self(int(request.get("cpu_seconds", 10)), int(request.get("memory_bytes", 1 << 30)))
    try:
        out: dict[str, Any] = {"ok": compute(str(request["operation"]), request.get("args", {}))}
    except UnsafeExpression as exc:
        out = {"error": str(exc)}
    except (ArithmeticError, ValueError, TypeError, NotImplementedError) as exc:
        out = {"error": f"sympy could not do it: {type(exc).__name__}: {exc}"}
    except MemoryError:
        out = {"error": "the computation ran out of memory"}
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()
