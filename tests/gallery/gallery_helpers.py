"""What the tests of the gallery graphs share: where the graphs are, a clean model
environment, and running a graph offline to its end."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from graphflow import Store, load
from graphflow.results import RunResult
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "graphs" / "gallery"
MODEL_ENV = ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL")


def needs(module: str) -> None:
    """Skip (fail in CI) when an optional library of the gallery extra is missing."""
    require(importlib.util.find_spec(module) is not None,
            f"{module} is not installed: pip install -e '.[gallery]'")  # fmt: skip


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model configured in the environment: the graph's scripted models answer."""
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)


def run_offline(name: str, tmp_path: Path, input: str = "Solve the task.",
                **kwargs: Any) -> tuple[RunResult, Store]:  # fmt: skip
    """Run ``graphs/gallery/NAME.yaml`` into a fresh store; the caller closes the store."""
    graph = load(str(GALLERY / f"{name}.yaml"))
    store = Store(tmp_path / "runs.db")
    result = graph.run_sync(input, store=store, work_dir=tmp_path / "work", **kwargs)
    return result, store
