"""The examples in the tool modules' docstrings run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["graphflow.tools", "graphflow.tools.calls", "graphflow.tools.context",
           "graphflow.tools.core", "graphflow.tools.docstrings", "graphflow.tools.resolve",
           "graphflow.tools.schema", "graphflow.bundled.nodes.tools.calculator",
           "graphflow.bundled.nodes.tools.clock", "graphflow.bundled.nodes.tools.files",
           "graphflow.bundled.nodes.tools.jsonquery", "graphflow.bundled.nodes.tools.web"]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
