"""What the spec modules share: the strict pydantic base, the markers written in place of
Python objects a file cannot hold, and pydantic errors as problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from graphflow.errors import Problem

__all__ = ["COMMON_NODE_KEYS", "NOT_SERIALIZABLE", "import_path_of", "is_not_serializable_marker",
           "not_serializable", "serializable"]  # fmt: skip

COMMON_NODE_KEYS = ("kind", "use", "description", "join", "max_visits", "label")
NOT_SERIALIZABLE = "<not serializable: "


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)


def _pydantic_problems(exc: ValidationError, where: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        what = err["msg"]
        if err["type"] == "extra_forbidden":
            what = "unknown option"
        out.append(Problem(f"{where}{': ' + loc if loc else ''}", what))
    return out


def not_serializable(obj: Any) -> str:
    """The marker written to a file in place of a Python object (a callable)."""
    name = getattr(obj, "__qualname__", type(obj).__name__)
    code = getattr(obj, "__code__", None)
    place = f" at {Path(code.co_filename).name}:{code.co_firstlineno}" if code else ""
    return f"{NOT_SERIALIZABLE}{name}{place}>"


def serializable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, dict):
        return {k: serializable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [serializable(v) for v in value]
    if isinstance(value, BaseModel) and hasattr(value, "to_file") and hasattr(value, "nodes"):
        return value.to_file()  # a GraphSpec
    to_spec = getattr(value, "to_spec", None)
    if callable(to_spec):
        return to_spec().to_file()
    path = import_path_of(value)
    return path if path is not None else not_serializable(value)


def import_path_of(obj: Any) -> str | None:
    """``module:qualname`` when importing that gives back ``obj``; else ``None``."""
    import importlib

    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except Exception:
        return None
    return f"{module}:{qualname}" if target is obj else None


def is_not_serializable_marker(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(NOT_SERIALIZABLE)
