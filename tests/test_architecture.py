"""The shape of the code: parts import each other one way, modules stay small, and the
public surface is what ``graphflow.__all__`` says."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import layers  # noqa: E402


def test_no_import_cycle_between_parts() -> None:
    found = layers.cycles(layers.import_graph())
    assert found == [], "import cycles between graphflow's parts: " + "; ".join(
        " ⇄ ".join(c) for c in found)


def test_parts_import_only_their_own_layer_and_below() -> None:
    assert layers.upward_imports(layers.import_graph()) == []


def test_the_cycle_check_sees_function_local_imports(tmp_path: Path) -> None:
    tree = layers.ast.parse("def f():\n    from graphflow.store import Store\n"
                            "if TYPE_CHECKING:\n    from graphflow.cli import main\n")  # fmt: skip
    found = set(layers._imports(tree, "graphflow.kinds.x", False))
    assert "graphflow.store" in found and "graphflow.cli" not in found


def test_every_part_has_a_layer() -> None:
    for part in layers.import_graph():
        layers.layer_of(part)


def test_no_module_is_over_500_lines() -> None:
    assert layers.long_modules() == []


def test_public_names_are_sorted_and_importable() -> None:
    import graphflow

    assert list(graphflow.__all__) == sorted(graphflow.__all__)
    for name in graphflow.__all__:
        assert getattr(graphflow, name) is not None, name


@pytest.mark.parametrize("name", ["graphflow.cli", "graphflow.report", "graphflow.render"])
def test_layers_import_on_their_own(name: str) -> None:
    importlib.import_module(name)
