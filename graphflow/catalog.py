"""Finding the node catalog (``nodes``) and graph files, the project's own before the bundled.

A node with ``use: critic`` takes its kind and options from ``critic.yaml`` in the first
catalog directory that has one (options set on the node itself win). Catalog directories,
in order:

1. ``GRAPHFLOW_NODES_PATH`` (``os.pathsep``-separated directories);
2. ``nodes/`` beside the graph file, then ``nodes/`` in its parent directory;
3. ``nodes/`` in the current directory;
4. the catalog bundled with graphflow (installed as ``graphflow.bundled.nodes``).

Each directory is searched for ``NAME.yaml``/``NAME.yml``/``NAME.json`` at its top level
and one folder deep (``nodes/agents/critic.yaml``). Import paths that start with ``nodes.``
(``nodes.tools.text:review``) are looked up in the same places in the same order, where a
project's ``nodes.py`` module counts too (see :mod:`graphflow.imports`).

A graph named without a path (``graphflow run quickstart``) is ``graphs/NAME.yaml`` in the
current directory, else the bundled graph of that name (``graphflow.bundled.graphs``).

The bundled folders are located without importing them.
"""

from __future__ import annotations

import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "BUNDLED_PACKAGE",
    "bundled_dir",
    "catalog_dirs",
    "find_graph_file",
    "find_node_definition",
    "node_module_roots",
]

_SUFFIXES = (".yaml", ".yml", ".json")


#: The package the bundled folders are installed under: ``nodes`` -> ``graphflow.bundled.nodes``.
BUNDLED_PACKAGE = "graphflow.bundled"
_BUNDLED_FOLDERS = ("nodes", "graphs")


@lru_cache(maxsize=4)
def bundled_dir(folder: str) -> Path | None:
    """The directory of a bundled folder, ``"nodes"`` or ``"graphs"``, or ``None`` when this
    installation lacks it. Located without importing the folder's package.

    Raises:
        ValueError: ``folder`` is neither ``"nodes"`` nor ``"graphs"``.

    Example:
        >>> (bundled_dir("graphs") / "quickstart.yaml").is_file()
        True
    """
    if folder not in _BUNDLED_FOLDERS:
        raise ValueError(f"no bundled folder {folder!r}; use one of {', '.join(_BUNDLED_FOLDERS)}")
    try:
        spec = importlib.util.find_spec(f"{BUNDLED_PACKAGE}.{folder}")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _env_dirs() -> list[Path]:
    return [Path(item) for item in os.environ.get("GRAPHFLOW_NODES_PATH", "").split(os.pathsep)
            if item]  # fmt: skip


def _project_dirs(base_dir: Path | None) -> list[Path]:
    """Where a project's ``nodes`` may sit: beside the graph file, its parent, the current
    directory."""
    dirs = [base_dir, base_dir.parent] if base_dir is not None else []
    return [*dirs, Path.cwd()]


def _unique_existing(paths: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    out = []
    for path in paths:
        try:
            resolved = path.resolve()
        except OSError:
            continue
        if resolved not in seen and resolved.exists():
            seen.add(resolved)
            out.append(resolved)
    return out


def catalog_dirs(base_dir: Path | None = None) -> list[Path]:
    """The catalog directories searched for ``use: NAME``, in order (see the module docstring);
    only those that exist, each once, resolved."""
    dirs = [*_env_dirs(), *(d / "nodes" for d in _project_dirs(base_dir))]
    bundled = bundled_dir("nodes")
    if bundled is not None:
        dirs.append(bundled)
    return [d for d in _unique_existing(dirs) if d.is_dir()]


def node_module_roots(base_dir: Path | None = None) -> list[Path]:
    """Where the ``nodes`` of an import path ``nodes.…:name`` may come from, in order.

    Each entry is a directory that plays the package ``nodes`` (a ``GRAPHFLOW_NODES_PATH``
    directory, a project's ``nodes/`` folder, or the bundled catalog, which is always last
    unless it came earlier), or a project's ``nodes.py`` module. In one directory, a
    ``nodes/`` package with an ``__init__.py`` is the only entry (it hides a ``nodes.py``, as
    in Python); otherwise ``nodes.py`` comes first, then the ``nodes/`` folder, so that a
    project may keep both a ``nodes.py`` module and tool modules in ``nodes/``.

    Example:
        >>> node_module_roots()[-1] == bundled_dir("nodes")
        True
    """
    roots = [d for d in _env_dirs() if d.is_dir()]
    for directory in _project_dirs(base_dir):
        package, module = directory / "nodes", directory / "nodes.py"
        if (package / "__init__.py").is_file():
            roots.append(package)  # Python's own choice: the package hides a nodes.py
            continue
        if module.is_file():
            roots.append(module)
        if package.is_dir():
            roots.append(package)
    bundled = bundled_dir("nodes")
    if bundled is not None:
        roots.append(bundled)
    return _unique_existing(roots)


def _candidates(directory: Path, name: str) -> list[Path]:
    found = [directory / f"{name}{s}" for s in _SUFFIXES]
    found += [sub / f"{name}{s}" for sub in sorted(directory.iterdir()) if sub.is_dir()
              for s in _SUFFIXES]  # fmt: skip
    return [p for p in found if p.is_file()]


def find_node_definition(name: str, base_dir: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Return the file and options of catalog entry ``name``.

    Raises:
        LookupError: no catalog directory has it (the message lists where it looked).
        ValueError: the file exists but is not a mapping of node options.
    """
    dirs = catalog_dirs(base_dir)
    for directory in dirs:
        for path in _candidates(directory, name):
            try:
                text = path.read_text(encoding="utf-8")
                data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            except (OSError, ValueError, yaml.YAMLError, RecursionError, TypeError,
                    KeyError, AttributeError, IndexError) as exc:  # fmt: skip
                raise ValueError(f"{path} cannot be read as a node definition "
                                 f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
            if not isinstance(data, dict):
                raise ValueError(f"{path} must be a mapping of node options")
            return path, data
    looked = ", ".join(str(d) for d in dirs) or "(no catalog directory exists)"
    raise LookupError(f"no catalog entry {name!r} (looked in {looked})")


def find_graph_file(name: str) -> Path | None:
    """Resolve ``name`` to a graph file, or ``None``: a path to a file, else the name of a
    graph in ``graphs/`` of the current directory (``mine`` -> ``graphs/mine.yaml``), else
    the name of a bundled graph (``quickstart``)."""
    path = Path(name)
    if path.is_file():
        return path
    bases = [Path.cwd() / "graphs"]
    bundled = bundled_dir("graphs")
    if bundled is not None:
        bases.append(bundled)
    for base in bases:
        for suffix in ("", *_SUFFIXES):
            candidate = base / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None
