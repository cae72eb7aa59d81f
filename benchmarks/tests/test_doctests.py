"""The examples in the benchmark modules' docstrings run and hold."""

from __future__ import annotations

import doctest

import bench_step_parts
import floor
import measure
import pytest
import report
import setup_venv


@pytest.mark.parametrize("module", [measure, report, floor, setup_venv, bench_step_parts],
                         ids=lambda m: m.__name__)  # fmt: skip
def test_docstring_examples(module) -> None:
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failed == 0
