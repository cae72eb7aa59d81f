"""The Python examples of docs/tools.md run, and every built-in tool is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphflow.tools import load_tools

DOC = Path(__file__).resolve().parents[2] / "docs" / "tools.md"


def test_tools_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 3
    for index, block in enumerate(blocks):
        exec(compile(block, f"{DOC.name}[python block {index}]", "exec"), {"__name__": "__doc__"})


def test_every_catalog_tool_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for module in ["calculator", "clock", "files", "jsonquery", "web"]:
        for tool in load_tools([module]):
            assert f"`{tool.name}" in text, f"tool {tool.name} ({module}) is not in docs/tools.md"


def test_tool_node_options_are_documented() -> None:
    from graphflow.kinds.tool import ToolConfig

    text = DOC.read_text(encoding="utf-8")
    for option in ToolConfig.model_fields:
        assert f"{option}:" in text
