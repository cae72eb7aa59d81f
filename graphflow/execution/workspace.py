"""Saving code blocks as files inside a work dir, so that nothing in it can redirect them.

The work dir is shared with the code that runs there: code may plant a symbolic link, a
hard link, a FIFO or a renamed folder under the very name the next block is saved as.
Every file graphflow writes into a work dir is therefore written like this:

- the path is walked one component at a time from an open descriptor of the work dir
  (``openat`` semantics); each folder is opened with ``O_NOFOLLOW | O_DIRECTORY``, so a
  folder that is a symbolic link is refused instead of followed;
- an existing entry under the file's name is unlinked first (which removes a link, never
  what it points to), then the file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW``: it
  is always a new inode that graphflow made, never something the code prepared. If the
  code re-creates the name in between, creation fails and is retried a few times, then
  the block is refused.

Folders the walk creates, and the file, can be handed to another owner (the sandbox's
unprivileged user when graphflow runs as root) through their descriptors.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from graphflow.errors import ExecutionError
from graphflow.execution.codeblocks import CodeBlock

__all__ = ["block_name", "block_path", "inside", "open_inside", "write_block", "write_inside"]

_SUFFIX = {"python": ".py", "sh": ".sh", "bash": ".sh"}
_CREATE_ATTEMPTS = 50
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _check_name(name: str) -> PurePosixPath:
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name or "\0" in name:
        raise ExecutionError(
            f"file name {name!r} is refused: it must be a relative path inside the work dir "
            "without '..' (for example `# filename: src/main.py`)"
        )
    parts = [p for p in pure.parts if p != "."]
    if not parts:
        raise ExecutionError(f"file name {name!r} is refused: it names the work dir itself")
    return PurePosixPath(*parts)


def inside(work_dir: Path, name: str) -> Path:
    """The absolute path of ``name`` inside ``work_dir`` (a check on the name only).

    Raises:
        ExecutionError: ``name`` is absolute, contains ``..``, or resolves (through
            symlinks, as they are now) outside the work dir.

    Example:
        >>> inside(Path("/w"), "src/a.py").as_posix()
        '/w/src/a.py'
    """
    pure = _check_name(name)
    root = work_dir.resolve()
    path = (root / pure).resolve()
    if path != root and root not in path.parents:
        raise ExecutionError(
            f"file name {name!r} is refused: it resolves to {path}, outside the work dir"
        )
    return path


def block_name(block: CodeBlock) -> str:
    """The name ``block`` is saved under: its ``# filename:`` or ``tmp_code_<hash>.<ext>``.

    Example:
        >>> block_name(CodeBlock("sh", "echo 1"))[:9], block_name(CodeBlock("sh", "x", "a.sh"))
        ('tmp_code_', 'a.sh')
    """
    if block.filename:
        return block.filename
    digest = hashlib.sha256(block.code.encode()).hexdigest()[:12]
    return f"tmp_code_{digest}{_SUFFIX.get(block.language, '.txt')}"


def block_path(block: CodeBlock, work_dir: Path) -> Path:
    """Where ``block`` is saved (see :func:`block_name`), as an absolute path."""
    return work_dir.resolve() / _check_name(block_name(block))


def _refused(name: str, why: str) -> ExecutionError:
    return ExecutionError(f"file name {name!r} is refused: {why}")


def _open_folder(parent: int, part: str, name: str, *, create: bool,
                 owner: tuple[int, int] | None) -> int:  # fmt: skip
    for _ in range(_CREATE_ATTEMPTS):
        try:
            return os.open(part, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _refused(name, f"{part!r} is a symbolic link or not a folder; a path "
                                     "that goes through a link could lead outside the work "
                                     "dir") from None  # fmt: skip
            raise
        try:
            os.mkdir(part, 0o755, dir_fd=parent)
        except FileExistsError:
            continue  # someone made it meanwhile: open (and check) what is there now
        fd = os.open(part, _DIR_FLAGS, dir_fd=parent)
        if owner is not None:
            os.fchown(fd, *owner)
        return fd
    raise _refused(name, f"folder {part!r} keeps changing while it is being created")


def _walk(root: Path, parts: tuple[str, ...], name: str, *, create: bool,
          owner: tuple[int, int] | None) -> int:  # fmt: skip
    """An open descriptor of the folder ``parts`` inside ``root``, walked without
    following any link."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts:
            child = _open_folder(fd, part, name, create=create, owner=owner)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_inside(work_dir: Path, name: str, data: bytes, *, mode: int = 0o644,
                 owner: tuple[int, int] | None = None) -> Path:  # fmt: skip
    """Create (or replace) the file ``name`` inside ``work_dir`` with ``data``, following
    no link on the way (see the module docstring).

    Args:
        work_dir: the work dir (must exist).
        name: a relative path; missing folders are created.
        data: the file's bytes.
        mode: permission bits of the new file.
        owner: ``(uid, gid)`` to give the new file and the folders created, or ``None``.

    Returns:
        The file's absolute path.

    Raises:
        ExecutionError: the name leaves the work dir, goes through a symbolic link or a
            non-folder, names a folder, or keeps being re-created by someone else.

    Example:
        >>> import tempfile
        >>> wd = Path(tempfile.mkdtemp())
        >>> write_inside(wd, "src/a.txt", b"hi").read_text()
        'hi'
    """
    pure = _check_name(name)
    root = Path(work_dir).resolve()
    parent = _walk(root, pure.parts[:-1], name, create=True, owner=owner)
    leaf = pure.parts[-1]
    try:
        fd = -1
        for _ in range(_CREATE_ATTEMPTS):
            try:
                os.unlink(leaf, dir_fd=parent)
            except FileNotFoundError:
                pass
            except (IsADirectoryError, PermissionError) as exc:
                # unlink() of a folder fails with EISDIR (Linux) or EPERM (POSIX).
                if stat.S_ISDIR(os.stat(leaf, dir_fd=parent, follow_symlinks=False).st_mode):
                    raise _refused(name, "a folder of that name exists") from None
                raise exc
            try:
                fd = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, mode, dir_fd=parent)  # fmt: skip
                break
            except FileExistsError:
                continue
        if fd < 0:
            raise _refused(name, "something keeps re-creating it while it is being saved")
        try:
            if owner is not None:
                os.fchown(fd, *owner)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    finally:
        os.close(parent)
    return root / pure


def open_inside(work_dir: Path, name: str, flags: int = os.O_RDONLY) -> int:
    """Open the existing entry ``name`` inside ``work_dir`` without following any link,
    and return the descriptor (the caller closes it).

    ``O_NOFOLLOW`` and ``O_NONBLOCK`` are added (a FIFO planted by code does not block
    the open; check the type with ``os.fstat``).

    Raises:
        ExecutionError: the name leaves the work dir or goes through a symbolic link.
        FileNotFoundError: there is no such entry.
    """
    pure = _check_name(name) if name not in ("", ".") else PurePosixPath()
    root = Path(work_dir).resolve()
    parts = pure.parts
    if not parts:
        return os.open(root, _DIR_FLAGS)
    parent = _walk(root, parts[:-1], name, create=False, owner=None)
    try:
        return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                       dir_fd=parent)  # fmt: skip
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refused(name, "it is a symbolic link") from None
        raise
    finally:
        os.close(parent)


def write_block(block: CodeBlock, work_dir: Path, *,
                owner: tuple[int, int] | None = None) -> Path:  # fmt: skip
    """Save ``block`` in ``work_dir`` (created if missing) and return the file's path.

    The file is always created anew (see the module docstring); ``owner`` is
    ``(uid, gid)`` for the file and the folders created, when code runs as another user.

    Raises:
        ExecutionError: the name is refused (see :func:`write_inside`).
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    return write_inside(work_dir, block_name(block), (block.code + "\n").encode("utf-8"),
                        owner=owner)  # fmt: skip
