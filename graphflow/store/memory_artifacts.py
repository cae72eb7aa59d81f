"""Artifacts in the in-memory store (see :class:`~graphflow.store.RunWriter.put_artifact`):
rows per run keyed by ``(step, node, name)``, the bytes once per digest."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Any, Protocol

from graphflow.errors import StoreError
from graphflow.store.artifacts import check_artifact
from graphflow.store.protocol import ArtifactRow

__all__ = ["ArtifactTables", "MemoryArtifacts", "drop_unused_blobs"]


class ArtifactTables(Protocol):
    """The two tables of a memory store that hold artifacts."""

    artifacts: dict[str, dict[tuple[int, str, str], ArtifactRow]]
    blobs: dict[str, bytes]


def drop_unused_blobs(t: ArtifactTables) -> None:
    """Forget the bytes no artifact names any more (under the store's lock)."""
    used = {row["digest"] for rows in t.artifacts.values() for row in rows.values()}
    for digest in [d for d in t.blobs if d not in used]:
        del t.blobs[digest]


class MemoryArtifacts:
    """``put_artifact``, ``artifacts`` and ``artifact_data`` of the memory store."""

    def _locked(self) -> AbstractContextManager[Any]:  # provided by MemoryStore
        raise NotImplementedError

    def _row(self, t: Any, run_id: str) -> dict[str, Any]:  # provided by MemoryStore
        raise NotImplementedError

    def put_artifact(self, run_id: str, step: int, node: str, name: str, media_type: str,
                     data: bytes) -> str:  # fmt: skip
        digest = check_artifact(run_id, name, media_type, data)
        with self._locked() as t:
            self._row(t, run_id)
            t.blobs.setdefault(digest, bytes(data))
            t.artifacts.setdefault(run_id, {})[(step, node, name)] = ArtifactRow(
                run_id=run_id, step=step, node=node, name=name, media_type=media_type,
                digest=digest, size=len(data), created_at=time.time())  # fmt: skip
            drop_unused_blobs(t)  # the bytes a replaced artifact named
        return digest

    def artifacts(self, run_id: str) -> list[ArtifactRow]:
        with self._locked() as t:
            rows = t.artifacts.get(run_id) or {}
            return [ArtifactRow(**rows[key]) for key in sorted(rows)]  # type: ignore[typeddict-item]

    def artifact_data(self, digest: str) -> bytes:
        with self._locked() as t:
            data = t.blobs.get(str(digest))
        if data is None:
            raise StoreError(f"no artifact with digest {digest!r} in this memory store; list "
                             "a run's artifacts with store.artifacts(run_id)")  # fmt: skip
        return bytes(data)

