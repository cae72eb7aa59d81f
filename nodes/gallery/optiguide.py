"""The what-if machinery of the OptiGuide gallery graph (``graphs/gallery/optiguide.yaml``).

The graph keeps a linear program (the run variable ``base_program``: Python with PuLP)
that has two marked places, ``# WHAT-IF: DATA CHANGES`` (after the data, before the model
is built) and ``# WHAT-IF: CONSTRAINTS`` (after the model is built, before it is solved).
A what-if question is answered in three moves, as in OptiGuide:

1. the coder agent writes the change as fenced Python blocks; :func:`apply_change` puts
   each block at its place (a block whose first line is ``# constraints`` goes to the
   constraints, any other to the data) and lints it;
2. the safeguard agent reviews the change and answers ``SAFE`` or ``DANGER: <why>``;
3. :func:`solve` runs the original and the changed program in the run's code executor —
   the bubblewrap sandbox or Docker, never in this process — and reports the optimum and
   what changed against the original plan.

The lint is a courtesy (it sends obvious mistakes back before anyone reviews them), not
the security boundary: the safeguard's review and the sandbox are. It refuses imports,
names and attributes that start with ``_``, and calls of ``open``, ``exec``, ``eval``
and the other built-ins that reach outside the model's data.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow.execution import CodeBlock, CodeResult, extract_code_blocks
from graphflow.messages import Message, Update

if TYPE_CHECKING:
    from graphflow.kinds.base import NodeContext
    from graphflow.messages import State

__all__ = ["CONSTRAINTS_MARK", "DATA_MARK", "RESULT_PREFIX", "apply_change", "lint", "solve"]

DATA_MARK = "# WHAT-IF: DATA CHANGES"
CONSTRAINTS_MARK = "# WHAT-IF: CONSTRAINTS"
#: The program prints its answer as one line: this prefix, then JSON
#: ``{"status", "total_cost", "plan"}``.
RESULT_PREFIX = "WHATIF_RESULT "
#: Seconds one program run may take.
TIMEOUT = 60.0
_REFUSED_CALLS = {"open", "exec", "eval", "compile", "getattr", "setattr", "delattr",
                  "globals", "locals", "vars", "input", "breakpoint", "exit", "quit",
                  "help", "memoryview", "__import__"}  # fmt: skip
_MAX_CHANGE = 20_000


def _say(text: str, name: str = "solver") -> Message:
    return Message(role="user", name=name, content=text)


def lint(code: str) -> str | None:
    """Why ``code`` is refused before review, or ``None`` when it passes.

    Example:
        >>> lint("roasting_cost_light['roastery1'] *= 2") is None
        True
        >>> lint("import os")
        'line 1: imports are not allowed; the program already imports what it needs'
    """
    if len(code) > _MAX_CHANGE:
        return f"the change is longer than {_MAX_CHANGE} characters"
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return f"line {line}: imports are not allowed; the program already imports what it needs"
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            return f"line {line}: the name {node.id!r} is not allowed (it starts with _)"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return f"line {line}: the attribute {node.attr!r} is not allowed (it starts with _)"
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _REFUSED_CALLS):  # fmt: skip
            return f"line {line}: calling {node.func.id}() is not allowed in a what-if change"
    return None


def _insert(program: str, mark: str, code: str) -> str:
    if mark not in program:
        raise ValueError(f"the program has no line {mark!r}; add it where changes of that "
                         "kind belong")  # fmt: skip
    return program.replace(mark, f"{mark}\n{code.rstrip()}\n", 1)


def apply_change(text: str | None, base_program: str) -> Update:
    """Put the code blocks of the coder's reply ``text`` into ``base_program`` at their
    marked places and lint them.

    Returns:
        An Update setting ``program`` (the changed program), ``change`` (the inserted
        code) and ``change_problem`` (``None``; or why the change was refused, with a
        message telling the coder).

    Raises:
        ValueError: ``base_program`` lacks one of the two marked lines.
    """
    blocks = [b for b in extract_code_blocks(text or "") if b.language in ("python", "")]
    problem = None if blocks else ("no ```python block found; write the change as a fenced "
                                   "Python block")  # fmt: skip
    program, parts = base_program, []
    for block in blocks:
        code = block.code.strip("\n")
        first = code.lstrip().splitlines()[0].strip().lower() if code.strip() else ""
        mark = CONSTRAINTS_MARK if first.startswith("# constraints") else DATA_MARK
        problem = problem or lint(code)
        program = _insert(program, mark, code)
        parts.append(code)
    if problem is not None:
        return Update(messages=[_say(f"The change was not applied: {problem}. Send the "
                                     "corrected change.", name="apply_change")],
                      variables={"change_problem": problem})  # fmt: skip
    return Update(variables={"program": program, "change": "\n\n".join(parts),
                             "change_problem": None})  # fmt: skip


def parse_result(result: CodeResult) -> dict[str, Any] | None:
    """The program's ``WHATIF_RESULT`` line as a dict, or ``None`` when it printed none."""
    for line in reversed(result.output.splitlines()):
        if line.startswith(RESULT_PREFIX):
            try:
                found = json.loads(line[len(RESULT_PREFIX):])
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


async def _run_program(ctx: NodeContext, program: str) -> dict[str, Any]:
    """Run ``program`` once per node execution (recorded: a re-executed step replays it)."""
    name = ctx.run.executor_for("auto", node=ctx.node_id)
    work_dir = ctx.run.work_dir or Path("graphflow-work").resolve() / ctx.run_id
    work_dir.mkdir(parents=True, exist_ok=True)

    async def execute() -> dict[str, Any]:
        executor = ctx.run.services.executor(name, languages=("python",), run_id=ctx.run_id)
        found = await executor.run([CodeBlock(language="python", code=program)], work_dir,
                                   TIMEOUT)  # fmt: skip
        return found.to_record()

    key = "program:" + hashlib.sha256(program.encode()).hexdigest()[:16]
    return dict(await ctx.effect(key, execute))


def _money(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _report(baseline: dict[str, Any], result: dict[str, Any]) -> str:
    status = result.get("status")
    if status != "Optimal" or result.get("total_cost") is None:
        return (f"Solver: the changed model is {status} (the original was "
                f"{baseline.get('status')}, total cost {_money(baseline['total_cost'])}).")
    before, after = float(baseline["total_cost"]), float(result["total_cost"])
    delta = after - before
    percent = f", {delta / before:+.1%}" if before else ""
    lines = [f"Solver: Optimal. Total cost {_money(after)} (original {_money(before)}: "
             f"{'+' if delta >= 0 else '-'}{_money(abs(delta))}{percent})."]
    old, new = baseline.get("plan", {}), result.get("plan", {})
    changed = [f"  {k}: {_money(old.get(k, 0))} -> {_money(new.get(k, 0))}"
               for k in sorted(set(old) | set(new)) if old.get(k, 0) != new.get(k, 0)]
    lines.append("Plan changes:" if changed else "The plan is unchanged.")
    return "\n".join(lines + changed)


async def solve(state: State, ctx: NodeContext) -> Update:
    """Solve the original program and the changed one (variable ``program``) in the run's
    code executor, and report the optimum and the plan's changes as a message.

    Sets ``baseline`` and ``result`` (``{"status", "total_cost", "plan", "executor"}``;
    ``result`` is ``None`` when the changed program failed, and the message then carries
    its output).
    """
    variables = state.variables
    runs = {"baseline": await _run_program(ctx, str(variables["base_program"])),
            "result": await _run_program(ctx, str(variables["program"]))}  # fmt: skip
    parsed = {k: parse_result(CodeResult.from_record(v)) for k, v in runs.items()}
    for key, found in parsed.items():
        if found is not None:
            found["executor"] = runs[key].get("executor", "")
    baseline, result = parsed["baseline"], parsed["result"]
    if baseline is None:
        output = CodeResult.from_record(runs["baseline"]).output[-2000:]
        raise RuntimeError(f"the original program printed no {RESULT_PREFIX.strip()} line; "
                           f"fix base_program. Its output:\n{output}")  # fmt: skip
    if result is None:
        failed = CodeResult.from_record(runs["result"])
        return Update(messages=[_say(f"The changed program failed (exit code "
                                     f"{failed.exit_code}):\n{failed.output[-3000:]}\n"
                                     "Fix the change.")],
                      variables={"baseline": baseline, "result": None})  # fmt: skip
    return Update(messages=[_say(_report(baseline, result))],
                  variables={"baseline": baseline, "result": result})  # fmt: skip
