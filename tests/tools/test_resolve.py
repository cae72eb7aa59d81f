"""Resolving tools by import path and by catalog name."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.errors import ToolError
from graphflow.tools import catalog_tool_modules, load_tools, resolve_tool


def test_import_path_forms() -> None:
    assert resolve_tool("nodes.tools.calculator:calculate").name == "calculate"
    assert resolve_tool("nodes.tools.calculator.calculate").name == "calculate"


def test_bare_names_search_the_catalog() -> None:
    assert {"calculator", "files", "web", "clock", "jsonquery"} <= set(catalog_tool_modules())
    assert resolve_tool("json_query").name == "json_query"
    assert [t.name for t in load_tools(["files"])] == ["list_files", "read_file", "write_file"]


def test_module_name_is_not_a_single_tool() -> None:
    with pytest.raises(ToolError, match="names 3 tools"):
        resolve_tool("files")


def test_helpful_errors() -> None:
    with pytest.raises(ToolError, match=r"cannot import module 'no_such_pkg\.tools'"):
        resolve_tool("no_such_pkg.tools:thing")
    with pytest.raises(ToolError, match="has no attribute 'nothing'"):
        resolve_tool("nodes.tools.calculator:nothing")
    with pytest.raises(ToolError, match="not a function"):
        resolve_tool("nodes.tools.files:MAX_READ_BYTES")
    with pytest.raises(ToolError, match=r"no tool named 'teleport'.*calculator"):
        resolve_tool("teleport")
    with pytest.raises(ToolError, match="empty tool name"):
        resolve_tool(" ")


def test_load_tools_lists_every_problem_and_duplicate_names() -> None:
    with pytest.raises(ToolError) as info:
        load_tools(["calculate", "teleport", "nope.mod:fn", "nodes.tools.calculator:calculate"])
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert "teleport" in lines[0] and "nope.mod" in lines[1]
    assert "two tools are named 'calculate'" in lines[2]


def test_tools_next_to_a_graph_file_resolve_from_its_directory(tmp_path: Path) -> None:
    package = tmp_path / "localtools_for_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "greet.py").write_text(
        "def hello(name: str) -> str:\n    '''Greet someone.'''\n    return 'hi ' + name\n"
    )
    (tool,) = load_tools(["localtools_for_test.greet:hello"], base_dir=tmp_path)
    assert tool.name == "hello" and tool("x") == "hi x"


def test_callables_pass_through() -> None:
    def ping() -> str:
        """Pong."""
        return "pong"

    assert load_tools([ping])[0].name == "ping"
