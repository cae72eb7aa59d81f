"""The web UI in a real browser: headless Chromium (Debian's) driven by Playwright,
against a real uvicorn server on a free loopback port.

Starts the quickstart from the UI, watches it pause at its human checkpoint, answers in
the browser and sees it complete; run content stays text. Screenshots go to a temporary
folder, or to ``$GRAPHFLOW_SERVE_SCREENSHOTS`` (``docs/images`` makes the pictures of
docs/serve.md). Needs ``/usr/bin/chromium``; skipped without it, except in CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphflow import Store
from graphflow.serve.app import create_app
from tests.serve.conftest import HEADERS, run_server

pytestmark = pytest.mark.browser

PWN = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'



@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    store = Store(tmp_path / "runs.db")
    app = create_app(store, poll=0.1, work_dir=str(tmp_path / "work"))
    try:
        yield from run_server(app)
    finally:
        store.close()


def test_start_pause_answer_complete_in_chromium(browser: Any, server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shots = Path(os.environ.get("GRAPHFLOW_SERVE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=server, headers=HEADERS) as c:  # an older run, with markup in it
        hostile = c.post("/api/runs", json={"graph": "quickstart", "input": PWN}).json()["run_id"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    foreign: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: None if r.url.startswith(server) else foreign.append(r.url))

    # The runs list, with the start form.
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector(f"#runs-body tr[data-run='{hostile}']")
    assert page.locator("#start-graph").input_value() == "quickstart"
    page.fill("#start-input", "directed graphs")

    # Start the quickstart from the UI: the run page opens and the run pauses.
    page.click("#start-button")
    page.wait_for_url("**/#/runs/*")
    run_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("body[data-status='waiting']", timeout=20_000)
    page.wait_for_selector("#answer-form:not([hidden])")
    assert "Publish this text" in page.locator("#answer-question").inner_text()
    page.wait_for_selector("#diagram svg g.node[data-node='approve']")
    assert page.locator("#transcript .msg").first.inner_text().count("directed graphs") == 1
    page.wait_for_selector("#calls details.call")
    page.screenshot(path=str(shots / "serve-waiting.png"), full_page=True)

    # Answer in the browser: the transcript and the diagram follow until it completes.
    page.fill("#answer-input", "yes")
    page.click("#answer-button")
    page.wait_for_selector("body[data-status='completed']", timeout=20_000)
    page.wait_for_selector("body[data-ended='1']")
    assert page.locator("#answer-form").is_hidden()
    assert page.locator("#run-reason").inner_text() == "stop reason: published"
    assert page.locator("#transcript .msg").last.inner_text().endswith("yes")
    expect(page.locator("#steps-body tr")).to_have_count(7)
    page.wait_for_timeout(600)  # the last refresh of the diagram and the calls
    page.locator("#calls details.call summary").first.click()
    assert "prompt" in page.locator("#calls details.call").first.inner_text()
    page.screenshot(path=str(shots / "serve-completed.png"), full_page=True)

    with httpx.Client(base_url=server) as c:
        assert c.get(f"/api/runs/{run_id}").json()["status"] == "completed"

    # Markup in a run is shown as text, never run.
    page.goto(f"{server}/#/runs/{hostile}")
    page.wait_for_selector("#transcript .msg[data-seq='0']")
    assert page.locator("#transcript .msg[data-seq='0'] .body").inner_text() == PWN
    assert page.locator("#transcript img").count() == 0
    assert page.evaluate("window.__pwned") is None

    # Back to the list: both runs, with status, tokens and cost; filtered by status.
    page.goto(server + "/#/")
    page.wait_for_selector(f"#runs-body tr[data-run='{run_id}']")
    assert "completed" in page.locator(f"#runs-body tr[data-run='{run_id}']").inner_text()
    page.screenshot(path=str(shots / "serve-runs.png"))
    page.select_option("#filter-status", "completed")
    expect(page.locator("#runs-body tr")).to_have_count(1)  # (the page's CSP forbids eval)

    # An unknown run says so.
    page.goto(f"{server}/#/runs/nosuchrun")
    expect(page.locator("#notice")).to_contain_text("no run 'nosuchrun'")
    assert errors == [] and foreign == []
    page.close()
