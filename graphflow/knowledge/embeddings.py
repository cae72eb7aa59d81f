"""Embeddings: turning texts into vectors, and storing them.

:class:`OpenAIEmbeddings` calls an OpenAI-compatible ``POST {base_url}/embeddings``
endpoint (OpenAI, Azure, Ollama, vLLM, llama.cpp, LM Studio, the test server) with a
:class:`~graphflow.models.ModelConfig`; the key is read from the config's
``api_key_env`` when the request is made, as for chat models. Any object with
``name`` and ``embed(texts) -> list[list[float]]`` is an :class:`Embedder`.

Vectors are stored as little-endian float32 BLOBs (sqlite-vec's format) and compared by
cosine similarity: in SQL with sqlite-vec's ``vec_distance_cosine`` when the extension
can be loaded (the ``knowledge`` extra; where this Python's sqlite3 cannot load
extensions, the index is opened with sqlean.py, which the extra also installs), else in
Python over the stored vectors (exact, slower on large indexes).
"""

from __future__ import annotations

import math
import sqlite3
import struct
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from graphflow.knowledge.documents import KnowledgeError

__all__ = ["Embedder", "OpenAIEmbeddings", "cosine", "load_sqlite_vec", "pack", "sqlite_driver",
           "unpack"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one dimension. ``name`` identifies the model: an index
    refuses to mix vectors of two models."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class OpenAIEmbeddings:
    """An OpenAI-compatible ``/embeddings`` endpoint.

    Args:
        config: the model (a :class:`~graphflow.models.ModelConfig`, or a mapping of its
            fields), e.g. ``{"model": "nomic-embed-text", "base_url":
            "http://localhost:11434/v1"}``.
        batch_size: texts per request.

    Raises:
        KnowledgeError: (from :meth:`embed`) the endpoint fails or answers in another shape.
    """

    def __init__(self, config: Any, *, batch_size: int = 64) -> None:
        from graphflow.models import ModelConfig

        self.config = config if isinstance(config, ModelConfig) else ModelConfig(**dict(config))
        self.batch_size = batch_size
        self.name = f"{self.config.model}@{self.config.url}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """The vectors of ``texts``, in order."""
        import httpx

        out: list[list[float]] = []
        headers = {"Authorization": f"Bearer {self.config.resolve_key()}"}
        url = self.config.url.rstrip("/") + "/embeddings"
        with httpx.Client(timeout=self.config.timeout) as client:
            for start in range(0, len(texts), self.batch_size):
                batch = list(texts[start:start + self.batch_size])
                try:
                    response = client.post(url, headers=headers,
                                           json={"model": self.config.model, "input": batch})
                except httpx.HTTPError as exc:
                    raise KnowledgeError(f"embeddings at {url} failed: {exc}; check that the "
                                         "server runs and base_url is right") from None
                if response.status_code != 200:
                    raise KnowledgeError(f"embeddings at {url} answered {response.status_code}: "
                                         f"{response.text[:300]}")  # fmt: skip
                try:
                    data = sorted(response.json()["data"], key=lambda item: item["index"])
                    vectors = [[float(x) for x in item["embedding"]] for item in data]
                except (ValueError, KeyError, TypeError) as exc:
                    raise KnowledgeError(f"embeddings at {url}: unexpected answer ({exc}); "
                                         "an OpenAI-compatible /embeddings is needed") from None
                if len(vectors) != len(batch):
                    raise KnowledgeError(f"embeddings at {url}: {len(vectors)} vectors for "
                                         f"{len(batch)} texts")  # fmt: skip
                out.extend(vectors)
        return out


def pack(vector: Sequence[float]) -> bytes:
    """A vector as a float32 BLOB, normalized to length 1 (so cosine is a dot product)."""
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return struct.pack(f"<{len(vector)}f", *(x / norm for x in vector))


def unpack(blob: bytes) -> tuple[float, ...]:
    """The floats of a BLOB written by :func:`pack`."""
    return struct.unpack(f"<{len(blob) // 4}f", blob)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two unit vectors (their dot product)."""
    return sum(x * y for x, y in zip(a, b, strict=False))


def sqlite_driver(embeddings: bool) -> Any:
    """The DB-API module to open an index with: the standard ``sqlite3``, unless vectors
    are wanted, sqlite-vec is installed, this Python's ``sqlite3`` cannot load extensions
    (some builds leave ``enable_load_extension`` out) and sqlean.py (SQLite with extension
    loading, a drop-in ``sqlite3``) is installed — then ``sqlean``."""
    if not embeddings or hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import sqlean
        import sqlite_vec  # noqa: F401
    except ImportError:
        return sqlite3
    return sqlean


def load_sqlite_vec(conn: Any) -> bool:
    """Load sqlite-vec into ``conn``; ``False`` when the package is missing or the
    connection cannot load extensions."""
    try:
        import sqlite_vec
    except ImportError:
        return False
    try:
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
    except Exception:  # AttributeError, or the driver's OperationalError
        return False
    return True
