"""Finding reusable node definitions (the ``nodes/`` catalog) and bundled graph files.

A node with ``use: critic`` takes its kind and options from ``critic.yaml`` in the first
catalog directory that has one (options set on the node itself win). Catalog directories,
in order:

1. ``GRAPHFLOW_NODES_PATH`` (``os.pathsep``-separated directories);
2. ``nodes/`` beside the graph file, then ``nodes/`` in its parent directory;
3. ``nodes/`` in the current directory;
4. the ``nodes`` catalog installed with graphflow.

Each directory is searched for ``NAME.yaml``/``NAME.yml``/``NAME.json`` at its top level
and one folder deep (``nodes/agents/critic.yaml``).
"""

from __future__ import annotations

import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["bundled_dir", "catalog_dirs", "find_graph_file", "find_node_definition"]

_SUFFIXES = (".yaml", ".yml", ".json")


@lru_cache(maxsize=4)
def bundled_dir(package: str) -> Path | None:
    """The directory of an installed top-level data package (``nodes`` or ``graphs``),
    located without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def catalog_dirs(base_dir: Path | None = None) -> list[Path]:
    dirs: list[Path] = []
    for item in os.environ.get("GRAPHFLOW_NODES_PATH", "").split(os.pathsep):
        if item:
            dirs.append(Path(item))
    if base_dir is not None:
        dirs += [base_dir / "nodes", base_dir.parent / "nodes"]
    dirs.append(Path.cwd() / "nodes")
    bundled = bundled_dir("nodes")
    if bundled is not None:
        dirs.append(bundled)
    seen: set[Path] = set()
    out = []
    for d in dirs:
        try:
            resolved = d.resolve()
        except OSError:
            continue
        if resolved not in seen and resolved.is_dir():
            seen.add(resolved)
            out.append(resolved)
    return out


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
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            if not isinstance(data, dict):
                raise ValueError(f"{path} must be a mapping of node options")
            return path, data
    looked = ", ".join(str(d) for d in dirs) or "(no catalog directory exists)"
    raise LookupError(f"no catalog entry {name!r} (looked in {looked})")


def find_graph_file(name: str) -> Path | None:
    """Resolve ``name`` to a graph file: a path, or the name of a bundled graph."""
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
