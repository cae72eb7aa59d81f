"""Saving code blocks as files inside a work dir, refusing any path that leaves it."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from graphflow.errors import ExecutionError
from graphflow.execution.codeblocks import CodeBlock

__all__ = ["block_path", "inside", "write_block"]

_SUFFIX = {"python": ".py", "sh": ".sh", "bash": ".sh"}


def inside(work_dir: Path, name: str) -> Path:
    """The absolute path of ``name`` inside ``work_dir``.

    Raises:
        ExecutionError: ``name`` is absolute, contains ``..``, or resolves (through
            symlinks) outside the work dir.

    Example:
        >>> inside(Path("/w"), "src/a.py").as_posix()
        '/w/src/a.py'
    """
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name:
        raise ExecutionError(
            f"file name {name!r} is refused: it must be a relative path inside the work dir "
            "without '..' (for example `# filename: src/main.py`)"
        )
    root = work_dir.resolve()
    path = (root / pure).resolve()
    if path != root and root not in path.parents:
        raise ExecutionError(
            f"file name {name!r} is refused: it resolves to {path}, outside the work dir"
        )
    return path


def block_path(block: CodeBlock, work_dir: Path) -> Path:
    """Where ``block`` is saved: its ``# filename:`` or ``tmp_code_<hash>.<ext>``."""
    if block.filename:
        return inside(work_dir, block.filename)
    digest = hashlib.sha256(block.code.encode()).hexdigest()[:12]
    return work_dir.resolve() / f"tmp_code_{digest}{_SUFFIX.get(block.language, '.txt')}"


def write_block(block: CodeBlock, work_dir: Path) -> Path:
    """Save ``block`` in ``work_dir`` (created if missing) and return the file's path."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = block_path(block, work_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.code + "\n", encoding="utf-8")
    return path
