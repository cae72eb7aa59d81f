"""Shared fixtures: a fresh run store, requirement checks that fail (not skip) in CI, and
the model test doubles of graphflow.testing (model_server, scripted_model, fast_retry,
response_cache)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from graphflow import Store

pytest_plugins = ["graphflow.testing.fixtures", "graphflow.testing.postgres"]

IN_CI = os.environ.get("GRAPHFLOW_CI") == "1"

# In CI the property-based tests draw the same examples on every run, so a red run points
# at the change under test, not at a newly drawn example; locally they draw fresh ones.
settings.register_profile("ci", derandomize=True, database=None)
if IN_CI:
    settings.load_profile("ci")


def require(condition: bool, reason: str) -> None:
    """Skip the test when ``condition`` is false, but fail it in CI, where every
    requirement must be installed."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


#: Debian's Chromium, and the flags it needs here: no network of its own at start-up
#: (the machine's closed network refuses those connections), no GPU, no sandbox as root.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright, for a test module (skipped without
    Chromium, graphviz or playwright; failed in CI)."""
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing; install it with "
            "`bash .ci/browser.sh` (Debian's chromium package)")  # fmt: skip
    require(shutil.which("dot") is not None, "graphviz `dot` is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed; pip install -e '.[dev]'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "runs.db")
    yield s
    s.close()


@pytest.fixture
def has_dot() -> None:
    require(shutil.which("dot") is not None, "graphviz `dot` is not installed")
