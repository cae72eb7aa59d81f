"""Finding the files an execution produced in its work dir, to keep them as artifacts.

Before code runs, :func:`scan` notes every file of the work dir (name, size, change time,
inode); after it ran, :func:`produced` reads the files that are new or changed. What is
read follows the work dir's rules (:mod:`graphflow.execution.workspace`): no symbolic
link is followed, only regular files are read (a FIFO the code planted is skipped), and
hidden entries (``.cache/``, ``.config/`` — where libraries such as matplotlib keep
their caches under ``HOME``, which is the work dir) and ``__pycache__`` are left out, as
are the files the code blocks were saved as. Text files are redacted
(:func:`graphflow.secrets.redact`) before they are handed back: keys are never kept.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphflow.errors import ExecutionError
from graphflow.execution.workspace import open_inside
from graphflow.secrets import redact

__all__ = ["MAX_FILES", "ProducedFile", "keep_artifacts", "media_type", "produced", "scan"]

#: The most files one execution keeps (and entries :func:`scan` looks at: ten times it).
MAX_FILES = 50
logger = logging.getLogger(__name__)
_SKIP_DIRS = {"__pycache__", "node_modules"}
_TEXT_TYPES = {"application/json", "application/xml", "application/x-yaml",
               "application/javascript", "image/svg+xml"}  # fmt: skip

Snapshot = dict[str, tuple[int, int, int]]


@dataclass(frozen=True)
class ProducedFile:
    """A file an execution produced: ``name`` relative to the work dir (``/``-separated),
    its ``media_type``, and its bytes (``None`` when it was skipped: ``skipped`` says why)."""

    name: str
    media_type: str
    data: bytes | None
    skipped: str | None = None


def media_type(name: str) -> str:
    """The media type of a file by its name (``application/octet-stream`` when unknown).

    Example:
        >>> media_type("chart.png"), media_type("data.csv"), media_type("blob")
        ('image/png', 'text/csv', 'application/octet-stream')
    """
    guessed = mimetypes.guess_type(name, strict=False)[0]
    return guessed or ("text/plain" if name.endswith((".log", ".md", ".txt")) else
                       "application/octet-stream")  # fmt: skip


def scan(work_dir: Path) -> Snapshot:
    """Every regular file of the work dir that may be an artifact, ``{name: (size,
    mtime_ns, inode)}`` (hidden entries, ``__pycache__`` and links left out; at most
    ``10 * MAX_FILES`` entries are looked at)."""
    found: Snapshot = {}
    root = Path(work_dir)
    if not root.is_dir():
        return found
    budget = 10 * MAX_FILES
    pending = [""]
    while pending and budget > 0:
        prefix = pending.pop()
        try:
            entries = sorted(os.scandir(root / prefix), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            budget -= 1
            if budget < 0:
                break
            if entry.name.startswith(".") or entry.name in _SKIP_DIRS:
                continue
            name = f"{prefix}/{entry.name}" if prefix else entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(name)
            elif stat.S_ISREG(info.st_mode):
                found[name] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return found


def produced(work_dir: Path, before: Snapshot, *, exclude: Collection[str] = (),
             max_bytes: int) -> list[ProducedFile]:  # fmt: skip
    """The files new or changed in ``work_dir`` since ``before`` (see :func:`scan`),
    without those in ``exclude``; at most :data:`MAX_FILES`, the top level's first, then
    by depth and name. A file larger than ``max_bytes`` (or that cannot be read) comes
    back with ``data=None`` and the reason in ``skipped``; so does, when there are more
    files, the first one left out, its reason saying how many others were.

    Example:
        >>> import tempfile
        >>> wd = Path(tempfile.mkdtemp())
        >>> before = scan(wd)
        >>> _ = (wd / "out.csv").write_text("a,b\\n1,2\\n")
        >>> [(f.name, f.media_type, f.data) for f in produced(wd, before, max_bytes=100)]
        [('out.csv', 'text/csv', b'a,b\\n1,2\\n')]
    """
    after = scan(work_dir)
    # the top level first: a result the code writes beside a folder of many files is kept
    names = sorted((n for n, facts in after.items()
                    if before.get(n) != facts and n not in exclude),
                   key=lambda n: (n.count("/"), n))  # fmt: skip
    files = []
    for name in names[:MAX_FILES]:
        kind = media_type(name)
        size = after[name][0]
        if size > max_bytes:
            files.append(ProducedFile(name, kind, None, f"{size:,} bytes, more than the "
                                      f"{max_bytes:,} kept per file"))  # fmt: skip
            continue
        try:
            data = _read(work_dir, name, max_bytes)
        except (OSError, ExecutionError) as exc:
            files.append(ProducedFile(name, kind, None, f"cannot be read ({exc})"))
            continue
        if data is None:
            files.append(ProducedFile(name, kind, None, "not a regular file, or it grew past "
                                      f"{max_bytes:,} bytes"))  # fmt: skip
            continue
        files.append(ProducedFile(name, kind, _redacted(kind, data)))
    if len(names) > MAX_FILES:
        first = names[MAX_FILES]
        files.append(ProducedFile(first, media_type(first), None, (
            f"more than the {MAX_FILES} files kept per execution: it and "
            f"{len(names) - MAX_FILES - 1:,} other new or changed files are not kept")))  # fmt: skip
    return files


def keep_artifacts(store: Any, run_id: str, step: int, node: str, work_dir: Path,
                   before: Snapshot, exclude: Collection[str], *,
                   max_bytes: int) -> dict[str, list[Any]]:  # fmt: skip
    """Keep the files an execution produced in ``work_dir`` since ``before`` (see
    :func:`produced`) as artifacts of ``node`` at ``step`` (``store.put_artifact``, see
    :class:`~graphflow.store.RunWriter`); return ``{"artifacts": [names],
    "skipped_files": [{name, reason}]}`` without the empty lists (a skipped file is also
    logged as a warning). A store without ``put_artifact`` keeps nothing."""
    put = getattr(store, "put_artifact", None)
    if put is None:
        return {}
    kept: list[str] = []
    skipped: list[dict[str, str]] = []
    for item in produced(work_dir, before, exclude=exclude, max_bytes=max_bytes):
        if item.data is None:
            skipped.append({"name": item.name, "reason": item.skipped or "skipped"})
            logger.warning("run %s, step %d, node %s: file %s is not kept as an artifact: %s",
                           run_id, step, node, item.name, item.skipped)  # fmt: skip
            continue
        put(run_id, step, node, item.name, item.media_type, item.data)
        kept.append(item.name)
    return {key: value for key, value in (("artifacts", kept), ("skipped_files", skipped))
            if value}  # fmt: skip


def _read(work_dir: Path, name: str, max_bytes: int) -> bytes | None:
    fd = open_inside(Path(work_dir), name)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _redacted(kind: str, data: bytes) -> bytes:
    if not (kind.startswith("text/") or kind in _TEXT_TYPES):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    cleaned = redact(text)
    return data if cleaned == text else cleaned.encode("utf-8")
