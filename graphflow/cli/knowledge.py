"""``graphflow index add PATH... --index FILE`` and ``graphflow index search QUERY --index
FILE``: build and query a knowledge index (see docs/knowledge.md)."""

from __future__ import annotations

import sys
from typing import Any

import click

from graphflow.cli._common import console, escape, handle_errors, print_json

__all__ = ["index"]

_index_option = click.option("--index", "index_path", required=True, metavar="FILE",
                             help="The index file (created when missing).")
_embedding_options = [
    click.option("--embedding-model", default=None, metavar="MODEL",
                 help="Embed chunks with this model of an OpenAI-compatible /embeddings "
                      "endpoint (default: BM25 only)."),
    click.option("--embedding-base-url", default=None, metavar="URL",
                 help="The embedding endpoint's base URL, e.g. http://localhost:11434/v1."),
    click.option("--embedding-key-env", default=None, metavar="VAR",
                 help="The environment variable holding the endpoint's API key."),
]


def _with_embedding(fn: Any) -> Any:
    for option in reversed(_embedding_options):
        fn = option(fn)
    return fn


def _open(index_path: str, model: str | None, base_url: str | None, key_env: str | None,
          **options: Any) -> Any:  # fmt: skip
    from graphflow.knowledge import KnowledgeIndex, OpenAIEmbeddings

    embedder = None
    if model:
        embedder = OpenAIEmbeddings({"model": model, "base_url": base_url,
                                     "api_key_env": key_env})  # fmt: skip
    return KnowledgeIndex(index_path, embedder=embedder, **options)


@click.group()
def index() -> None:
    """Build and search knowledge indexes (BM25, embeddings, hybrid)."""


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@_index_option
@click.option("--chunk-tokens", default=300, show_default=True, type=click.IntRange(20),
              help="Chunk size, in tokens of about 4 characters.")
@click.option("--overlap-tokens", default=30, show_default=True, type=click.IntRange(0),
              help="Tokens a size-split chunk repeats from the one before.")
@click.option("--max-file-bytes", default=10_000_000, show_default=True,
              type=click.IntRange(1), help="Files larger than this are skipped.")
@_with_embedding
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def add(paths: tuple[str, ...], index_path: str, chunk_tokens: int, overlap_tokens: int,
        max_file_bytes: int, embedding_model: str | None, embedding_base_url: str | None,
        embedding_key_env: str | None, as_json: bool) -> None:  # fmt: skip
    """Index files and folders PATHS (incrementally: unchanged files are skipped, changed
    ones re-indexed, files gone from a folder removed). Skipped files are listed with the
    reason; the exit code is 2 when nothing could be indexed at all."""
    if overlap_tokens >= chunk_tokens:
        raise click.BadParameter("must be smaller than --chunk-tokens", param_hint="--overlap-tokens")
    from graphflow.knowledge.documents import printable

    with _open(index_path, embedding_model, embedding_base_url, embedding_key_env,
               chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens,
               max_file_bytes=max_file_bytes) as knowledge:  # fmt: skip
        report = knowledge.add(list(paths))
        stats = knowledge.stats()
    if as_json:
        print_json({"added": report.added_paths, "updated": report.updated_paths,
                    "unchanged": report.unchanged, "removed": report.removed_paths,
                    "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
                    "chunks": report.chunks, "seconds": report.seconds, "index": stats})  # fmt: skip
    else:
        err = console(stderr=True)
        for skipped in report.skipped:
            err.print(f"[yellow]skipped[/] {escape(printable(skipped.path))}: "
                      f"{escape(printable(skipped.reason))}")  # fmt: skip
        console().print(f"{escape(str(report))}\nindex {escape(index_path)}: {stats['files']} "
                        f"files, {stats['chunks']} chunks")  # fmt: skip
    nothing = not (report.added or report.updated or report.unchanged or stats["files"])
    if report.skipped and nothing:
        sys.exit(2)


@index.command("search")
@click.argument("query")
@_index_option
@click.option("-k", "--top", "k", default=5, show_default=True, type=click.IntRange(1, 1000),
              help="How many chunks to show.")
@click.option("--mode", type=click.Choice(["auto", "bm25", "vector", "hybrid"]), default="auto",
              show_default=True, help="Ranking: auto is hybrid when the index has embeddings.")
@_with_embedding
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@handle_errors
def search(query: str, index_path: str, k: int, mode: str, embedding_model: str | None,
           embedding_base_url: str | None, embedding_key_env: str | None, as_json: bool) -> None:  # fmt: skip
    """Show the chunks of the index that best match QUERY, with their source lines."""
    from pathlib import Path

    from graphflow.knowledge import KnowledgeError

    if not Path(index_path).is_file():
        raise KnowledgeError(f"no index at {index_path}; build one with `graphflow index add "
                             f"PATH --index {index_path}`", path=index_path)  # fmt: skip
    with _open(index_path, embedding_model, embedding_base_url, embedding_key_env) as knowledge:
        hits = knowledge.search(query, k, mode=mode)
    if as_json:
        print_json([{**hit.to_citation(hit.rank), "text": hit.chunk.text} for hit in hits])
        return
    out = console()
    if not hits:
        out.print("no chunk matches")
    for hit in hits:
        section = f"  [dim]{escape(hit.chunk.section)}[/]" if hit.chunk.section else ""
        out.print(f"[bold][{hit.rank}][/] {escape(hit.chunk.citation)}  score "
                  f"{hit.score:.3f}{section}")  # fmt: skip
        preview = " ".join(hit.chunk.text.split())
        out.print("    " + escape(preview[:200] + ("…" if len(preview) > 200 else "")))
