"""The Python examples of docs/execution.md run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "execution.md"


def test_execution_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    for index, block in enumerate(blocks):
        exec(compile(block, f"{DOC.name}[python block {index}]", "exec"), {"__name__": "__doc__"})


def test_execution_doc_names_every_option_of_the_code_kind() -> None:
    from graphflow.kinds.code import CodeConfig

    text = DOC.read_text(encoding="utf-8")
    for option in CodeConfig.model_fields:
        assert f"{option}:" in text, f"option {option!r} of the code kind is not documented"
