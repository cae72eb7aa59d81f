"""A deterministic, offline stand-in for an embedding model, served by the test server's
``POST /v1/embeddings``.

:func:`hashed_embedding` hashes a text's words and their character trigrams into a
fixed number of dimensions (the "hashing trick"). It is lexical, not semantic: texts
that share words and word pieces get close vectors, synonyms do not. It lets tests and
benchmarks drive the real embedding client, the vector store and hybrid ranking over
real HTTP without a model.
"""

from __future__ import annotations

import hashlib
import math
import re

__all__ = ["DIMENSIONS", "hashed_embedding"]

DIMENSIONS = 256
_WORD = re.compile(r"\w+")


def hashed_embedding(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """A unit vector of ``dimensions`` floats for ``text``.

    Example:
        >>> a, b = hashed_embedding("resume a run"), hashed_embedding("resuming runs")
        >>> round(sum(x * y for x, y in zip(a, a)), 6), sum(x * y for x, y in zip(a, b)) > 0.2
        (1.0, True)
    """
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        features = [word] + [word[i:i + 3] for i in range(max(1, len(word) - 2))]
        for feature in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % dimensions
            vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
