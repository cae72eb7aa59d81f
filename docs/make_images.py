"""Generate the pictures of docs/visualizing.md from real runs.

Runs the bundled quickstart graph into a temporary run database, answers its human
checkpoint, draws the graph and the run (graphviz), writes the run's HTML report and
photographs it in headless Chromium. Needs graphviz's ``dot`` and Debian's ``chromium``
(``bash .ci/browser.sh``); run it from anywhere::

    python docs/make_images.py            # writes docs/images/
    python docs/make_images.py OUT_DIR    # writes somewhere else (the tests do)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]  # fmt: skip


def png(graph: object, path: Path, *, overlay: object = None, rankdir: str = "TB") -> None:
    """Draw ``graph`` (with ``overlay``) to ``path`` at a resolution fit for docs."""
    from graphflow.render.dot import build_digraph

    dot = build_digraph(graph, overlay=overlay, rankdir=rankdir)
    dot.attr(dpi="110")
    path.write_bytes(dot.pipe(format="png"))
    print(f"wrote {path}")


def screenshot(report: Path, shots: dict[str, str | None]) -> None:
    """Photograph ``report``: one PNG per entry of ``shots`` (file name → node to click)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} is missing: install it with `bash .ci/browser.sh`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        for name, node in shots.items():
            page.goto(report.as_uri())
            page.wait_for_selector("body[data-ready='1']")
            if node is not None:
                page.locator(f"#diagram g.node[data-node='{node}']").click()
            page.screenshot(path=str(IMAGES / name))
            print(f"wrote {IMAGES / name}")
        browser.close()


def main() -> None:
    import graphflow
    from graphflow import Store
    from graphflow.render.overlay import RunOverlay
    from graphflow.report import write_report

    os.chdir(ROOT)
    IMAGES.mkdir(parents=True, exist_ok=True)
    graph = graphflow.load("graphs/quickstart.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "runs.db")
        work = Path(tmp) / "work"
        first = graph.run_sync(store=store, run_id="quickstart-demo", work_dir=work)
        assert first.status == "waiting", first.status
        png(graph, IMAGES / "quickstart-graph.png")
        png(graph, IMAGES / "quickstart-waiting.png",
            overlay=RunOverlay.from_store(store, first.run_id))  # fmt: skip
        done = graph.resume_sync(first.run_id, input="yes", store=store, work_dir=work)
        assert done.status == "completed", done.status
        png(graph, IMAGES / "quickstart-run.png", overlay=RunOverlay.from_store(store, done.run_id),
            rankdir="LR")  # fmt: skip
        report = write_report(store, done.run_id, Path(tmp) / "report.html", graph=graph)
        screenshot(report, {"report.png": None, "report-filtered.png": "review"})
        store.close()


if __name__ == "__main__":
    main()
