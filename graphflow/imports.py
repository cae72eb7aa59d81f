"""Resolving ``module:attribute`` import paths named in graph files."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

__all__ = ["resolve_import"]


def resolve_import(path: str, base_dir: Path | None = None) -> Any:
    """Import ``package.module:attr`` (or ``package.module.attr``) and return the object.

    The graph file's directory and its parent are searched too, so a graph next to a
    ``nodes/`` folder can name ``nodes.tools.text:word_count``.

    Raises:
        LookupError: with a message that says which part failed and how to fix it.
    """
    if ":" in path:
        module_name, _, attr = path.partition(":")
    else:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise LookupError(f"{path!r} is not an import path; write it as package.module:function")
    extra = [str(d) for d in (base_dir, base_dir.parent if base_dir else None, Path.cwd())
             if d is not None and str(d) not in sys.path]  # fmt: skip
    sys.path.extend(extra)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise LookupError(
            f"cannot import module {module_name!r} ({exc}); check the spelling, or install "
            "the package that provides it"
        ) from None
    except Exception as exc:
        raise LookupError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    finally:
        for item in extra:
            if item in sys.path:
                sys.path.remove(item)
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise LookupError(
                f"module {module_name!r} has no attribute {attr!r}; check the name after ':'"
            ) from None
    return target
