"""The public surface of graphflow.models, its docstring examples, and lazy imports."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys

import pytest

import graphflow.models

MODULES = sorted(
    f"graphflow.models.{info.name}" for info in pkgutil.iter_modules(graphflow.models.__path__)
)


def test_all_is_sorted_and_importable():
    names = graphflow.models.__all__
    # constants first, then classes, then functions, each alphabetical (isort style)
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in names:
        assert getattr(graphflow.models, name) is not None


@pytest.mark.parametrize("module_name", MODULES)
def test_every_module_declares_all_and_its_examples_run(module_name: str):
    module = importlib.import_module(module_name)
    assert isinstance(module.__all__, list) and module.__all__
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ names missing {name}"
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_importing_the_model_layer_does_not_import_openai():
    code = "import sys, graphflow.models; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
