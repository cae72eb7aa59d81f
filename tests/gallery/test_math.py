"""The math gallery graph: sympy as a tool, whose input is parsed by a whitelist and never
run as Python, computed in a capped child process."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from graphflow import load
from graphflow.tools import execute_tool_calls, load_tools

from .gallery_helpers import GALLERY, needs, offline, run_offline

CONTINUE_TEXT = ("Continue. Use the algebra tools for any step you are unsure of, and when you "
                 "have the final answer, put it in \\boxed{} and end your message with TERMINATE.")

pytestmark = pytest.mark.usefixtures("_sympy")

HOSTILE = [
    "__import__('os').system('touch {mark}')",
    "().__class__.__base__.__subclasses__()",
    "x.__class__",
    "open('{mark}', 'w')",
    "(lambda: __import__('os'))()",
    "[c for c in ().__class__.__mro__]",
    "Symbol('x')",
    "exp(x).func('y')",
    "'{mark}'",
    "x if y else z",
    "sin(x)(1)",
    "sin(x=1)",
]


REFUSED = r"not allowed|may be called|positional|more than one"


@pytest.fixture
def _sympy() -> None:
    needs("sympy")


def test_the_graph_runs_offline_and_sympy_does_the_exact_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    offline(monkeypatch)
    result, store = run_offline("math", tmp_path, "Area between y = x^2 and y = 2x + 3?")
    store.close()
    assert result.status == "completed", (result.reason, result.error)
    assert result.variables["answer"] == "\\frac{32}{3}"
    assert result.reason == "answer: \\frac{32}{3}"
    tools = [m.text for m in result.messages if m.role == "tool"]
    assert json.loads(tools[0])["solutions"] == [{"x": "-1"}, {"x": "3"}]
    assert json.loads(tools[1])["result"] == "32/3"


def test_a_reply_without_a_boxed_answer_is_sent_back() -> None:
    from graphflow.bundled.nodes.gallery.mathchat import CONTINUE, check_answer

    update = check_answer("I think it is about ten.")
    assert update.messages[0].content == CONTINUE and not update.variables
    assert check_answer(r"\boxed{x^{2}} TERMINATE").variables == {"answer": "x^{2}"}


def test_the_tools_compute_exactly() -> None:
    from graphflow.bundled.nodes.tools import algebra

    assert algebra.solve_equations(["x + y = 10", "x - y = 2"])["solutions"] == [{"x": "6", "y": "4"}]
    assert algebra.simplify_expression("x^2 - 2*x + 1", mode="factor") == "(x - 1)**2"
    assert algebra.integrate_expression("exp(-x**2)", lower="-oo", upper="oo")["result"] == "sqrt(pi)"
    assert algebra.differentiate_expression("sin(x)**2", order=2) == "2*(-sin(x)**2 + cos(x)**2)"
    assert algebra.evaluate_expression("pi", digits=6)["numeric"] == "3.14159"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_math_is_refused_and_runs_no_code(text: str, tmp_path: Path) -> None:
    from graphflow.bundled.nodes.tools import _sympy_safe

    mark = tmp_path / "pwned"
    hostile = text.format(mark=mark)
    for parse in (lambda: _sympy_safe.parse_expression(hostile),
                  lambda: _sympy_safe.parse_equation(f"{hostile} = 1"),
                  lambda: _sympy_safe.parse_expression(f"1 + {hostile}")):  # fmt: skip
        with pytest.raises(_sympy_safe.UnsafeExpression, match=REFUSED):
            parse()
    assert not mark.exists()


def test_every_tool_refuses_hostile_math(tmp_path: Path) -> None:
    from graphflow.bundled.nodes.tools import algebra

    mark = tmp_path / "pwned"
    hostile = HOSTILE[0].format(mark=mark)
    for call in (lambda: algebra.solve_equations([f"{hostile} = 1"]),
                 lambda: algebra.simplify_expression(HOSTILE[1]),
                 lambda: algebra.integrate_expression("x", lower=HOSTILE[3].format(mark=mark),
                                                      upper="1"),
                 lambda: algebra.differentiate_expression(hostile),
                 lambda: algebra.evaluate_expression(HOSTILE[5])):  # fmt: skip
        with pytest.raises(algebra.AlgebraError, match=REFUSED):
            call()
    assert not mark.exists()


def test_sympys_own_parser_would_run_the_hostile_text(tmp_path: Path) -> None:
    """Why the whitelist exists: parse_expr evaluates Python (shown, so the test above
    tests something real)."""
    from sympy.parsing.sympy_parser import parse_expr

    mark = tmp_path / "pwned"
    parse_expr(HOSTILE[0].format(mark=mark))
    assert mark.exists()


def test_hostile_math_from_a_model_comes_back_as_a_tool_error(tmp_path: Path) -> None:
    mark = tmp_path / "pwned"
    calls = [{"id": "c1", "type": "function", "function": {
        "name": "simplify_expression",
        "arguments": json.dumps({"expression": HOSTILE[0].format(mark=mark)})}}]
    replies = asyncio.run(execute_tool_calls(calls, load_tools(["algebra"])))
    assert replies[0].text.startswith("Error: tool 'simplify_expression' raised AlgebraError")
    assert not mark.exists()


def test_huge_numbers_are_refused_before_sympy_tries_them() -> None:
    from graphflow.bundled.nodes.tools import _sympy_safe

    for text in ("9**9**9", "factorial(10**6)", "2^(10^6)", "1" * 1001, "(" * 300 + "x"):
        with pytest.raises(_sympy_safe.UnsafeExpression,
                           match=r"exponent|factorial|digits|longer|not a math expression"):
            _sympy_safe.parse_expression(text)


def test_a_runaway_computation_is_killed_at_the_deadline() -> None:
    from graphflow.bundled.nodes.tools import algebra

    started = time.monotonic()
    with pytest.raises(algebra.AlgebraError, match="did not finish within 2 s"):
        algebra.compute("simplify", {"expression": "(a+b+c+d+e)**300", "mode": "expand"},
                        timeout=2)  # fmt: skip
    assert time.monotonic() - started < 6


def test_the_graph_validates_and_renders() -> None:
    graph = load(str(GALLERY / "math.yaml"))
    dot = str(graph.to_dot())
    for edge in ("mathematician -> algebra", "algebra -> mathematician",
                 "mathematician -> checker", "checker -> done"):  # fmt: skip
        assert edge in dot


def test_a_model_configured_on_the_command_line_drives_the_tools_over_http(tmp_path: Path) -> None:
    """A real endpoint by configuration (here the loopback test server): its tool calls
    reach sympy, and the boxed answer ends the run."""
    from graphflow import Store
    from graphflow.context import RunContext
    from graphflow.testing import ModelServer

    script = [{"tool_calls": [{"name": "differentiate_expression",
                               "arguments": {"expression": "x^3 - 3*x", "variable": "x"}}]},
              "The derivative is 3x^2 - 3.",
              "So the critical points are where 3x^2 - 3 = 0: \\boxed{x = \\pm 1}. TERMINATE"]  # fmt: skip
    graph = load(str(GALLERY / "math.yaml"))
    with ModelServer(script) as server, Store(tmp_path / "runs.db") as store:
        context = RunContext(model="any-model", base_url=server.base_url)
        result = graph.run_sync("Where does x^3 - 3x have critical points?", store=store,
                                context=context, work_dir=tmp_path / "work")  # fmt: skip
        assert server.requests == 3
    assert result.status == "completed", (result.reason, result.error)
    said = [(m.node, m.text) for m in result.messages if m.node]
    assert said[1] == ("algebra", "3*x**2 - 3")
    assert said[3] == ("checker", CONTINUE_TEXT)
    assert result.variables["answer"] == "x = \\pm 1"
