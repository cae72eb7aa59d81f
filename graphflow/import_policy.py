"""Safe mode: which import paths graph files, node catalogs and stored runs may name.

A graph file, a catalog entry or a run stored in a database can name any import path
(``module:function``) — they are code-equivalent. In safe mode (``graphflow --safe``, or
:func:`safe_imports` in Python) every path is checked by the :class:`ImportPolicy` in
force before anything is imported; :func:`graphflow.imports.resolve_import`, the one
function that resolves import paths, calls :func:`check_before_import` and
:func:`check_after_import`. See docs/security.md for the trust model.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

__all__ = [
    "ALLOW_IMPORTS_VARIABLE",
    "BUNDLED_IMPORTS",
    "ImportPolicy",
    "ImportRefused",
    "NotImported",
    "check_after_import",
    "check_before_import",
    "current_import_policy",
    "safe_imports",
]

#: Modules a graph may always name in safe mode: the bundled node catalog, and the
#: graphflow functions that pattern graphs name.
BUNDLED_IMPORTS = ("nodes", "graphflow.bundled.nodes", "graphflow.patterns.summary",
                   "graphflow.patterns.sequential")
#: More allowed modules, comma-separated (the CLI's ``--allow-import`` adds to them).
ALLOW_IMPORTS_VARIABLE = "GRAPHFLOW_ALLOW_IMPORTS"
_ENTRY_POINT_GROUPS = "graphflow"


class ImportRefused(LookupError):
    """Safe mode refused an import path (the message says why and how to allow it)."""


@lru_cache(maxsize=1)
def _entry_point_modules() -> tuple[str, ...]:
    """The modules of installed packages' ``graphflow*`` entry points (registered kinds
    and plugins): installing a package is the user's decision to trust it."""
    from importlib.metadata import distributions

    found = {ep.module for dist in distributions() for ep in dist.entry_points
             if ep.group == _ENTRY_POINT_GROUPS or ep.group.startswith(_ENTRY_POINT_GROUPS + ".")}  # fmt: skip
    return tuple(sorted(found))


def _matches(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@dataclass(frozen=True)
class ImportPolicy:
    """Which import paths graph files, node catalogs and stored runs may name.

    Allowed: the bundled catalog and pattern helpers (:data:`BUNDLED_IMPORTS`), the
    modules of installed ``graphflow*`` entry points, the modules in ``allow`` and in
    ``GRAPHFLOW_ALLOW_IMPORTS`` — each with its submodules. Also refused in safe mode:
    attribute paths through private names (``_x``) or through modules
    (``nodes.tools.files:os.system``), functions and classes that an allowed module
    merely imported from a module that is not allowed, and a bundled or registered
    module that cannot be found where it is installed (a folder next to the graph
    cannot stand in for it).

    Attributes:
        allow: further module names the user trusts.
        import_modules: ``False`` checks paths without importing anything (what
            ``graphflow --safe validate`` does): resolving returns :class:`NotImported`.

    Example:
        >>> policy = ImportPolicy(allow=("mytools",))
        >>> policy.allows("mytools.search"), policy.allows("nodes.tools.text"), policy.allows("os")
        (True, True, False)
    """

    allow: tuple[str, ...] = ()
    import_modules: bool = True

    def user_modules(self) -> tuple[str, ...]:
        """The modules the user named (``allow`` and ``GRAPHFLOW_ALLOW_IMPORTS``)."""
        named = os.environ.get(ALLOW_IMPORTS_VARIABLE, "").replace(os.pathsep, ",").split(",")
        return tuple(m.strip() for m in (*self.allow, *named) if m.strip())

    def allows(self, module: str) -> bool:
        """Whether import paths in ``module`` may be named."""
        return _matches(module, (*BUNDLED_IMPORTS, *_entry_point_modules(), *self.user_modules()))

    def check(self, path: str, module: str, attr: str) -> None:
        """Refuse ``path`` unless this policy allows it (before anything is imported).

        Raises:
            ImportRefused: with what is refused and how to allow it.
        """
        if not self.allows(module):
            raise ImportRefused(
                f"import path {path!r} is refused in safe mode: module {module!r} is not the "
                f"bundled catalog ({', '.join(BUNDLED_IMPORTS)}), a registered entry point or "
                f"a module you allowed; if you trust it, allow it with --allow-import "
                f"{module.split('.')[0]} (or {ALLOW_IMPORTS_VARIABLE}={module.split('.')[0]})"
            )
        if any(part.startswith("_") for part in attr.split(".")):
            raise ImportRefused(f"import path {path!r} is refused in safe mode: it names a "
                                "private attribute; name a public function")  # fmt: skip
        if module == "nodes" or module.startswith("nodes."):
            return  # resolved only in the bundled catalog in safe mode (graphflow.imports)
        if not _matches(module, self.user_modules()):
            top = module.split(".")[0]
            if top in sys.modules or _installed(top):
                return
            raise ImportRefused(
                f"import path {path!r} is refused in safe mode: module {top!r} is not "
                "installed, and in safe mode a folder next to the graph cannot stand in for it"
            )

    def check_target(self, path: str, module: ModuleType, attr: str) -> None:
        """Refuse a resolved path that leaves the allowed modules through attributes.

        Raises:
            ImportRefused: an attribute on the way is a module, or the target was defined
                in a module that is not allowed.
        """
        target: Any = module
        for part in attr.split("."):
            target = getattr(target, part)
            if isinstance(target, ModuleType):
                raise ImportRefused(f"import path {path!r} is refused in safe mode: "
                                    f"{part!r} is a module, not a function of {module.__name__!r}")  # fmt: skip
        inner = getattr(target, "__func__", target)
        defined_in = getattr(inner, "__module__", None)
        if (inspect.isroutine(inner) or inspect.isclass(inner)) and defined_in and \
                not self.allows(defined_in):  # fmt: skip
            raise ImportRefused(
                f"import path {path!r} is refused in safe mode: it is {defined_in}."
                f"{getattr(inner, '__qualname__', attr)}, which {module.__name__!r} only imports; "
                f"name it by its own module if that is allowed"
            )


def _installed(top: str) -> bool:
    """Whether top-level module ``top`` is found on the interpreter's own path (without
    the graph's folder). Finding a top-level module imports nothing."""
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


class NotImported:
    """What resolving gives when the policy imports nothing: a stand-in that names the
    path and refuses to be called.

    Example:
        >>> stand_in = NotImported("nodes.tools.text:word_count")
        >>> stand_in.__name__, callable(stand_in)
        ('word_count', True)
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.__module__, _, attr = path.rpartition(":") if ":" in path else path.rpartition(".")
        self.__name__ = self.__qualname__ = attr.rsplit(".", 1)[-1]
        self.__doc__ = f"{path} (not imported: checked only)"
        self.__signature__ = inspect.Signature()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise LookupError(f"{self.path} was checked, not imported (safe-mode validation); "
                          "load the graph without validation to run it")  # fmt: skip

    def __repr__(self) -> str:
        return f"NotImported({self.path!r})"


_POLICY: contextvars.ContextVar[ImportPolicy | None] = contextvars.ContextVar(
    "graphflow_import_policy", default=None
)


def current_import_policy() -> ImportPolicy | None:
    """The policy in force here, or ``None`` (not in safe mode: any path may be named).

    Example:
        >>> current_import_policy() is None
        True
    """
    return _POLICY.get()


@contextlib.contextmanager
def safe_imports(allow: Iterable[str] = (), *, import_modules: bool = True
                 ) -> Iterator[ImportPolicy]:  # fmt: skip
    """Safe mode inside the ``with`` block: loading, compiling and resuming graphs there
    may only resolve import paths the policy allows (see :class:`ImportPolicy`).

    Args:
        allow: module names the user trusts (and their submodules).
        import_modules: ``False`` to check import paths without importing anything.

    Example:
        >>> from graphflow.imports import resolve_import
        >>> with safe_imports():
        ...     resolve_import("os:system")
        Traceback (most recent call last):
        ...
        graphflow.import_policy.ImportRefused: import path 'os:system' is refused in safe mode: module 'os' is not the bundled catalog (nodes, graphflow.bundled.nodes, graphflow.patterns.summary, graphflow.patterns.sequential), a registered entry point or a module you allowed; if you trust it, allow it with --allow-import os (or GRAPHFLOW_ALLOW_IMPORTS=os)
    """
    policy = ImportPolicy(allow=tuple(allow), import_modules=import_modules)
    token = _POLICY.set(policy)
    try:
        yield policy
    finally:
        _POLICY.reset(token)


def check_before_import(path: str, module: str, attr: str) -> Any:
    """Safe mode's check before importing: refuse, or stand in without importing, or let
    the import go ahead (``None``)."""
    policy = _POLICY.get()
    if policy is None:
        return None
    policy.check(path, module, attr)
    return None if policy.import_modules else NotImported(path)


def check_after_import(path: str, module: ModuleType, attr: str) -> None:
    """Safe mode's check of a resolved path (see :meth:`ImportPolicy.check_target`)."""
    policy = _POLICY.get()
    if policy is not None:
        policy.check_target(path, module, attr)
