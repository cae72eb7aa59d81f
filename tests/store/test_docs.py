"""The examples of docs/durability.md run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_docs import ROOT, python_blocks


def test_durability_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(ROOT / "docs" / "durability.md")
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/durability.md", "exec"), {"__name__": "__doc_example__"})
