"""The gallery's docs: an index row and a page with its diagram for every gallery graph,
examples that run, command lines whose options exist, and diagrams the script can draw."""

from __future__ import annotations

import re
import runpy
import shutil
from pathlib import Path

import pytest

from tests.conftest import require
from tests.test_docs_cli import _CALL, _OPTION, _PREFIX, code_texts, option_names

ROOT = Path(__file__).resolve().parents[2]
INDEX = ROOT / "docs" / "gallery.md"
PAGES = sorted((ROOT / "docs" / "gallery").glob("*.md"))
GRAPHS = sorted((ROOT / "graphs" / "gallery").glob("*.yaml"))


def rows() -> dict[str, str]:
    """graph name → page of the index's table."""
    found = re.findall(r"^\| \d+ \|.*?\| `gallery/(\w+)` \| \[[\w.-]+\]\(gallery/([\w.-]+)\) \|$",
                       INDEX.read_text(encoding="utf-8"), re.M)  # fmt: skip
    return dict(found)


def test_the_index_lists_the_eight_uses_in_order() -> None:
    text = INDEX.read_text(encoding="utf-8")
    assert re.findall(r"^\| (\d+) \|", text, re.M) == [str(n) for n in range(1, 9)]
    assert len(rows()) == 8


@pytest.mark.parametrize("graph", GRAPHS, ids=[g.stem for g in GRAPHS])
def test_every_gallery_graph_has_a_row_a_page_and_its_diagram(graph: Path) -> None:
    page = rows().get(graph.stem)
    assert page, f"docs/gallery.md has no row for gallery/{graph.stem}"
    text = (ROOT / "docs" / "gallery" / page).read_text(encoding="utf-8")
    assert f"(images/{graph.stem}.svg)" in text
    assert (ROOT / "docs" / "gallery" / "images" / f"{graph.stem}.svg").is_file()
    assert f"graphs/gallery/{graph.name}" in text


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_examples_run_and_its_command_lines_exist(page: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from graphflow.cli import main

    monkeypatch.chdir(tmp_path)
    text = page.read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, page.name, "exec"), {"__name__": "__doc__"})
    problems = []
    for code in code_texts(page):
        for segment in re.split(r"\||&&|;|#", code):
            match = _CALL.match(_PREFIX.sub("", segment.strip()))
            if not match:
                continue
            command = main.commands.get(match.group(2))  # type: ignore[attr-defined]
            if command is None:
                problems.append(f"graphflow {match.group(2)}: no such command")
                continue
            for option in _OPTION.findall(match.group(3)):
                if option not in option_names(command):
                    problems.append(f"graphflow {match.group(2)} {option}: no such option")
    for target in re.findall(r"\]\(((?:\.\./)+[\w/.-]+?)(?:#[\w-]+)?\)", text):
        if not (page.parent / target).exists():
            problems.append(f"link {target} leads nowhere")
    assert problems == []


def test_the_diagram_script_draws_every_gallery_graph(tmp_path: Path) -> None:
    require(shutil.which("dot") is not None, "graphviz's dot is not installed")
    module = runpy.run_path(str(ROOT / "docs" / "make_gallery.py"))
    written = module["main"](tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{g.stem}.svg" for g in GRAPHS)
    assert all(p.read_text().lstrip().startswith(("<?xml", "<svg")) for p in written)
