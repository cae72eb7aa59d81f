"""The Python examples of docs/models.md run, in order, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_models_doc_examples_run():
    blocks = python_blocks()
    assert len(blocks) >= 8
    namespace: dict[str, object] = {}
    for index, block in enumerate(blocks):
        try:
            exec(compile(block, f"{DOC.name}[python block {index}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is what matters
            pytest.fail(f"docs/models.md python block {index} failed: {exc!r}\n{block}")


def test_doc_mentions_every_dev_server_option():
    from graphflow.cli.dev_server import dev_model_server

    text = DOC.read_text(encoding="utf-8")
    for param in dev_model_server.params:
        for option in param.opts:
            assert option in text, f"{option} of dev-model-server is not documented"
