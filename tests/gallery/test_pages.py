"""The docs pages of the math, chess, web-search and OptiGuide gallery graphs: each shows
its graph's diagram (drawn by graphflow's renderer, with every node of the graph) and runs
it by the bundled name it gives."""

from __future__ import annotations

import re

import pytest

from graphflow import load
from graphflow.catalog import bundled_dir, find_graph_file

from .gallery_helpers import GALLERY, ROOT

PAGES = {"math": "math.md", "chess": "chess.md", "web_search": "web-search.md",
         "optiguide": "optiguide.md"}  # fmt: skip
DOCS = ROOT / "docs" / "gallery"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_page_shows_the_graph_and_its_run(name: str) -> None:
    page = (DOCS / PAGES[name]).read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page)
    assert images == [f"images/{name}.svg", f"images/{name}-run.svg"]
    nodes = load(str(GALLERY / f"{name}.yaml")).nodes
    for image in images:
        svg = (DOCS / image).read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        titles = set(re.findall(r"<title>([^<]+)</title>", svg))
        assert set(nodes) <= titles, f"{image} lacks {set(nodes) - titles}"
    assert f"graphflow run gallery/{name} " in page


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_bundled_name_finds_the_graph(name: str) -> None:
    found, bundled = find_graph_file(f"gallery/{name}"), bundled_dir("graphs")
    assert found is not None and bundled is not None
    assert found.resolve() == (bundled / "gallery" / f"{name}.yaml").resolve()
