"""Artifacts in the Postgres store: one ``artifacts`` row per file a node produced,
naming the SHA-256 of its bytes, which ``artifact_blobs`` holds once (see
:class:`~graphflow.store.RunWriter.put_artifact`).

Writers that add or drop bytes (:meth:`PostgresArtifacts.put_artifact`, a deleted run's
cleanup) take one transaction-scoped advisory lock (:data:`BLOB_LOCK`) first, so that a
run deleted on one machine never drops bytes an artifact written at the same moment on
another names: the second waits, then sees the first's rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from graphflow.errors import StoreError
from graphflow.store.artifacts import check_artifact
from graphflow.store.postgres.base import PostgresBase
from graphflow.store.protocol import ArtifactRow

__all__ = ["BLOB_LOCK", "PostgresArtifacts", "drop_unused_blobs"]

#: The advisory lock (two int4 keys: "gflw", 2) of the writers of ``artifact_blobs``.
BLOB_LOCK = (0x67666C77, 2)

_COLUMNS = "run_id, step, node, name, media_type, digest, size, created_at"


class PostgresArtifacts(PostgresBase):
    """``put_artifact``, ``artifacts`` and ``artifact_data``."""

    def put_artifact(self, run_id: str, step: int, node: str, name: str, media_type: str,
                     data: bytes) -> str:  # fmt: skip
        digest = check_artifact(run_id, name, media_type, data)
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", BLOB_LOCK)
            if conn.execute("SELECT 1 FROM runs WHERE run_id=%s", (run_id,)).fetchone() is None:
                raise self._not_found(run_id)
            replaced = conn.execute("SELECT digest FROM artifacts WHERE run_id=%s AND step=%s"
                                    " AND node=%s AND name=%s",
                                    (run_id, step, node, name)).fetchall()  # fmt: skip
            conn.execute("INSERT INTO artifact_blobs (digest, data) VALUES (%s,%s)"
                         " ON CONFLICT (digest) DO NOTHING", (digest, bytes(data)))  # fmt: skip
            conn.execute(f"INSERT INTO artifacts ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)"
                         " ON CONFLICT (run_id, step, node, name) DO UPDATE SET"
                         " media_type = EXCLUDED.media_type, digest = EXCLUDED.digest,"
                         " size = EXCLUDED.size, created_at = EXCLUDED.created_at",
                         (run_id, step, node, name, media_type, digest, len(data),
                          time.time()))  # fmt: skip
            drop_unused_blobs(conn, [r[0] for r in replaced])  # the bytes it replaced
        return digest

    def artifacts(self, run_id: str) -> list[ArtifactRow]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM artifacts WHERE run_id=%s"
                          " ORDER BY step, node, name", [run_id])  # fmt: skip
        return [ArtifactRow(**row) for row in rows]  # type: ignore[typeddict-item]

    def artifact_data(self, digest: str) -> bytes:
        rows = self._values("SELECT data FROM artifact_blobs WHERE digest=%s", [str(digest)])
        if not rows:
            raise StoreError(f"{self.where}: no artifact with digest {digest!r}; list a run's "
                             "artifacts with `graphflow show RUN` to see their digests")
        return bytes(rows[0][0])


def drop_unused_blobs(conn: Any, digests: Sequence[str]) -> None:
    """Delete the bytes of ``digests`` that no artifact names any more (inside the
    caller's transaction, which holds :data:`BLOB_LOCK`)."""
    if digests:
        conn.execute("DELETE FROM artifact_blobs b WHERE b.digest = ANY(%s) AND NOT EXISTS"
                     " (SELECT 1 FROM artifacts a WHERE a.digest = b.digest)",
                     (list(set(digests)),))  # fmt: skip
