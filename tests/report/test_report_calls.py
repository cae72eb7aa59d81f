"""The report's model-call view, its search and zoom, and an end node the run never
entered drawn consistently (no taken edge into a node that says it was never reached)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from graphflow import Graph, Store, Update
from graphflow.render.overlay import RunOverlay
from graphflow.report import build_report, write_report


def chat_run(store: Store) -> tuple[Any, str]:
    g = Graph("chat", entry="writer")
    g.add_node("writer", kind="agent", system_message="Write about {topic}.",
               is_termination_msg=None)  # fmt: skip
    g.add_node("critic", kind="agent", system_message="Criticize.", is_termination_msg=None)
    g.add_node("done", kind="end")
    g.add_edge("writer", "critic")
    g.add_edge("critic", "done")
    g.variables = {"topic": "zebras"}
    g.models = {"scripted": ["Zebras have stripes.", "Say why the stripes matter."]}
    graph = g.compile()
    return graph, graph.run_sync("go", store=store).run_id


def test_the_report_shows_each_model_call(store: Store) -> None:
    graph, run_id = chat_run(store)
    page = build_report(store, run_id, graph)
    assert '<section id="calls" class="panel"><h2>model calls</h2>' in page
    assert page.count('class="entry model-call"') == 2
    assert "Write about zebras." in page and "Say why the stripes matter." in page
    assert 'data-node="critic"' in page and "scripted:default" in page


def test_an_edge_into_a_node_never_entered_is_not_drawn_as_taken(store: Store) -> None:
    g = Graph("stops", entry="a")
    g.add_node("a", lambda state: Update(stop="enough said"))
    g.add_node("done", kind="end")
    g.add_edge("a", "done")
    graph = g.compile()
    run_id = graph.run_sync(store=store).run_id
    overlay = RunOverlay.from_store(store, run_id)
    assert overlay.state("done") == "unvisited" and overlay.edge_counts == {}
    dot = graph.to_dot(overlay=overlay)
    assert 'a -> done [color="#d1d5db" fontcolor="#9ca3af"]' in dot  # drawn as not taken


@pytest.mark.browser
def test_search_zoom_and_calls_in_chromium(browser: Any, store: Store,
                                           tmp_path: Path) -> None:  # fmt: skip
    graph, run_id = chat_run(store)
    path = write_report(store, run_id, tmp_path / "report.html", graph=graph)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    from playwright.sync_api import expect  # assertions that wait for the page (a busy machine)

    calls = page.locator("#calls .model-call")
    expect(calls).to_have_count(2)
    calls.first.locator("summary").click()
    expect(page.locator("#calls .model-call[open] ol.prompt")).to_contain_text("zebras")

    page.fill("#search", "stripes matter")
    visible = page.locator("#timeline .entry:visible")
    expect(visible).to_have_count(1)
    expect(visible.first).to_contain_text("stripes matter")
    expect(page.locator("#calls .model-call:visible")).to_have_count(1)
    expect(page.locator("#filter-text")).to_have_text(
        "Showing “stripes matter”: 1 message, 1 model call")
    page.fill("#search", "")
    expect(page.locator("#timeline .entry:visible")).to_have_count(3)

    svg = page.locator("#diagram svg")
    before = svg.bounding_box()["width"]

    def width_becomes(ok: Any) -> None:
        """Wait (up to 10 s) until the diagram's width satisfies ``ok`` (the page's CSP
        forbids the string functions page.wait_for_function would evaluate)."""
        deadline = time.monotonic() + 10
        while not ok(svg.bounding_box()["width"]) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert ok(svg.bounding_box()["width"]), svg.bounding_box()

    page.locator("#zoom-in").click()
    page.locator("#zoom-in").click()
    width_becomes(lambda width: width > before * 1.4)
    page.locator("#zoom-fit").click()
    width_becomes(lambda width: abs(width - before) < before * 0.05)
    page.locator("#zoom-wide").click()
    width_becomes(lambda width: width >= before)
    assert errors == []
    page.close()
