"""Every graph of the gallery (graphs/gallery/) validates, renders, and runs offline to
the end on its scripted models, its human checkpoints answered with their first option.

A graph whose code or tools import an optional library (matplotlib, sympy, chess, PuLP …)
needs it installed; the sandbox executor needs bubblewrap. In CI both must be there.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphflow import Store, load
from graphflow.cli import main
from tests.conftest import require
from tests.graphs.answering import run_answering

GALLERY = Path(__file__).resolve().parents[2] / "graphs" / "gallery"
FILES = sorted(GALLERY.glob("*.yaml"))
#: optional libraries a gallery graph may use: the name as written in a graph → module
OPTIONAL = {"matplotlib": "matplotlib", "sympy": "sympy", "chess": "chess", "pulp": "pulp",
            "highspy": "highspy"}  # fmt: skip


def requirements(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if re.search(r"\b(executor|code_execution): (sandbox|auto)\b", text):
        from graphflow.execution import unavailable_reason

        problem = unavailable_reason("sandbox")
        require(problem is None, f"the sandbox executor cannot run here: {problem}")
    for word, module in OPTIONAL.items():
        if re.search(rf"\bimport {word}\b|\b{word}\.", text) or f"[{word}]" in text:
            require(importlib.util.find_spec(module) is not None,
                    f"{path.name} needs {module} (pip install 'graphflow[gallery]')")


def test_the_gallery_holds_the_graphs_of_this_page() -> None:
    assert {"code_feedback", "data_visualization", "several_humans",
            "library_tools"} <= {p.stem for p in FILES}  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_graph_validates_from_the_command_line(path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "✓" in result.output


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_graph_renders_as_dot_svg_and_mermaid(path: Path) -> None:
    import shutil

    from graphflow.render import to_svg

    graph = load(str(path))
    dot = graph.to_dot()
    mermaid = graph.to_mermaid()
    for node in graph.nodes:
        assert node in dot and node in mermaid
    assert all(line.startswith("    ") for line in mermaid.splitlines()[1:])  # one per line
    require(shutil.which("dot") is not None, "graphviz's dot is not installed")
    assert "<svg" in to_svg(graph)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_graph_runs_offline_to_completion(path: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name in ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no OAI_CONFIG_LIST file of the caller's folder
    requirements(path)
    graph = load(str(path))
    with Store(tmp_path / "runs.db") as store:
        result = run_answering(graph, store, tmp_path / "work", rounds=20)
        assert result.status == "completed", (result.reason, result.error)
        produced = [m for m in result.messages if m.node]
        assert produced, "the run produced no messages"
        assert not any((m.content or "").startswith("[offline model]") for m in produced)
