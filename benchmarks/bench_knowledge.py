"""Benchmark of retrieval: quality on a labelled set, and speed on 10,000 chunks.

1. **Quality**: the questions of ``retrieval_questions.yaml`` (each with the docs/ file
   and section that answers it) are searched in an index of the project's docs/;
   recall@5 (the expected section among the first five hits) and MRR for BM25, vectors
   and hybrid. Two embedders: all-MiniLM-L6-v2 (run in NumPy by ``minilm.py`` when its
   packages are installed) and the test server's ``/embeddings`` (a lexical hashing
   embedding, ``graphflow.testing.embeddings``, no model) over HTTP.
2. **Speed**: a generated corpus of Markdown files with ``--chunks`` sections in all is
   ingested (BM25 only, then with embeddings over HTTP); re-adding it unchanged is
   timed; queries are timed for each ranking (median and 95th percentile).

Run: ``python benchmarks/bench_knowledge.py [--chunks 10000] [--queries 100] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from graphflow.knowledge import KnowledgeIndex, OpenAIEmbeddings
from graphflow.testing import ModelServer

__all__ = ["main", "quality", "speed"]

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = Path(__file__).with_name("retrieval_questions.yaml")


def _matches(hit: Any, expected: dict[str, str]) -> bool:
    sections = [part.replace("`", "").strip() for part in hit.chunk.section.split(" > ")]
    return hit.chunk.source == expected["source"] and expected["section"].replace("`", "") in sections


def _embedders(server: ModelServer) -> dict[str, Any]:
    """The embedders measured: the test server's hashing embedding over HTTP, and
    all-MiniLM-L6-v2 in NumPy when its packages are installed (see minilm.py)."""
    found: dict[str, Any] = {
        "hashed": OpenAIEmbeddings({"model": "hashed-256", "base_url": server.base_url})}
    try:
        sys.path.insert(0, str(Path(__file__).parent))
        from minilm import MiniLM

        found["minilm"] = MiniLM()
    except ImportError as exc:
        print(f"all-MiniLM-L6-v2 not measured: {exc}", file=sys.stderr)
    return found


def quality(workdir: Path, server: ModelServer, k: int = 5) -> dict[str, Any]:
    """Recall@k and MRR of each ranking on the labelled set, for each embedder."""
    questions = yaml.safe_load(QUESTIONS.read_text())["questions"]
    out: dict[str, Any] = {"questions": len(questions), "k": k}
    for label, embedder in _embedders(server).items():
        with KnowledgeIndex(workdir / f"docs-{label}.sqlite", embedder=embedder) as index:
            report = index.add([ROOT / "docs"])
            out["chunks"] = report.chunks
            out[f"embed_{label}_chunks_per_s"] = report.chunks / report.seconds
            modes = ("bm25", "vector", "hybrid") if label == "hashed" else ("vector", "hybrid")
            for mode in modes:
                found, reciprocal, misses = 0, 0.0, []
                for item in questions:
                    hits = index.search(item["q"], k, mode=mode)  # type: ignore[arg-type]
                    rank = next((h.rank for h in hits if _matches(h, item)), None)
                    if rank is not None:
                        found += 1
                        reciprocal += 1 / rank
                    else:
                        misses.append(item["q"])
                name = mode if mode == "bm25" else f"{mode}_{label}"
                out[name] = {"recall": found / len(questions), "mrr": reciprocal / len(questions),
                             "misses": misses}  # fmt: skip
    return out


_WORDS = ["graph", "node", "edge", "run", "step", "resume", "fork", "checkpoint", "agent", "router", "tool", "code", "sandbox", "docker", "model", "cache", "budget", "token", "cost", "retry", "timeout", "human", "input", "message", "state", "variable", "merge", "append", "condition", "route", "render", "report", "trace", "span", "event", "store", "lease", "commit", "crash", "chunk", "index", "search", "vector", "section", "file", "line", "citation"]


def _corpus(folder: Path, chunks: int, per_file: int = 10, seed: int = 7) -> None:
    rng = random.Random(seed)
    files = chunks // per_file
    for f in range(files):
        parts = []
        for s in range(per_file):  # one chunk per section: ~600 characters, under the size
            words = " ".join(rng.choice(_WORDS) for _ in range(90))
            level = "#" if s == 0 else "##"
            parts.append(f"{level} Section {f}.{s} {rng.choice(_WORDS)}\n{words} unique{f}x{s}\n")
        (folder / f"doc{f:05}.md").write_text("\n".join(parts))


def _timed(fn: Any, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times),
            "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))]}  # fmt: skip


def speed(workdir: Path, server: ModelServer, chunks: int, queries: int) -> dict[str, Any]:
    """Ingestion throughput and query latency on ``chunks`` generated chunks."""
    corpus = workdir / "corpus"
    corpus.mkdir()
    _corpus(corpus, chunks)
    rng = random.Random(11)
    asks = [" ".join(rng.choice(_WORDS) for _ in range(6)) for _ in range(queries)]
    out: dict[str, Any] = {"chunks": chunks, "files": len(list(corpus.iterdir()))}
    with KnowledgeIndex(workdir / "bm25.sqlite") as index:
        report = index.add([corpus])
        out["ingest_bm25"] = {"chunks": report.chunks, "seconds": report.seconds,
                              "chunks_per_s": report.chunks / report.seconds}  # fmt: skip
        again = index.add([corpus])
        out["readd_unchanged_s"] = again.seconds
        it = iter(asks * 2)
        out["query_bm25"] = _timed(lambda: index.search(next(it), 5), queries)
    embedder = OpenAIEmbeddings({"model": "hashed-256", "base_url": server.base_url},
                                batch_size=256)  # fmt: skip
    with KnowledgeIndex(workdir / "vec.sqlite", embedder=embedder) as index:
        report = index.add([corpus])
        out["ingest_embeddings"] = {"chunks": report.chunks, "seconds": report.seconds,
                                    "chunks_per_s": report.chunks / report.seconds}  # fmt: skip
        out["sqlite_vec"] = index.has_sqlite_vec
        few = max(5, queries // 10)
        for mode in ("vector", "hybrid"):
            it = iter(asks * 2)
            out[f"query_{mode}"] = _timed(lambda m=mode, it=it: index.search(next(it), 5, mode=m), few)
        out["vector_queries"] = few
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--only", choices=["quality", "speed"], default=None,
                        help="run one of the two parts")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory() as tmp, ModelServer() as server:
        if args.only != "speed":
            results["quality"] = quality(Path(tmp), server)
        if args.only != "quality":
            results["speed"] = speed(Path(tmp), server, args.chunks, args.queries)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if "quality" in results:
        q = results["quality"]
        print(f"labelled set: {q['questions']} questions, docs/ in {q['chunks']} chunks")
        for mode in ("bm25", "vector_hashed", "hybrid_hashed", "vector_minilm", "hybrid_minilm"):
            if mode in q:
                print(f"  {mode:14} recall@5 {q[mode]['recall']:.2f}  MRR {q[mode]['mrr']:.2f}")
    if "speed" in results:
        _print_speed(results["speed"])
    return results


def _print_speed(s: dict[str, Any]) -> None:
    print(f"{s['ingest_bm25']['chunks']} chunks in {s['files']} files:")
    for what in ("ingest_bm25", "ingest_embeddings"):
        print(f"  {what:18} {s[what]['seconds']:.2f} s  ({s[what]['chunks_per_s']:.0f} chunks/s)")
    print(f"  re-add unchanged   {s['readd_unchanged_s']:.3f} s")
    for what in ("query_bm25", "query_vector", "query_hybrid"):
        print(f"  {what:18} median {s[what]['median_ms']:.1f} ms  p95 {s[what]['p95_ms']:.1f} ms")
    print(f"  sqlite-vec loaded: {s['sqlite_vec']}")


if __name__ == "__main__":
    main()
