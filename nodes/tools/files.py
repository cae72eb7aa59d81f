"""File tools confined to the run's work dir: read, write and list files.

Each takes a hidden :class:`~graphflow.tools.ToolContext` parameter that graphflow fills
with the run's work dir; a path that leaves the work dir (``..``, an absolute path
elsewhere, a symlink pointing out) is refused. The work dir is shared with executed
code, so files are opened without following links (a link swapped in after the check is
refused, not followed), ``read_file`` reads only regular files and at most
:data:`MAX_READ_BYTES`, ``write_file`` always creates a new file (a planted link or hard
link is replaced, never written through), and ``list_files`` does not follow links.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated

from graphflow.errors import ExecutionError
from graphflow.execution.workspace import open_inside, write_inside
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


def _inside(context: ToolContext, path: str) -> tuple[Path, str]:
    """The work dir and ``path`` relative to it (checked, links resolved as they are now)."""
    root = context.path(".")
    return root, context.path(path).relative_to(root).as_posix()


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
    root, rel = _inside(_context(ctx), path)
    try:
        fd = open_inside(root, rel)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"no file {path!r} in the work dir; list_files shows what "
                                "exists") from None  # fmt: skip
    except ExecutionError as exc:
        raise PermissionError(str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileNotFoundError(f"{path!r} is not a regular file (a folder, FIFO or device); "
                                    "list_files shows the files")  # fmt: skip
        chunks, left = [], MAX_READ_BYTES
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    text = data.decode("utf-8", errors="replace")
    if info.st_size > len(data):
        text += f"\n[truncated: the file has {info.st_size} bytes, {len(data)} shown]"
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
    root, rel = _inside(_context(ctx), path)
    if rel == ".":
        raise IsADirectoryError("give a file name, not the work dir itself")
    data = content.encode("utf-8")
    try:
        write_inside(root, rel, data)
    except ExecutionError as exc:
        raise PermissionError(str(exc)) from None
    return f"wrote {len(data)} bytes to {rel}"


def list_files(path: Annotated[str, "folder relative to the work dir"] = ".",
               ctx: ToolContext | None = None) -> list[str]:  # fmt: skip
    """List the files under a folder of the work dir (recursively, folders end in '/';
    links are listed, not followed).

    Example:
        >>> import tempfile, pathlib
        >>> wd = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (wd / "a.txt").write_text("x")
        >>> list_files(".", ToolContext(work_dir=wd))
        ['a.txt']
    """
    root, rel = _inside(_context(ctx), path)
    folder = root / rel
    if not folder.is_dir():
        raise NotADirectoryError(f"{path!r} is not a folder in the work dir")
    found: list[str] = []
    for current, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        base = Path(current).relative_to(root)
        links = [d for d in dirs if (Path(current) / d).is_symlink()]
        dirs[:] = [d for d in dirs if d not in links]
        names = [(d, True) for d in dirs] + [(f, False) for f in [*files, *links]]
        for name, is_dir in sorted(names):
            if not is_dir and not _stays_inside(Path(current) / name, root):
                continue
            if len(found) >= MAX_LISTED:
                return [*sorted(found), f"[… more than {MAX_LISTED} entries]"]
            entry = (base / name).as_posix()
            found.append(entry + "/" if is_dir else entry)
    return sorted(found)


def _stays_inside(item: Path, root: Path) -> bool:
    """Whether a listed entry is no link, or a link that leads inside the work dir (links
    that lead out, or round in a loop, are left out of listings)."""
    if not item.is_symlink():
        return True
    try:
        return item.resolve(strict=True).is_relative_to(root)
    except (OSError, RuntimeError):  # a loop, or a dangling link
        return False
