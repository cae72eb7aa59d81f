"""The README's and the docs' Python examples run, and the public API is complete."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

import graphflow

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    text = path.read_text()
    return [m.group(2) for m in re.finditer(r"(<!-- no-test -->\n)?```python\n(.*?)```", text, re.S)
            if not m.group(1)]  # fmt: skip


@pytest.mark.parametrize("doc", ["README.md", "docs/builder.md"])
def test_doc_examples_run(doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(ROOT / doc)
    assert blocks
    for block in blocks:
        exec(compile(block, doc, "exec"), {"__name__": "__doc_example__"})
    if doc == "README.md":
        assert "limit_reached max_steps (10) reached" in capsys.readouterr().out


def test_public_api_is_sorted_and_importable() -> None:
    assert graphflow.__all__ == sorted(graphflow.__all__)
    for name in graphflow.__all__:
        assert hasattr(graphflow, name), name


@pytest.mark.parametrize("module", ["graphflow.conditions", "graphflow.builder",
                                    "graphflow.graph.compiled", "graphflow.graph.routing",
                                    "graphflow.messages", "graphflow.store.sqlite.store"])
def test_docstring_examples(module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(module), verbose=False)
    assert result.failed == 0
