"""File tools confined to the run's work dir: read, write and list files.

Each takes a hidden :class:`~graphflow.tools.ToolContext` parameter that graphflow fills
with the run's work dir; a path that leaves the work dir (``..``, an absolute path
elsewhere, a symlink pointing out) is refused.
"""

from __future__ import annotations

from typing import Annotated

from graphflow.tools import ToolContext, current_tool_context

__all__ = ["list_files", "read_file", "write_file"]

MAX_READ_BYTES = 100_000
MAX_LISTED = 500


def _context(ctx: ToolContext | None) -> ToolContext:
    found = ctx or current_tool_context()
    if found is None:
        raise PermissionError("file tools work only inside a run's work dir; call them "
                              "from a tool node (or pass a ToolContext)")  # fmt: skip
    return found


def read_file(path: Annotated[str, "file path relative to the work dir"],
              ctx: ToolContext | None = None) -> str:  # fmt: skip
    """Read a text file from the work dir (at most 100 kB are returned).

    Example:
        >>> import tempfile, pathlib
        >>> wd = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (wd / "a.txt").write_text("hello")
        >>> read_file("a.txt", ToolContext(work_dir=wd))
        'hello'
    """
    target = _context(ctx).path(path)
    if not target.is_file():
        raise FileNotFoundError(f"no file {path!r} in the work dir; list_files shows what exists")
    data = target.read_bytes()
    text = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
    if len(data) > MAX_READ_BYTES:
        text += f"\n[truncated: the file has {len(data)} bytes, {MAX_READ_BYTES} shown]"
    return text


def write_file(path: Annotated[str, "file path relative to the work dir"],
               content: Annotated[str, "the complete new text of the file"],
               ctx: ToolContext | None = None) -> str:  # fmt: skip
    """Write (create or replace) a text file in the work dir; folders are created.

    Example:
        >>> import tempfile, pathlib
        >>> write_file("out/b.txt", "hi", ToolContext(work_dir=pathlib.Path(tempfile.mkdtemp())))
        'wrote 2 bytes to out/b.txt'
    """
    context = _context(ctx)
    target = context.path(path)
    if target == context.path("."):
        raise IsADirectoryError("give a file name, not the work dir itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8")
    target.write_bytes(data)
    return f"wrote {len(data)} bytes to {target.relative_to(context.path('.')).as_posix()}"


def list_files(path: Annotated[str, "folder relative to the work dir"] = ".",
               ctx: ToolContext | None = None) -> list[str]:  # fmt: skip
    """List the files under a folder of the work dir (recursively, folders end in '/').

    Example:
        >>> import tempfile, pathlib
        >>> wd = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (wd / "a.txt").write_text("x")
        >>> list_files(".", ToolContext(work_dir=wd))
        ['a.txt']
    """
    context = _context(ctx)
    root = context.path(".")
    folder = context.path(path)
    if not folder.is_dir():
        raise NotADirectoryError(f"{path!r} is not a folder in the work dir")
    found: list[str] = []
    for item in sorted(folder.rglob("*")):
        if len(found) >= MAX_LISTED:
            found.append(f"[… more than {MAX_LISTED} entries]")
            break
        try:
            inside = item.resolve().is_relative_to(root)
        except OSError:
            continue
        if inside:
            rel = item.relative_to(root).as_posix()
            found.append(rel + "/" if item.is_dir() else rel)
    return found
