"""The report in a real browser: headless Chromium driven by Playwright.

Needs Debian's ``chromium`` (``bash .ci/browser.sh`` installs it); skipped without it,
except in CI (``GRAPHFLOW_CI=1``), where a missing browser fails the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphflow import Store
from graphflow.report import write_report

pytestmark = pytest.mark.browser




def test_report_in_chromium(browser: Any, store: Store, rich_run: tuple[Any, str],
                            tmp_path: Path) -> None:  # fmt: skip
    graph, run_id = rich_run
    path = write_report(store, run_id, tmp_path / "report.html", graph=graph)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']")

    # The diagram and the timeline render.
    nodes = page.locator("#diagram svg g.node")
    assert nodes.count() == 5
    assert page.locator("#diagram g.node[data-node='coder']").is_visible()
    box = page.locator("#diagram svg").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200
    entries = page.locator("#timeline .entry")
    assert entries.count() == 7 and entries.first.is_visible()
    assert page.locator(".entry.k-human").inner_text().count("yes") >= 1

    # The injected markup stayed text: no script ran, no image was made.
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#timeline img").count() == 0
    assert "<script>window.__pwned = 1</script>" in page.locator(".entry.k-input").inner_text()
    assert requests == [path.as_uri()]  # nothing else was loaded

    # Clicking a node shows only its messages; clicking it again shows all.
    page.locator("#diagram g.node[data-node='coder']").click()
    visible = page.locator("#timeline .entry:visible")
    assert visible.count() == 3
    assert {visible.nth(i).get_attribute("data-node") for i in range(3)} == {"coder"}
    assert page.locator("#filter").is_visible()
    assert page.locator("#filter-text").inner_text() == "Showing node coder: 3 messages"
    assert "selected" in (page.locator("#diagram g.node[data-node='coder']")
                          .get_attribute("class") or "")  # fmt: skip
    page.screenshot(path=str(tmp_path / "report-filtered.png"), full_page=True)
    page.locator("#diagram g.node[data-node='coder']").click()
    assert page.locator("#timeline .entry:visible").count() == 7

    # Another node, then "show all"; a node without messages shows its step only.
    page.locator("#diagram g.node[data-node='run']").click()
    assert page.locator("#timeline .entry:visible").count() == 1
    assert page.locator(".entry.k-code-output:visible pre.output.ok").inner_text().startswith(
        "exitcode: 0")  # fmt: skip
    page.locator("#show-all").click()
    assert page.locator("#timeline .entry:visible").count() == 7
    page.locator("#diagram g.node[data-node='unused']").click()
    assert page.locator("#timeline .entry:visible").count() == 0
    assert page.locator("#filter-text").inner_text() == "Showing node unused: 0 messages"
    page.keyboard.press("Escape")
    assert not page.locator("#filter").is_visible()

    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert errors == []
    page.close()
