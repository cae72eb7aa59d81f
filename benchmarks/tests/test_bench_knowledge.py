"""The retrieval benchmark runs on a small corpus, and BM25 keeps its recall on the
labelled set (a regression guard for the index and the splitters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bench_knowledge
import pytest

from graphflow.knowledge import OpenAIEmbeddings
from graphflow.testing import ModelServer


def test_quality_and_speed_on_a_small_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hashed_only(server: ModelServer) -> dict[str, Any]:
        return {"hashed": OpenAIEmbeddings({"model": "hashed", "base_url": server.base_url})}

    monkeypatch.setattr(bench_knowledge, "_embedders", hashed_only)
    with ModelServer() as server:
        quality = bench_knowledge.quality(tmp_path, server)
        speed = bench_knowledge.speed(tmp_path, server, chunks=200, queries=5)
    assert quality["questions"] >= 25
    assert quality["bm25"]["recall"] >= 0.8, quality["bm25"]["misses"]
    assert {"vector_hashed", "hybrid_hashed"} <= set(quality)
    assert speed["ingest_bm25"]["chunks"] == 200 == speed["ingest_embeddings"]["chunks"]
    assert speed["query_bm25"]["median_ms"] > 0


def test_a_labelled_section_matches_a_heading_with_code() -> None:
    from graphflow.knowledge import Chunk, Hit

    chunk = Chunk("docs/execution.md", 130, 150, "…", "Code execution > Executors > `sandbox` (bubblewrap)")
    hit = Hit(1, chunk, 1.0, 1)
    assert bench_knowledge._matches(hit, {"source": "docs/execution.md",
                                          "section": "sandbox (bubblewrap)"})
    assert not bench_knowledge._matches(hit, {"source": "docs/tools.md",
                                              "section": "sandbox (bubblewrap)"})
