"""Artifacts in the SQLite store: one ``artifacts`` row per file a node produced, naming
the SHA-256 of its bytes, which ``artifact_blobs`` holds once (see
:class:`~graphflow.store.RunWriter.put_artifact`)."""

from __future__ import annotations

import time

from graphflow.errors import StoreError
from graphflow.store.artifacts import check_artifact
from graphflow.store.protocol import ArtifactRow
from graphflow.store.sqlite.base import Connection, SQLiteBase

__all__ = ["SQLiteArtifacts", "drop_unused_blobs"]

_COLUMNS = "run_id, step, node, name, media_type, digest, size, created_at"


class SQLiteArtifacts(SQLiteBase):
    """``put_artifact``, ``artifacts`` and ``artifact_data``."""

    _tables: set[str]
    read_only: bool

    def put_artifact(self, run_id: str, step: int, node: str, name: str, media_type: str,
                     data: bytes) -> str:  # fmt: skip
        digest = check_artifact(run_id, name, media_type, data)
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is None:
                raise self._not_found(run_id)
            conn.execute("INSERT OR IGNORE INTO artifact_blobs (digest, data) VALUES (?,?)",
                         (digest, bytes(data)))  # fmt: skip
            conn.execute(f"INSERT OR REPLACE INTO artifacts ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                         (run_id, step, node, name, media_type, digest, len(data),
                          time.time()))  # fmt: skip
            drop_unused_blobs(conn)  # the bytes a replaced artifact named
        return digest

    def artifacts(self, run_id: str) -> list[ArtifactRow]:
        if self.read_only and "artifacts" not in self._tables:
            return []  # a read-only file of the format before artifacts: it has none
        rows = self._rows(f"SELECT {_COLUMNS} FROM artifacts WHERE run_id=?"
                          " ORDER BY step, node, name", [run_id])  # fmt: skip
        return [ArtifactRow(**row) for row in rows]  # type: ignore[typeddict-item]

    def artifact_data(self, digest: str) -> bytes:
        row = None
        if not (self.read_only and "artifact_blobs" not in self._tables):
            row = self.conn.execute("SELECT data FROM artifact_blobs WHERE digest=?",
                                    (str(digest),)).fetchone()  # fmt: skip
        if row is None:
            raise StoreError(f"{self.path}: no artifact with digest {digest!r}; list a run's "
                             "artifacts with `graphflow show RUN` to see their digests")
        return bytes(row[0])


def drop_unused_blobs(conn: Connection) -> None:
    """Delete the bytes no artifact names any more (inside the caller's transaction)."""
    conn.execute("DELETE FROM artifact_blobs WHERE digest NOT IN"
                 " (SELECT digest FROM artifacts)")  # fmt: skip
