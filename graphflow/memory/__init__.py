"""Teachable agents' memory: memos kept in an SQLite file and recalled by relevance.

A **memo** is one thing an agent was taught — a fact, a preference, or advice for a kind
of task — as a pair of texts: a ``topic`` (the question it answers, or the kind of task)
and the ``memo`` itself. Memos are stored per agent in a **memo database**
(:class:`MemoStore`, default ``graphflow-memory.db`` beside the run database) and
recalled by a :class:`MemoRanker` — full-text BM25 (SQLite FTS5) by default.
:mod:`~graphflow.memory.analysis` holds the analyzer's prompt and reads its answers.

This package knows nothing of runs: the agent runtime (:mod:`graphflow.agents.teaching`)
decides when to learn and recall, and makes both part of the run's checkpointed steps.
"""

from __future__ import annotations

from graphflow.memory.analysis import (
    ANALYZER_PROMPT,
    Analysis,
    MemoDraft,
    analyzer_messages,
    parse_analysis,
)
from graphflow.memory.ranking import BM25Ranker, MemoRanker, search_terms
from graphflow.memory.store import (
    DEFAULT_MEMORY_DB,
    MEMO_KINDS,
    Memo,
    MemoNotFound,
    MemoStore,
    default_memory_db,
    memo_id,
)

__all__ = [
    "ANALYZER_PROMPT",
    "DEFAULT_MEMORY_DB",
    "MEMO_KINDS",
    "Analysis",
    "BM25Ranker",
    "Memo",
    "MemoDraft",
    "MemoNotFound",
    "MemoRanker",
    "MemoStore",
    "analyzer_messages",
    "default_memory_db",
    "memo_id",
    "parse_analysis",
    "search_terms",
]
