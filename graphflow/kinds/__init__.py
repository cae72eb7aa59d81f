"""The registry of node kinds.

Built-in kinds are registered by import path and imported on first use, so that a graph
that uses no agents never imports the model layer. Third-party kinds register with
:func:`register_kind` or through the ``graphflow.kinds`` entry-point group.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from graphflow.kinds.base import BuildContext, KindConfig, NodeContext, NodeKind

__all__ = [
    "BuildContext",
    "KindConfig",
    "NodeContext",
    "NodeKind",
    "get_kind",
    "kind_names",
    "register_kind",
]

_BUILTIN = {
    "function": "graphflow.kinds.builtin:FunctionKind",
    "human": "graphflow.kinds.builtin:HumanKind",
    "end": "graphflow.kinds.builtin:EndKind",
    "subgraph": "graphflow.kinds.subgraph:SubgraphKind",
    "agent": "graphflow.kinds.agent:AgentKind",
    "router": "graphflow.kinds.router:RouterKind",
    "tool": "graphflow.kinds.tool:ToolKind",
    "code": "graphflow.kinds.code:CodeKind",
    "retrieve": "graphflow.kinds.retrieve:RetrieveKind",
}
_REGISTRY: dict[str, type[NodeKind]] = {}
_entry_points_loaded = False


def register_kind(cls: type[NodeKind], name: str | None = None) -> type[NodeKind]:
    """Register a node kind class (usable as a decorator)."""
    key = name or cls.kind
    if not key:
        raise ValueError(f"{cls.__name__} has no `kind` name")
    _REGISTRY[key] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="graphflow.kinds"):
        try:
            register_kind(ep.load(), ep.name)
        except Exception:  # a broken plugin must not break graphflow; it shows up as unknown
            continue


def kind_names() -> list[str]:
    _load_entry_points()
    return sorted(set(_BUILTIN) | set(_REGISTRY))


def get_kind(name: str) -> type[NodeKind] | None:
    """The kind class for ``name``, or ``None`` when no such kind exists (or it cannot
    be imported)."""
    cls = _REGISTRY.get(name)
    if cls is not None:
        return cls
    target = _BUILTIN.get(name)
    if target is None:
        _load_entry_points()
        return _REGISTRY.get(name)
    module, attr = target.split(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None
    _REGISTRY[name] = cls
    return cls
