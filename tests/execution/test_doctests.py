"""The examples in the execution modules' docstrings run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["graphflow.execution", "graphflow.execution.base", "graphflow.execution.codeblocks",
           "graphflow.execution.env", "graphflow.execution.local", "graphflow.execution.process",
           "graphflow.execution.registry", "graphflow.execution.code_result",
           "graphflow.execution.sandbox", "graphflow.execution.sandbox_view",
           "graphflow.execution.workspace"]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
