"""What every store does the same way with artifacts: check one before it is kept, and
name its bytes by their SHA-256 (see :class:`~graphflow.store.RunWriter.put_artifact`)."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

from graphflow.errors import StoreError
from graphflow.store.protocol import MAX_ARTIFACT_BYTES

__all__ = ["artifact_digest", "check_artifact"]


def artifact_digest(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex: the key an artifact's bytes are stored under.

    Example:
        >>> artifact_digest(b"")[:12]
        'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def check_artifact(run_id: str, name: str, media_type: str, data: bytes) -> str:
    """Refuse an artifact no store keeps; return its digest.

    Raises:
        StoreError: ``data`` is not bytes or is larger than :data:`MAX_ARTIFACT_BYTES`,
            ``name`` is empty, absolute or has a ``..`` part, or ``media_type`` is not
            ``type/subtype``.

    Example:
        >>> check_artifact("r", "plots/a.png", "image/png", b"x")[:8]
        '2d711642'
        >>> check_artifact("r", "../a.png", "image/png", b"x")
        Traceback (most recent call last):
        ...
        graphflow.errors.StoreError: run 'r': artifact name '../a.png' is refused: it must be a relative path without '..' (such as plots/chart.png)
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StoreError(f"run {run_id!r}: artifact {name!r} must be bytes, not "
                         f"{type(data).__name__}")  # fmt: skip
    pure = PurePosixPath(name) if isinstance(name, str) else None
    if (pure is None or not name or name != name.strip() or pure.is_absolute()
            or ".." in pure.parts or "\\" in name or "\0" in name):  # fmt: skip
        raise StoreError(f"run {run_id!r}: artifact name {name!r} is refused: it must be a "
                         "relative path without '..' (such as plots/chart.png)")  # fmt: skip
    kind, _, sub = str(media_type).partition("/")
    if not kind or not sub or " " in str(media_type):
        raise StoreError(f"run {run_id!r}: artifact {name!r} has media type {media_type!r}; "
                         "give a type/subtype such as image/png or text/csv")  # fmt: skip
    if len(data) > MAX_ARTIFACT_BYTES:
        raise StoreError(
            f"run {run_id!r}: artifact {name!r} holds {len(data):,} bytes, more than the "
            f"{MAX_ARTIFACT_BYTES:,} a store keeps; write a smaller file (a compressed "
            "image, a sample of the data) or keep it outside the run store")  # fmt: skip
    return artifact_digest(bytes(data))
