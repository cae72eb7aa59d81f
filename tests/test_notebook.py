"""The notebook under docs/ runs top to bottom in a Jupyter kernel, and graphflow's
objects display there as rich HTML (results, chats, run overlays) and SVG (graphs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import require

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"


def outputs_of(cell: dict) -> dict[str, str]:
    """The MIME bundles a cell displayed, merged (text of streams under 'stream')."""
    found: dict[str, str] = {}
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            found["stream"] = found.get("stream", "") + out["text"]
        for mime, value in (out.get("data") or {}).items():
            found[mime] = found.get(mime, "") + (value if isinstance(value, str) else "".join(value))
    return found


def test_the_notebook_runs_and_shows_rich_outputs(tmp_path: Path, has_dot: None) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    env = {k: v for k, v in os.environ.items()
           if k not in ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL")}
    try:
        client.execute(env={**env, "PYTHONPATH": str(ROOT)})
    except Exception as exc:  # a kernel that cannot start here is a missing requirement
        require("CellExecutionError" in type(exc).__name__, f"no Jupyter kernel: {exc}")
        raise
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    shown = [outputs_of(c) for c in cells]
    graph, result, overlay, chat, answer = shown[1], shown[2], shown[3], shown[4], shown[5]
    assert "<svg" in graph["image/svg+xml"]
    assert "graphflow-run" in result["text/html"] and "completed" in result["text/html"]
    assert "Graphs make agent conversations easy to follow because" in result["text/html"]
    assert "graphflow-overlay" in overlay["text/html"] and "<svg" in overlay["text/html"]
    assert "writer ×1" in overlay["text/html"]  # noqa: RUF001
    assert "graphflow-chat" in chat["text/html"] and "Resuming after a crash" in chat["text/html"]
    assert answer["stream"].strip() == "Paris. True"
