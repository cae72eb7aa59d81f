"""How memos are recalled: a small ranking interface and its BM25 implementation.

A :class:`MemoRanker` answers "which of this agent's memos are most relevant to this
text?" with memo ids and scores (higher is more relevant). It works on the memo
database's connection, inside the store's lock; it may keep tables of its own there
(an embedding ranker would keep one vector per memo, written in :meth:`MemoRanker.index`,
which runs in the transaction that adds the memos, and deleted with them through a
foreign key ``ON DELETE CASCADE``).

:class:`BM25Ranker`, the default, needs nothing beyond SQLite: the memo database keeps a
full-text index (FTS5, Porter stemming) of each memo's topic and text, and the ranker
asks it for the memos sharing words with the text, ranked by BM25.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from graphflow.memory.store import Memo

__all__ = ["STOPWORDS", "BM25Ranker", "MemoRanker", "search_terms"]

#: Words too common to say what a text is about; left out of recall queries.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just let me more most my myself no nor not now of off on once only or other our
ours ourselves out over own please same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself
yourselves
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_TERMS = 64


def search_terms(text: str) -> list[str]:
    """The words of ``text`` a recall query looks for: lower-cased, without
    :data:`STOPWORDS`, each once, at most 64.

    Example:
        >>> search_terms("What is my favourite colour? My FAVOURITE!")
        ['favourite', 'colour']
    """
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in STOPWORDS and word not in seen:
            seen[word] = None
            if len(seen) == _MAX_TERMS:
                break
    return list(seen)


class MemoRanker(Protocol):
    """Ranks an agent's memos by relevance to a text (see the module docs)."""

    #: The ranker's name (``bm25`` …), shown in docs and errors.
    name: str

    def index(self, conn: sqlite3.Connection, memos: Sequence[Memo]) -> None:
        """Index memos just added (called in the transaction that adds them)."""
        ...

    def rank(self, conn: sqlite3.Connection, agent: str, text: str,
             limit: int) -> list[tuple[str, float]]:  # fmt: skip
        """At most ``limit`` ``(memo id, score)`` pairs of ``agent``'s memos, best
        first; higher scores are more relevant."""
        ...


class BM25Ranker:
    """Full-text ranking with SQLite FTS5's BM25.

    The score is FTS5's ``bm25()`` negated (so higher is better): 0 for no shared word,
    growing with the shared words' rarity and frequency. A word of the memo's topic
    counts ``topic_weight`` times a word of its text.

    Args:
        topic_weight: weight of the topic column against the memo text column.
    """

    name = "bm25"

    def __init__(self, topic_weight: float = 2.0) -> None:
        self.topic_weight = topic_weight

    def index(self, conn: sqlite3.Connection, memos: Sequence[Memo]) -> None:
        """Nothing to do: the memo database's triggers keep the FTS5 index."""

    def rank(self, conn: sqlite3.Connection, agent: str, text: str,
             limit: int) -> list[tuple[str, float]]:  # fmt: skip
        terms = search_terms(text)
        if not terms:
            return []
        query = " OR ".join(f'"{term}"' for term in terms)
        rows = conn.execute(
            "SELECT m.id, -bm25(memo_text, ?, 1.0) AS score FROM memo_text "
            "JOIN memos m ON m.rowid = memo_text.rowid "
            "WHERE memo_text MATCH ? AND m.agent = ? ORDER BY score DESC, m.rowid LIMIT ?",
            (self.topic_weight, query, agent, limit)).fetchall()  # fmt: skip
        return [(str(memo), float(score)) for memo, score in rows]
