"""The Python examples of docs/agents.md and docs/patterns.md run, the docstring examples
of the agent modules pass, and the patterns package's public API is complete."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

import graphflow.patterns

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["graphflow.kinds.agent", "graphflow.kinds.router", "graphflow.patterns.agents",
           "graphflow.agents.conventions", "graphflow.patterns.group",
           "graphflow.patterns.nested", "graphflow.agents.replies",
           "graphflow.agents.modelcalls", "graphflow.agents.selection",
           "graphflow.patterns.sequential", "graphflow.patterns.summary",
           "graphflow.patterns.two_agent", "graphflow.agents.views",
           "graphflow.agents.neighbourhood"]  # fmt: skip


def python_blocks(path: Path) -> list[str]:
    text = path.read_text()
    fences = re.finditer(r"(<!-- no-test -->\n)?^```python\n(.*?)^```", text, re.S | re.M)
    return [m.group(2) for m in fences if not m.group(1)]


@pytest.mark.parametrize("doc", ["docs/patterns.md", "docs/agents.md"])
def test_doc_examples_run(doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(ROOT / doc)
    assert blocks or doc == "docs/agents.md"
    for block in blocks:
        exec(compile(block, doc, "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    if doc == "docs/patterns.md":
        assert "The sum of the first ten squares is 385." in out
        assert "['Make it shorter.', ''] Nodes speak, edges listen." in out
        assert "['planner', 'coder', 'critic']" in out
        assert "'planner_next': ['coder', 'done']" in out


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(module), verbose=False)
    assert result.failed == 0


def test_patterns_api_is_sorted_and_importable() -> None:
    names = graphflow.patterns.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(graphflow.patterns, name), name
