"""Computer algebra for models: solve, simplify, integrate, differentiate and evaluate
with sympy — without running the model's text as Python.

The model's math is parsed by a whitelist (see ``_sympy_safe``: :mod:`ast` nodes checked
one by one, sympy objects built directly; sympy's ``sympify``/``parse_expr``, which
``eval`` their input, are never called), and the computation runs in a child interpreter
(``python -I``) that caps its own CPU time and memory and is killed at the deadline, so
an integral that never ends or an expansion that fills memory costs one child process,
not the run. Needs sympy: ``pip install 'graphflow[gallery]'``.

Graphs offer the module as ``tools: [algebra]`` (all five tools) or one tool by name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

__all__ = ["differentiate_expression", "evaluate_expression", "integrate_expression",
           "simplify_expression", "solve_equations"]  # fmt: skip

WORKER = Path(__file__).with_name("_sympy_safe.py")
#: Seconds one computation may take (wall clock; CPU time is capped at the same).
TIMEOUT = 20.0
#: Bytes of memory the worker process may map.
MEMORY = 1 << 30
_MAX_REPLY = 20_000


class AlgebraError(ValueError):
    """The input was refused, or sympy could not compute the answer (the message says which)."""


def compute(operation: str, args: dict[str, Any], *, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Run one operation in a fresh worker process and return its JSON result.

    Args:
        operation: ``solve``, ``simplify``, ``integrate``, ``differentiate`` or ``evaluate``.
        args: the operation's arguments (see ``_sympy_safe.compute``).
        timeout: seconds before the worker is killed.

    Raises:
        AlgebraError: the input was refused, sympy failed, or the time or memory ran out.
    """
    request = json.dumps({"operation": operation, "args": args,
                          "cpu_seconds": int(timeout) + 1, "memory_bytes": MEMORY})  # fmt: skip
    try:
        proc = subprocess.run([sys.executable, "-I", str(WORKER)], input=request,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise AlgebraError(f"the computation did not finish within {timeout:g} s; try a "
                           "simpler form, or split the problem") from None  # fmt: skip
    try:
        reply = json.loads(proc.stdout)
    except ValueError:
        reason = (proc.stderr.strip().splitlines() or ["it stopped without an answer"])[-1]
        if proc.returncode < 0 or "MemoryError" in proc.stderr:
            reason = "it ran out of time or memory"
        raise AlgebraError(f"the computation failed: {reason[:300]}") from None
    if "error" in reply:
        raise AlgebraError(str(reply["error"])[:_MAX_REPLY])
    result: dict[str, Any] = reply["ok"]
    return result


def solve_equations(
    equations: Annotated[list[str], "equations such as 'x**2 - 5*x + 6 = 0' (a plain "
                                    "expression means = 0)"],
    unknowns: Annotated[list[str] | None, "the variables to solve for (default: all)"] = None,
) -> dict[str, Any]:
    """Solve one equation or a system exactly; returns every solution as a mapping of
    variable to value.

    Example:
        >>> solve_equations(["x**2 - 5*x + 6 = 0"])
        {'unknowns': ['x'], 'solutions': [{'x': '2'}, {'x': '3'}]}
    """
    return compute("solve", {"equations": list(equations), "unknowns": unknowns})


def simplify_expression(
    expression: Annotated[str, "a math expression, e.g. (x**2 - 1)/(x - 1)"],
    mode: Annotated[Literal["simplify", "expand", "factor", "together", "cancel"],
                    "what to do"] = "simplify",
) -> str:
    """Simplify, expand or factor an expression and return it.

    Example:
        >>> simplify_expression("(x**2 - 1)/(x - 1)")
        'x + 1'
    """
    return str(compute("simplify", {"expression": expression, "mode": mode})["result"])


def integrate_expression(
    expression: Annotated[str, "the integrand, e.g. x*exp(-x)"],
    variable: Annotated[str, "the integration variable"] = "x",
    lower: Annotated[str | None, "lower bound (with upper: a definite integral; oo is infinity)"] = None,
    upper: Annotated[str | None, "upper bound"] = None,
) -> dict[str, Any]:
    """Integrate an expression: an antiderivative, or the value between two bounds.

    Example:
        >>> integrate_expression("x*exp(-x)", lower="0", upper="oo")["result"]
        '1'
    """
    return compute("integrate", {"expression": expression, "variable": variable,
                                 "lower": lower, "upper": upper})  # fmt: skip


def differentiate_expression(
    expression: Annotated[str, "the expression, e.g. sin(x)**2"],
    variable: Annotated[str, "the variable"] = "x",
    order: Annotated[int, "how many times to differentiate (1 to 20)"] = 1,
) -> str:
    """Differentiate an expression and return the derivative.

    Example:
        >>> differentiate_expression("x**3")
        '3*x**2'
    """
    return str(compute("differentiate", {"expression": expression, "variable": variable,
                                         "order": order})["result"])  # fmt: skip


def evaluate_expression(
    expression: Annotated[str, "a math expression without unknowns, e.g. sqrt(2)*pi"],
    digits: Annotated[int, "significant digits of the decimal value"] = 15,
) -> dict[str, Any]:
    """The exact form and the decimal value of an expression.

    Example:
        >>> evaluate_expression("sqrt(8)", digits=5)
        {'exact': '2*sqrt(2)', 'numeric': '2.8284'}
    """
    return compute("evaluate", {"expression": expression, "digits": digits})
