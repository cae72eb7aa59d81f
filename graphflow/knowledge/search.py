"""Ranking chunks of a :class:`~graphflow.knowledge.index.KnowledgeIndex`.

- **BM25**: SQLite FTS5's ``bm25()`` over the chunk text and its section title (the
  title weighs twice), with the Porter stemmer; the query's words are OR-ed, so a chunk
  need not contain every word, and rare words count most.
- **vector**: cosine similarity of the query's embedding to each chunk's.
- **hybrid**: reciprocal rank fusion (Cormack et al., 2009) of the two rankings:
  ``score = Σ 1 / (RRF_K + rank)`` over the rankings a chunk appears in, ``RRF_K = 60``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from graphflow.knowledge.documents import Chunk, Hit, KnowledgeError
from graphflow.knowledge.embeddings import cosine, pack, unpack

if TYPE_CHECKING:
    from graphflow.knowledge.index import KnowledgeIndex, SearchMode

__all__ = ["RRF_K", "fts_query", "reciprocal_rank_fusion", "search"]

RRF_K = 60
#: Candidates each ranking contributes to a hybrid search, at least.
_POOL = 50
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "how", "i", "in", "is", "it", "of", "on", "or", "the", "to", "what", "when", "where", "which", "who", "why", "with", "can", "you", "my", "me"])  # fmt: skip


def fts_query(text: str) -> str:
    """The FTS5 query for free text: its words, quoted, OR-ed (common English words left
    out unless nothing else is left).

    Example:
        >>> fts_query("How do I resume a run?")
        '"resume" OR "run"'
    """
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in _STOP] or words
    unique = list(dict.fromkeys(kept))[:64]
    return " OR ".join(f'"{w}"' for w in unique)


def reciprocal_rank_fusion(rankings: dict[str, list[int]], k: int = RRF_K) -> list[tuple[int, float, dict[str, int]]]:
    """Fuse rankings of ids (best first) into ``(id, score, {ranking: rank})``, best first.

    Example:
        >>> [i for i, _, _ in reciprocal_rank_fusion({"a": [1, 2, 3], "b": [3, 1]})]
        [1, 3, 2]
    """
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, ids in rankings.items():
        for rank, item in enumerate(ids, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(item, {})[name] = rank
    ordered = sorted(scores, key=lambda item: (-scores[item], item))
    return [(item, scores[item], ranks[item]) for item in ordered]


def search(index: KnowledgeIndex, query: str, k: int, *, mode: SearchMode,
           exclude: set[int], contains: str | None = None) -> list[Hit]:  # fmt: skip
    """See :meth:`KnowledgeIndex.search`."""
    if k < 1:
        raise KnowledgeError(f"k must be at least 1, not {k}")
    if contains is not None:  # chunks without the string are left out like shown ones
        holding = {row[0] for row in index.conn.execute(
            "SELECT id FROM chunks WHERE instr(text, ?) > 0", (contains,))}  # fmt: skip
        every = {row[0] for row in index.conn.execute("SELECT id FROM chunks")}
        exclude = exclude | (every - holding)
    has_vectors = index.conn.execute("SELECT 1 FROM vectors LIMIT 1").fetchone() is not None
    if mode == "auto":
        mode = "hybrid" if index.embedder is not None and has_vectors else "bm25"
    if mode in ("vector", "hybrid") and index.embedder is None:
        raise KnowledgeError(f"{mode} search needs an embedding model; configure embeddings "
                             "(an OpenAI-compatible /embeddings endpoint) or use mode bm25")
    if mode == "bm25":
        scored = _bm25(index, query, k + len(exclude), exclude)
        return _hits(index, [(i, s, {"bm25": r}) for r, (i, s) in enumerate(scored[:k], 1)])
    if mode == "vector":
        scored = _vector(index, query, k + len(exclude), exclude)
        return _hits(index, [(i, s, {"vector": r}) for r, (i, s) in enumerate(scored[:k], 1)])
    pool = max(_POOL, 4 * k) + len(exclude)
    fused = reciprocal_rank_fusion({
        "bm25": [i for i, _ in _bm25(index, query, pool, exclude)],
        "vector": [i for i, _ in _vector(index, query, pool, exclude)],
    })  # fmt: skip
    return _hits(index, fused[:k])


def _bm25(index: KnowledgeIndex, query: str, limit: int, exclude: set[int]) -> list[tuple[int, float]]:
    match = fts_query(query)
    if not match:
        return []
    rows = index.conn.execute(
        "SELECT rowid, bm25(chunks_fts, 1.0, 2.0) AS score FROM chunks_fts "
        "WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?", (match, limit)).fetchall()  # fmt: skip
    return [(rowid, -score) for rowid, score in rows if rowid not in exclude]


def _vector(index: KnowledgeIndex, query: str, limit: int, exclude: set[int]) -> list[tuple[int, float]]:
    assert index.embedder is not None
    stored = index.conn.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
    if stored and stored[0] != index.embedder.name:
        raise KnowledgeError(f"index {index.path} holds vectors of {stored[0]!r}; search it "
                             f"with that model, not {index.embedder.name!r}", path=index.path)
    (vector,) = index.embedder.embed([query])
    blob = pack(vector)
    if index.has_sqlite_vec:
        rows = index.conn.execute(
            "SELECT chunk_id, 1 - vec_distance_cosine(vector, ?) AS s FROM vectors "
            "ORDER BY s DESC LIMIT ?", (blob, limit)).fetchall()  # fmt: skip
        return [(i, s) for i, s in rows if i not in exclude]
    target = unpack(blob)
    scored = [(chunk_id, cosine(target, unpack(data)))
              for chunk_id, data in index.conn.execute("SELECT chunk_id, vector FROM vectors")
              if chunk_id not in exclude]  # fmt: skip
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored[:limit]


def _hits(index: KnowledgeIndex, ranked: list[tuple[int, float, dict[str, int]]]) -> list[Hit]:
    if not ranked:
        return []
    ids = [item for item, _, _ in ranked]
    marks = ",".join("?" * len(ids))
    rows: dict[int, Any] = {row[0]: row for row in index.conn.execute(
        f"SELECT id, source, start_line, end_line, text, section FROM chunks WHERE id IN ({marks})",
        ids)}  # fmt: skip
    hits = []
    for rank, (item, score, ranks) in enumerate(ranked, start=1):
        row = rows.get(item)
        if row is not None:
            chunk = Chunk(row[1], row[2], row[3], row[4], row[5])
            hits.append(Hit(item, chunk, score, rank, ranks))
    return hits
