"""The OptiGuide gallery graph: a coder changes a linear program, a safeguard reviews the
change, and the solver runs both programs in the sandbox, not in the graphflow process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from graphflow import load
from graphflow.context import RunContext
from graphflow.kinds.base import NodeContext
from graphflow.messages import State, Update

from .gallery_helpers import GALLERY, needs, offline, run_offline

GRAPH = GALLERY / "optiguide.yaml"


@pytest.fixture
def sandbox() -> None:
    from graphflow.execution import unavailable_reason
    from tests.conftest import require

    needs("pulp")
    problem = unavailable_reason("sandbox")
    require(problem is None, f"the sandbox executor cannot run here: {problem}")


def base_program() -> str:
    return str(yaml.safe_load(GRAPH.read_text())["variables"]["base_program"])


def solve(program: str, tmp_path: Path, executor: str | None = None) -> tuple[str, dict]:
    from graphflow.bundled.nodes.gallery.optiguide import solve as solve_node

    state = State(variables={"base_program": base_program(), "program": program})
    context = RunContext(work_dir=tmp_path / "work", executor=executor)
    ctx = NodeContext(run_id="r", step=1, node_id="solve", state=state, run=context)

    async def go() -> Update:
        try:
            return await solve_node(state, ctx)
        finally:
            await context.services.aclose()

    update = asyncio.run(go())
    return update.messages[0].content or "", dict(update.variables)


@pytest.mark.usefixtures("sandbox")
def test_the_safeguard_rejects_a_change_and_the_solver_answers_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    offline(monkeypatch)
    result, store = run_offline("optiguide", tmp_path, "What if roastery1's roasting costs doubled?")
    store.close()
    assert result.status == "completed", (result.reason, result.error)
    said = [(m.node, m.text) for m in result.messages if m.node]
    assert [node for node, _ in said] == ["coder", "safeguard", "coder", "safeguard", "solve",
                                          "coder"]  # fmt: skip
    assert said[1][1].startswith("DANGER") and said[3][1] == "SAFE"
    assert said[4][1].startswith("Solver: Optimal. Total cost 2,760 (original 2,470: +290")
    assert result.variables["baseline"]["total_cost"] == 2470
    assert result.variables["result"]["total_cost"] == 2760
    assert 'roasting_cost_dark["roastery1"] *= 2' in result.variables["program"]
    assert "dark_coffee_needed_for_cafe = {cafe: 0" not in result.variables["program"]
    assert result.variables["baseline"]["executor"] == "sandbox"
    assert result.variables["result"]["executor"] == "sandbox"


def test_the_lint_sends_obvious_mistakes_back_before_review() -> None:
    from graphflow.bundled.nodes.gallery.optiguide import apply_change, lint

    assert lint("roasting_cost_light['roastery1'] *= 2") is None
    for code, why in [("import os", "imports are not allowed"),
                      ("x = open('/etc/passwd').read()", "open() is not allowed"),
                      ("model.__class__", "'__class__' is not allowed"),
                      ("__builtins__", "'__builtins__' is not allowed"),
                      ("eval('1')", "eval() is not allowed"),
                      ("x = (", "line 1")]:  # fmt: skip
        assert why in (lint(code) or ""), code
    update = apply_change("```python\nimport os\n```", base_program())
    assert update.variables["change_problem"].endswith("the program already imports what it needs")
    assert update.messages[0].content.startswith("The change was not applied: line 1: imports")
    assert apply_change("no code here", base_program()).variables["change_problem"].startswith(
        "no ```python block found")


def test_blocks_go_to_their_marked_places() -> None:
    from graphflow.bundled.nodes.gallery.optiguide import CONSTRAINTS_MARK, DATA_MARK, apply_change

    text = ("```python\ncapacity_of_supplier['supplier3'] = 60\n```\n"
            "```python\n# constraints\nmodel += beans[('supplier1', 'roastery1')] <= 10\n```")
    program = apply_change(text, base_program()).variables["program"]
    data_at, constraint_at = program.index("= 60"), program.index("<= 10")
    assert program.index(DATA_MARK) < data_at < program.index("model = pulp.LpProblem")
    assert program.index(CONSTRAINTS_MARK) < constraint_at < program.index("model.solve")


@pytest.mark.usefixtures("sandbox")
def test_failing_and_infeasible_changes_are_reported_to_the_coder(tmp_path: Path) -> None:
    from graphflow.bundled.nodes.gallery.optiguide import apply_change

    broken = apply_change("```python\nroasting_cost_light['roastery9'] += 1\n```",
                          base_program()).variables["program"]  # fmt: skip
    text, variables = solve(broken, tmp_path)
    assert text.startswith("The changed program failed (exit code 1)") and "KeyError" in text
    assert variables["result"] is None and variables["baseline"]["total_cost"] == 2470
    short = apply_change("```python\ncapacity_of_supplier = {s: 10 for s in capacity_of_supplier}\n```",
                         base_program()).variables["program"]  # fmt: skip
    text, variables = solve(short, tmp_path)
    assert text.startswith("Solver: the changed model is Infeasible")


@pytest.mark.usefixtures("sandbox")
def test_the_program_runs_in_the_sandbox_not_in_this_process(tmp_path: Path) -> None:
    """A change that got past the review still cannot touch the host: the program runs
    in the sandbox, whose /tmp is its own (with ``executor="local"`` this test fails)."""
    outside = tmp_path / "escaped.txt"
    escape = f"import pathlib\npathlib.Path({str(outside)!r}).write_text('out')\n"
    program = base_program().replace("# WHAT-IF: DATA CHANGES", escape)
    text, _ = solve(program, tmp_path)
    assert text.startswith("The changed program failed") and "Error" in text
    assert not outside.exists()


def test_the_graph_renders_the_review_loop() -> None:
    dot = str(load(str(GRAPH)).to_dot())
    for edge in ("coder -> apply_change", "apply_change -> safeguard", "safeguard -> solve",
                 "safeguard -> coder", "solve -> coder", "coder -> done"):  # fmt: skip
        assert edge in dot
