"""Retrieval: ingest files and folders, split them into chunks that keep their source
lines, index them in SQLite (BM25 by FTS5; optional embeddings; hybrid ranking) and
search them. The ``retrieve`` node kind and the ``retrieve_chat`` pattern build on it.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("graphs compile to checkpointed runs\\n")
    >>> index = KnowledgeIndex(":memory:")
    >>> _ = index.add([folder])
    >>> [hit.chunk.citation.split("/")[-1] for hit in index.search("checkpointed")]
    ['a.txt:1']
"""

from __future__ import annotations

from graphflow.knowledge.documents import Chunk, Document, Hit, KnowledgeError, Skipped
from graphflow.knowledge.embeddings import Embedder, OpenAIEmbeddings
from graphflow.knowledge.index import IngestReport, KnowledgeIndex, SearchMode
from graphflow.knowledge.loaders import MAX_FILE_BYTES, load_document
from graphflow.knowledge.splitters import split_document

__all__ = [
    "MAX_FILE_BYTES",
    "Chunk",
    "Document",
    "Embedder",
    "Hit",
    "IngestReport",
    "KnowledgeError",
    "KnowledgeIndex",
    "OpenAIEmbeddings",
    "SearchMode",
    "Skipped",
    "load_document",
    "split_document",
]
