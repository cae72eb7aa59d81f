"""Hostile names in diagrams and reports: they render, and stay text.

A node id or graph name comes from a graph file or a builder call; it reaches ``dot``,
the standalone SVG and the HTML report. None of it may become DOT syntax, a link, or
markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from graphflow import Graph, Store
from graphflow.render.dot import to_dot, to_svg
from graphflow.report import build_report

LINK_NODE = '<x> [URL="javascript:alert(1)"] <y>'
TITLE_BREAKER = "</title><script>alert(1)</script>"
PORT_NODE = 'a:b:c] [URL="javascript:alert(2)"'
BACKSLASH_NODE = "ends in a backslash \\"

pytestmark = pytest.mark.usefixtures("needs_dot")


@pytest.fixture
def needs_dot() -> None:
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` is not installed")


def hostile_graph() -> Any:
    g = Graph(TITLE_BREAKER, entry=LINK_NODE)
    g.add_node(LINK_NODE, lambda state: "one")
    g.add_node(PORT_NODE, lambda state: "two")
    g.add_node(BACKSLASH_NODE, lambda state: "three")
    g.add_edge(LINK_NODE, PORT_NODE)
    g.add_edge(PORT_NODE, BACKSLASH_NODE)
    return g.compile()


class Tags(HTMLParser):
    """Every start tag with its attributes; the text inside <script> and <title>."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, list[str]] = {"script": [], "title": []}
        self._open: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in self.texts else None

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts[self._open].append(data)


def assert_inert(markup: str) -> Tags:
    page = Tags(markup)
    # graphflow sets no URL: any href (tooltips make <a xlink:title> only) came from a name
    links = [a for _, attrs in page.tags for k, a in attrs.items() if k.endswith("href")]
    assert links == [], links
    assert not [t for t, attrs in page.tags if any(k.startswith("on") for k in attrs)]
    return page


def test_dot_source_quotes_every_name() -> None:
    source = to_dot(hostile_graph())
    statements = [line.strip() for line in source.splitlines()]
    assert '"<x> [URL=\\"javascript:alert(1)\\"] <y>" [' in "\n".join(statements)
    assert f'digraph "{TITLE_BREAKER}" {{' in source
    # every node and edge statement starts with a quoted name
    body = [s for s in statements[1:-1] if not s.startswith(("graph ", "node ", "edge ", "label="))]
    assert body and all(s.startswith('"') for s in body), body


def test_standalone_svg_keeps_hostile_names_inert() -> None:
    svg = to_svg(hostile_graph())
    page = assert_inert(svg)
    assert "<script" not in svg.lower()
    nodes = re.findall(r'<g id="node\d+" class="node">', svg)
    assert len(nodes) == 3, "a name was read as several nodes"
    assert len(re.findall(r'class="edge"', svg)) == 2
    titles = "".join(page.texts["title"])
    assert LINK_NODE in titles and TITLE_BREAKER in titles  # shown as text, unescaped by parse


def test_html_report_keeps_hostile_names_inert() -> None:
    graph, store = hostile_graph(), Store(":memory:")
    run = graph.run_sync(store=store)
    page_text = build_report(store, run.run_id, graph=graph)
    page = assert_inert(page_text)
    scripts = [t for t, _ in page.tags if t == "script"]
    assert len(scripts) == 1, "only graphflow's own script"
    assert "alert(1)" not in "".join(page.texts["script"])
    assert TITLE_BREAKER in "".join(page.texts["title"])
    assert '<svg class="diagram-svg"' in page_text, "the diagram was drawn"


@pytest.mark.parametrize("name", [LINK_NODE, PORT_NODE], ids=["html-like-id", "port-compass"])
def test_one_hostile_node_name_adds_no_link(name: str) -> None:
    """Each hostile name alone, in an otherwise plain graph (so that the drawing does not
    simply fail): it must stay one node, with no link."""
    g = Graph("plain", entry="start")
    g.add_node("start", lambda state: "one")
    g.add_node(name, lambda state: "two")
    g.add_edge("start", name)
    svg = to_svg(g.compile())
    assert_inert(svg)
    assert len(re.findall(r'<g id="node\d+" class="node">', svg)) == 2
