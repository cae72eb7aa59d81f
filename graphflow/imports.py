"""Resolving ``module:attribute`` import paths named in graph files.

An import path whose first part is ``nodes`` names the node catalog
(``nodes.tools.text:review``). It is looked up where :func:`graphflow.catalog.node_module_roots`
says, in that order: the ``GRAPHFLOW_NODES_PATH`` directories, the project's own ``nodes``
(a ``nodes/`` folder or a ``nodes.py`` module beside the graph file, in its parent directory,
or in the current directory), then the catalog bundled with graphflow. The first place that
has the module wins; a place that lacks it is skipped (so a project with its own
``nodes/mytool.py`` still runs graphs that use the bundled ``nodes.tools.text``).

The bundled catalog is imported under its own name, ``graphflow.bundled.nodes``, so it
never takes the name ``nodes`` from a project. A project's catalog is imported as ``nodes``
— what the project's own ``import nodes`` gives — unless a different ``nodes`` was imported
already; then it is imported under a private name (``_graphflow_nodes_<hash>``), and its
modules should import one another relatively (``from .helpers import x``).

Any other path is imported the usual way, with the graph file's directory, its parent and the
current directory searched after the installed packages.

Every import path a graph file, a node catalog entry or a stored run names (function
nodes' ``call``, tools, routers' ``selection``, agents' ``postprocess``, scripted-model
functions) is resolved here, so this is where safe mode checks them
(:mod:`graphflow.import_policy`): in safe mode a ``nodes.…`` path names the bundled
catalog only, unless the user allowed ``nodes``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from graphflow.catalog import BUNDLED_PACKAGE, bundled_dir, node_module_roots
from graphflow.import_policy import (
    ImportPolicy,
    ImportRefused,
    NotImported,
    check_after_import,
    check_before_import,
    current_import_policy,
    safe_imports,
)

__all__ = ["CATALOG_NAME", "ImportPolicy", "ImportRefused", "NotImported",
           "current_import_policy", "import_graph_module", "resolve_import",
           "safe_imports"]  # fmt: skip

logger = logging.getLogger(__name__)

#: The first part of the import paths that name the node catalog (``nodes.tools.text``).
CATALOG_NAME = "nodes"


def resolve_import(path: str, base_dir: Path | None = None) -> Any:
    """Import ``package.module:attr`` (or ``package.module.attr``) and return the object.

    ``base_dir`` is the graph file's directory (``None``: only the current directory is
    searched); see the module docstring for where ``nodes.…`` paths are looked up.

    Raises:
        LookupError: with a message that says which part failed and how to fix it.

    Example:
        >>> resolve_import("nodes.tools.text:word_count")("two words")
        2
    """
    if ":" in path:
        module_name, _, attr = path.partition(":")
    else:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise LookupError(f"{path!r} is not an import path; write it as package.module:function")
    stand_in = check_before_import(path, module_name, attr)
    if stand_in is not None:
        return stand_in
    module = import_graph_module(module_name, base_dir)
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise LookupError(
                f"module {module_name!r} has no attribute {attr!r}; check the name after ':'"
            ) from None
    check_after_import(path, module, attr)
    logger.debug("resolved import path %s (module %s)", path, getattr(module, "__file__", "?"))
    return target


def import_graph_module(module_name: str, base_dir: Path | None = None) -> ModuleType:
    """Import the module ``module_name`` named by a graph file (``nodes.tools.text``,
    ``mypackage.tools``) and return it.

    Raises:
        LookupError: the module cannot be found, or importing it raised (the message has
            the module, the error, and how to fix it).
    """
    top, _, rest = module_name.partition(".")
    try:
        with _project_on_path(base_dir):
            if top == CATALOG_NAME:
                return _import_from_catalog(module_name, rest, base_dir)
            return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise LookupError(
            f"cannot import module {module_name!r} ({exc}); check the spelling, or install "
            "the package that provides it"
        ) from None
    except LookupError:
        raise
    except Exception as exc:
        raise LookupError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None


@contextmanager
def _project_on_path(base_dir: Path | None) -> Iterator[None]:
    """Let a module named by a graph import its project's own top-level modules."""
    extra = [str(d) for d in (base_dir, base_dir.parent if base_dir else None, Path.cwd())
             if d is not None and str(d) not in sys.path]  # fmt: skip
    sys.path.extend(extra)
    try:
        yield
    finally:
        for item in extra:
            if item in sys.path:
                sys.path.remove(item)


def _import_from_catalog(module_name: str, rest: str, base_dir: Path | None) -> ModuleType:
    bundled = bundled_dir("nodes")
    roots = node_module_roots(base_dir)
    policy = current_import_policy()
    if policy is not None and "nodes" not in policy.user_modules():
        roots = [r for r in roots if r == bundled]  # safe mode: the bundled catalog only
    for root in roots:
        if root == bundled:
            package = f"{BUNDLED_PACKAGE}.{CATALOG_NAME}"
        elif _has_module(root, rest):
            package = _load_project_catalog(root)
        else:
            continue  # looked up without importing: a catalog that lacks it stays unimported
        full = f"{package}.{rest}" if rest else package
        try:
            return importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if not _names_a_part_of(exc, full):
                raise  # the module exists but imports something missing
    looked = ", ".join(str(r) for r in roots) or "(no catalog exists)"
    raise LookupError(
        f"cannot import module {module_name!r}: no node catalog has it (looked in {looked}); "
        f"check the spelling, or add {rest.replace('.', '/') or 'nodes'}.py to your project's "
        "nodes/ folder"
    )


def _has_module(root: Path, rest: str) -> bool:
    """Whether the catalog at ``root`` (a folder, or a ``nodes.py`` file) has the module
    ``rest`` (``tools.text``; empty: the catalog itself), found without importing anything."""
    if not rest:
        return True
    search = [str(root)] if root.is_dir() else []
    for part in rest.split("."):
        spec = importlib.machinery.PathFinder.find_spec(part, search) if search else None
        if spec is None:
            return False
        search = list(spec.submodule_search_locations or [])
    return True


def _names_a_part_of(exc: ModuleNotFoundError, full: str) -> bool:
    """True when the missing module is ``full`` or one of its parent packages."""
    return exc.name is not None and (full == exc.name or full.startswith(exc.name + "."))


def _load_project_catalog(root: Path) -> str:
    """Import a project's ``nodes`` (folder or module at ``root``) and return the name it is
    imported under: ``nodes``, or a private name when another ``nodes`` is imported already."""
    current = sys.modules.get(CATALOG_NAME)
    if current is None or _location(current) == root:
        name = CATALOG_NAME
    else:
        name = f"_graphflow_nodes_{hashlib.sha1(str(root).encode()).hexdigest()[:12]}"
    if name in sys.modules:
        return name
    if root.is_dir():
        init = root / "__init__.py"
        if init.is_file():
            spec = importlib.util.spec_from_file_location(
                name, init, submodule_search_locations=[str(root)])  # fmt: skip
        else:  # a folder without __init__.py: a namespace package
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [str(root)]
    else:
        spec = importlib.util.spec_from_file_location(name, root)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        if spec.loader is not None:
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return name


def _location(module: ModuleType) -> Path | None:
    """The folder of a package, or the file of a module."""
    paths = list(getattr(module, "__path__", None) or [])
    where = paths[0] if paths else getattr(module, "__file__", None)
    try:
        return Path(where).resolve() if where else None
    except OSError:
        return None
