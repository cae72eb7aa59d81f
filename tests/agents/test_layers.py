"""Imports point one way: pattern builders → node kinds → agent runtime; kinds never
reach the scheduler; rendering reads compiled graphs and never loads files. Every import
counts, function-local ones too; imports under ``if TYPE_CHECKING:`` do not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "graphflow"


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, whether the import is inside a function) of one file."""
    found: list[tuple[str, bool]] = []
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child, in_function)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            found.append((base, in_function))
            found.extend((f"{base}.{alias.name}", in_function) for alias in node.names)
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _offending(folder: str, banned: tuple[str, ...], *, local_ok: bool = False) -> list[str]:
    out = []
    for path in sorted((PACKAGE / folder).rglob("*.py")) if (PACKAGE / folder).is_dir() else []:
        for module, in_function in _imports(path):
            if local_ok and in_function:
                continue
            if any(module == b or module.startswith(b + ".") for b in banned):
                out.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    return out


@pytest.mark.parametrize(
    ("folder", "banned"),
    [
        ("kinds", ("graphflow.scheduler", "graphflow.patterns", "graphflow.loader")),
        ("agents", ("graphflow.kinds", "graphflow.scheduler", "graphflow.patterns",
                    "graphflow.builder", "graphflow.compiler", "graphflow.loader")),
        ("render", ("graphflow.loader", "graphflow.compiler", "graphflow.scheduler")),
    ],
)  # fmt: skip
def test_lower_layers_do_not_import_higher_ones(folder: str, banned: tuple[str, ...]) -> None:
    assert _offending(folder, banned) == []


def test_the_compiled_graph_reaches_the_scheduler_and_renderer_only_when_used() -> None:
    banned = ("graphflow.scheduler", "graphflow.render", "graphflow.compiler", "graphflow.kinds")
    assert _offending("graph", banned, local_ok=True) == []
    assert _offending("graph", ("graphflow.compiler", "graphflow.kinds")) == []


def test_the_checker_sees_function_local_imports(tmp_path: Path) -> None:
    sample = PACKAGE / "kinds" / "subgraph.py"
    found = dict(_imports(sample))
    assert found.get("graphflow.kinds.base") is False
    assert not any(m.startswith("graphflow.graph") for m in found)  # under TYPE_CHECKING
