"""Finding tools by import path (``pkg.mod:func``) or by name in the ``nodes.tools``
catalog.

A spec is one of:

- ``package.module:function`` (or ``package.module.function``) — that function;
- a bare name that is a module of ``nodes.tools`` (``files``) — every tool that module
  lists in ``__all__``;
- a bare name of a function in some ``nodes.tools`` module (``calculate``);
- a Python callable or :class:`Tool` (builder graphs).

``nodes.tools`` is the ``tools`` folder of every node catalog, the project's own before the
one bundled with graphflow (see :mod:`graphflow.imports`): a project's
``nodes/tools/mytool.py`` is found by ``mytool`` as the bundled ``files`` is by ``files``.

Import paths go through :func:`graphflow.imports.resolve_import`, so safe mode applies
to them. When safe mode imports nothing (``graphflow --safe validate``), bare catalog
names are looked up in the bundled catalog's source (its modules' ``__all__``) without
importing it.
"""

from __future__ import annotations

import ast
import pkgutil
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from graphflow.catalog import node_module_roots
from graphflow.errors import ToolError
from graphflow.imports import (
    NotImported,
    current_import_policy,
    import_graph_module,
    resolve_import,
)
from graphflow.tools.core import Tool, as_tool

__all__ = ["CATALOG_PACKAGE", "catalog_tool_modules", "load_tools", "resolve_tool"]

#: The package searched for bare tool names.
CATALOG_PACKAGE = "nodes.tools"


def catalog_tool_modules(base_dir: Path | None = None) -> list[str]:
    """The module names of the ``nodes.tools`` packages of every catalog (the project's and
    the bundled one; ``base_dir`` is the graph file's directory), sorted, each once.

    Example:
        >>> "calculator" in catalog_tool_modules()
        True
    """
    folders = [str(root / "tools") for root in node_module_roots(base_dir)
               if (root / "tools").is_dir()]  # fmt: skip
    return sorted({m.name for m in pkgutil.iter_modules(folders) if not m.name.startswith("_")})


def _catalog_module(module_name: str, base_dir: Path | None) -> ModuleType:
    try:
        return import_graph_module(f"{CATALOG_PACKAGE}.{module_name}", base_dir)
    except LookupError as exc:
        raise ToolError(f"tool module {CATALOG_PACKAGE}.{module_name}: {exc}") from None


def _module_tools(module_name: str, base_dir: Path | None) -> list[Tool]:
    module = _catalog_module(module_name, base_dir)
    names = getattr(module, "__all__", None)
    if not names:
        raise ToolError(f"tool module {CATALOG_PACKAGE}.{module_name} has no __all__; list its "
                        "tools there, or name one tool as module:function")  # fmt: skip
    return [as_tool(getattr(module, name)) for name in names]


def _catalog_source() -> dict[str, list[str]]:
    """The catalog's tool modules and their ``__all__``, read from source (nothing is
    imported: finding a top-level package runs none of its code)."""
    from graphflow.catalog import bundled_dir

    top, _, rest = CATALOG_PACKAGE.partition(".")
    root = bundled_dir(top)
    folder = root.joinpath(*rest.split(".")) if root is not None else None
    found: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.py")) if folder is not None else []:
        if path.stem.startswith("_"):
            continue
        names: list[str] = []
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                names = [str(v) for v in ast.literal_eval(node.value)]
        found[path.stem] = names
    return found


def _by_name_unimported(name: str) -> list[Tool]:
    catalog = _catalog_source()
    path = f"{CATALOG_PACKAGE}.{name}:"
    if name in catalog:
        return [as_tool(NotImported(path + fn)) for fn in catalog[name]]
    for module_name, names in catalog.items():
        if name in names:
            return [as_tool(NotImported(f"{CATALOG_PACKAGE}.{module_name}:{name}"))]
    known = ", ".join(catalog) or "(the catalog package is not installed)"
    raise ToolError(f"no tool named {name!r}; name a tool module of {CATALOG_PACKAGE} "
                    f"({known}), one of their functions, or an import path package.module:function")  # fmt: skip


def _by_name(name: str, base_dir: Path | None) -> list[Tool]:
    policy = current_import_policy()
    if policy is not None and not policy.import_modules:
        return _by_name_unimported(name)
    modules = catalog_tool_modules(base_dir)
    if name in modules:
        return _module_tools(name, base_dir)
    for module_name in modules:
        module = _catalog_module(module_name, base_dir)
        if name in getattr(module, "__all__", ()):
            return [as_tool(getattr(module, name))]
    known = ", ".join(modules) or "(no catalog has a tools folder)"
    raise ToolError(f"no tool named {name!r}; name a tool module of {CATALOG_PACKAGE} "
                    f"({known}), one of their functions, or an import path package.module:function")  # fmt: skip


def resolve_tool(spec: str | Callable[..., Any] | Tool, base_dir: Path | None = None) -> Tool:
    """The single tool ``spec`` names (see the module docstring for the forms).

    Raises:
        ToolError: it cannot be imported, is not callable, names several tools, or its
            signature cannot be described; the message says which and how to fix it.

    Example:
        >>> resolve_tool("nodes.tools.calculator:calculate").name
        'calculate'
    """
    tools = _resolve(spec, base_dir)
    if len(tools) != 1:
        raise ToolError(f"{spec!r} names {len(tools)} tools ({', '.join(t.name for t in tools)}); "
                        "name one as module:function, or use load_tools")  # fmt: skip
    return tools[0]


def _resolve(spec: str | Callable[..., Any] | Tool, base_dir: Path | None) -> list[Tool]:
    if not isinstance(spec, str):
        return [as_tool(spec)]
    text = spec.strip()
    if not text:
        raise ToolError("an empty tool name; write package.module:function or a tool name")
    try:
        if ":" not in text and "." not in text:
            return _by_name(text, base_dir)
        target = resolve_import(text, base_dir)
    except LookupError as exc:
        raise ToolError(f"tool {spec!r}: {exc}") from None
    except ImportError as exc:
        raise ToolError(f"tool {spec!r}: importing it failed: {exc}") from None
    if not callable(target):
        raise ToolError(f"tool {spec!r} is a {type(target).__name__}, not a function")
    return [as_tool(target)]


def load_tools(specs: Iterable[str | Callable[..., Any] | Tool],
               base_dir: Path | None = None) -> list[Tool]:  # fmt: skip
    """Resolve every spec and return the tools, checking that names are unique.

    This is what agent nodes use to offer tools to a model, and tool nodes to run them.

    Raises:
        ToolError: a spec cannot be resolved, or two tools share a name (all problems
            are listed, one per line).

    Example:
        >>> [t.name for t in load_tools(["calculate", "files"])]
        ['calculate', 'list_files', 'read_file', 'write_file']
    """
    tools: list[Tool] = []
    problems: list[str] = []
    for spec in specs:
        try:
            tools.extend(_resolve(spec, base_dir))
        except ToolError as exc:
            problems.append(str(exc))
    seen: set[str] = set()
    for t in tools:
        if t.name in seen:
            problems.append(f"two tools are named {t.name!r}; rename one with @tool(name=...)")
        seen.add(t.name)
    if problems:
        raise ToolError("\n".join(problems))
    return tools
