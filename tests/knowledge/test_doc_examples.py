"""docs/knowledge.md's commands and Python examples run as written, offline, from a folder
holding a docs/ folder (as a checkout's root does); the knowledge modules' docstring
examples hold."""

from __future__ import annotations

import doctest
import importlib
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "knowledge.md"


def test_the_page_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from graphflow.cli import main

    (tmp_path / "docs").symlink_to(ROOT / "docs", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    text = PAGE.read_text()
    commands = [line.split("#")[0] for block in re.findall(r"```sh\n(.*?)```", text, re.S)
                for line in block.splitlines() if line.startswith("graphflow ")]  # fmt: skip
    assert commands
    for command in commands:
        result = CliRunner().invoke(main, shlex.split(command)[1:])
        assert result.exit_code == 0, (command, result.output)
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    assert "docs/" in out and "[1]" in out


@pytest.mark.parametrize("module", ["graphflow.knowledge", "graphflow.knowledge.documents",
                                    "graphflow.knowledge.index", "graphflow.knowledge.loaders",
                                    "graphflow.knowledge.search", "graphflow.knowledge.splitters",
                                    "graphflow.kinds.retrieve", "graphflow.patterns.retrieval"])
def test_docstring_examples(module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(module), verbose=False)
    assert result.failed == 0
