"""What a tool may know about the run that calls it: :class:`ToolContext`.

A tool that declares a parameter annotated ``ToolContext`` (or ``ToolContext | None``)
receives it; the parameter is left out of the tool's JSON schema, so the model never
sees or fills it. Code deeper down can call :func:`current_tool_context` instead.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphflow.errors import ToolError

__all__ = ["ToolContext", "current_tool_context", "tool_context_scope"]


@dataclass(frozen=True)
class ToolContext:
    """The run a tool call belongs to.

    Attributes:
        work_dir: the run's work dir (where file tools read and write), or ``None``.
        run_id, node_id, step: where the call happens.
        call_id: the id of the tool call in the model's message.
        options: the tool node's ``options`` (for example ``allow_http``).
        emit: sends an event to the run's event stream.

    Example:
        >>> ctx = ToolContext(work_dir=Path("/w"))
        >>> ctx.path("notes/a.txt").as_posix()
        '/w/notes/a.txt'
    """

    work_dir: Path | None = None
    run_id: str = ""
    node_id: str = ""
    step: int = 0
    call_id: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    emit: Callable[[Any], None] = lambda event: None

    def path(self, name: str | Path = ".") -> Path:
        """The absolute path of ``name`` inside the work dir.

        Relative names are taken from the work dir; symlinks are followed. A path that
        ends up outside the work dir is refused.

        Raises:
            ToolError: there is no work dir, or the path leaves it.
        """
        if self.work_dir is None:
            raise ToolError("this tool needs the run's work dir, and the call has none; "
                            "call it from a tool node, or pass a ToolContext with work_dir")  # fmt: skip
        root = Path(self.work_dir).resolve()
        target = (root / Path(name)).resolve()
        if target != root and root not in target.parents:
            raise ToolError(f"path {str(name)!r} is outside the work dir; use a path relative "
                            "to the work dir, without '..'")  # fmt: skip
        return target


_CURRENT: contextvars.ContextVar[ToolContext | None] = contextvars.ContextVar(
    "graphflow_tool_context", default=None
)


def current_tool_context() -> ToolContext | None:
    """The context of the tool call running in this task or thread, if any.

    Example:
        >>> current_tool_context() is None
        True
    """
    return _CURRENT.get()


@contextmanager
def tool_context_scope(context: ToolContext | None) -> Iterator[None]:
    """Make ``context`` the current tool context inside the ``with`` block."""
    token = _CURRENT.set(context)
    try:
        yield
    finally:
        _CURRENT.reset(token)
