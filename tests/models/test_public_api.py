"""The public surface of graphflow.models and graphflow.testing, their docstring
examples, lazy imports, and the line between production and test doubles."""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import graphflow.models
import graphflow.testing

MODULES = sorted(
    f"{package.__name__}.{info.name}"
    for package in (graphflow.models, graphflow.testing)
    for info in pkgutil.iter_modules(package.__path__)
)


@pytest.mark.parametrize("package", [graphflow.models, graphflow.testing])
def test_all_is_sorted_and_importable(package):
    names = package.__all__
    # constants first, then classes, then functions, each alphabetical (isort style)
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in names:
        assert getattr(package, name) is not None


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


def test_the_model_layer_never_imports_its_test_doubles():
    """graphflow.testing depends on graphflow.models, never the other way: no module of
    the model package imports it, not even inside a function."""
    root = Path(graphflow.models.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("graphflow.testing")]
    assert offenders == []
    code = "import sys, graphflow.models; print(sorted(m for m in sys.modules if 'testing' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_graphflow_testing_does_not_import_pytest():
    code = "import sys, graphflow.testing; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_graphflow_imports_no_model_client_and_no_networkx():
    """Cold start: ``import graphflow`` (and so ``graphflow --help``) imports only what
    a step uses; the model client, its configs and scripts, and networkx load on use."""
    code = ("import sys, graphflow; print(sorted(m for m in sys.modules if m in "
            "('networkx', 'graphflow.models.client', 'graphflow.models.config', "
            "'graphflow.models.reply_script', 'graphflow.models.model_set')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert graphflow.models.ModelClient.__name__ == "ModelClient"  # still there, on use
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        graphflow.models.Nope  # noqa: B018
