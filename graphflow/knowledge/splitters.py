"""Splitting documents into chunks that keep their source lines.

- :func:`split_markdown`: one chunk per section (a heading and the lines up to the next
  heading), its ``section`` the heading path (``Graph files > Routing``); headings are
  found by markdown-it-py, so ``#`` lines inside code fences are not headings;
- :func:`split_python`: one chunk per top-level function or class (decorators
  included) and per run of module-level statements between them, found with ``ast``;
  a file that does not parse is split by size;
- :func:`split_by_size`: consecutive lines up to ``chunk_tokens`` tokens, the next chunk
  starting ``overlap_tokens`` tokens back; used for text and for any other code.

A section larger than ``chunk_tokens`` is split by size within it, keeping its section.
Tokens are estimated as 4 characters each (:func:`estimate_tokens`).

Example:
    >>> doc = Document("/d/a.md", "a.md", "# Title\\nintro\\n## Part\\nbody", "markdown")
    >>> [(c.section, c.start_line, c.end_line) for c in split_document(doc)]
    [('Title', 1, 2), ('Title > Part', 3, 4)]
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator

from graphflow.knowledge.documents import Chunk, Document, estimate_tokens

__all__ = ["DEFAULT_CHUNK_TOKENS", "DEFAULT_OVERLAP_TOKENS", "split_by_size", "split_document",
           "split_markdown", "split_python"]  # fmt: skip

DEFAULT_CHUNK_TOKENS = 300
DEFAULT_OVERLAP_TOKENS = 30


def split_document(doc: Document, *, chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
                   overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> list[Chunk]:  # fmt: skip
    """The chunks of ``doc`` by its kind (see the module docs). Blank chunks are dropped."""
    if chunk_tokens < 1 or overlap_tokens < 0 or overlap_tokens >= chunk_tokens:
        raise ValueError("chunk_tokens must be at least 1 and overlap_tokens in "
                         "[0, chunk_tokens)")  # fmt: skip
    if doc.kind == "markdown":
        chunks = split_markdown(doc, chunk_tokens, overlap_tokens)
    elif doc.kind == "code" and doc.language == "python":
        chunks = split_python(doc, chunk_tokens, overlap_tokens)
    elif doc.kind == "pdf":
        chunks = _split_pages(doc, chunk_tokens, overlap_tokens)
    else:
        chunks = _sized(doc.text.split("\n"), doc.source, chunk_tokens, overlap_tokens, 1, "")
    return [c for c in chunks if c.text.strip()]


def split_by_size(lines: list[str], source: str, chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
                  overlap_tokens: int = DEFAULT_OVERLAP_TOKENS, *, first_line: int = 1,
                  section: str = "") -> list[Chunk]:  # fmt: skip
    """Chunks of consecutive ``lines`` (the first being line ``first_line``) of at most
    about ``chunk_tokens`` tokens, each starting ``overlap_tokens`` back into the one
    before; a single line longer than a chunk is cut into pieces that keep its number.
    """
    pieces: list[tuple[int, str]] = []  # (line number, text) with over-long lines cut
    limit = chunk_tokens * 4
    for offset, line in enumerate(lines):
        number = first_line + offset
        if len(line) <= limit:
            pieces.append((number, line))
        else:
            pieces.extend((number, line[i:i + limit]) for i in range(0, len(line), limit))
    chunks: list[Chunk] = []
    start = 0
    while start < len(pieces):
        end, size = start, 0
        while end < len(pieces) and (end == start or size + len(pieces[end][1]) + 1 <= limit):
            size += len(pieces[end][1]) + 1
            end += 1
        text = "\n".join(text for _, text in pieces[start:end])
        chunks.append(Chunk(source, pieces[start][0], pieces[end - 1][0], text, section))
        if end >= len(pieces):
            break
        back, kept = end, 0
        while back > start + 1 and kept + len(pieces[back - 1][1]) + 1 <= overlap_tokens * 4:
            back -= 1
            kept += len(pieces[back][1]) + 1
        start = back
    return chunks


def split_markdown(doc: Document, chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
                   overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> list[Chunk]:  # fmt: skip
    """One chunk per Markdown section (see the module docs)."""
    from markdown_it import MarkdownIt

    lines = doc.text.split("\n")
    tokens = MarkdownIt("commonmark").parse(doc.text)
    headings: list[tuple[int, int, str]] = []  # (line index, level, title)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            title = tokens[index + 1].content.strip() if index + 1 < len(tokens) else ""
            headings.append((token.map[0], int(token.tag[1:]), title))
    bounds = [0] + [line for line, _, _ in headings if line > 0] + [len(lines)]
    path: list[tuple[int, str]] = []
    titles = {line: (level, title) for line, level, title in headings}
    chunks: list[Chunk] = []
    for start, end in itertools.pairwise(bounds):
        if start in titles:
            level, title = titles[start]
            path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        section = " > ".join(t for _, t in path)
        chunks.extend(_sized(lines[start:end], doc.source, chunk_tokens, overlap_tokens,
                             start + 1, section))  # fmt: skip
    return chunks


def split_python(doc: Document, chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
                 overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> list[Chunk]:  # fmt: skip
    """One chunk per top-level definition and per run of other statements (see the
    module docs); by size when the file does not parse."""
    lines = doc.text.split("\n")
    try:
        module = ast.parse(doc.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # the last two: too deep
        return split_by_size(lines, doc.source, chunk_tokens, overlap_tokens)
    chunks: list[Chunk] = []
    loose_start: int | None = None  # first line index of pending module-level statements
    cursor = 0
    for node in module.body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
        last = (node.end_lineno or node.lineno) - 1
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # comments just above a definition belong to it
            start = first
            while start > cursor and lines[start - 1].lstrip().startswith("#"):
                start -= 1
            if loose_start is not None:
                chunks.extend(_sized(lines[loose_start:start], doc.source, chunk_tokens,
                                     overlap_tokens, loose_start + 1, "module"))  # fmt: skip
                loose_start = None
            keyword = "class" if isinstance(node, ast.ClassDef) else "def"
            chunks.extend(_sized(lines[start:last + 1], doc.source, chunk_tokens,
                                 overlap_tokens, start + 1, f"{keyword} {node.name}"))  # fmt: skip
        elif loose_start is None:
            loose_start = cursor
        cursor = last + 1
    if loose_start is not None or cursor < len(lines):
        begin = cursor if loose_start is None else loose_start
        chunks.extend(_sized(lines[begin:], doc.source, chunk_tokens, overlap_tokens,
                             begin + 1, "module"))  # fmt: skip
    return chunks


def _split_pages(doc: Document, chunk_tokens: int, overlap_tokens: int) -> list[Chunk]:
    lines = doc.text.split("\n")
    chunks: list[Chunk] = []
    for start, end, page in _pages(lines):
        chunks.extend(_sized(lines[start:end], doc.source, chunk_tokens, overlap_tokens,
                             start + 1, page))  # fmt: skip
    return chunks


def _pages(lines: list[str]) -> Iterator[tuple[int, int, str]]:
    marks = [i for i, line in enumerate(lines) if line.startswith("[page ") and line.endswith("]")]
    for index, start in enumerate(marks):
        end = marks[index + 1] if index + 1 < len(marks) else len(lines)
        yield start, end, lines[start][1:-1]


def _sized(lines: list[str], source: str, chunk_tokens: int, overlap_tokens: int,
           first_line: int, section: str) -> list[Chunk]:  # fmt: skip
    # trailing blank lines do not belong to the chunk
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        return []
    text = "\n".join(lines)
    if estimate_tokens(text) <= chunk_tokens:
        return [Chunk(source, first_line, first_line + len(lines) - 1, text, section)]
    return split_by_size(lines, source, chunk_tokens, overlap_tokens, first_line=first_line,
                         section=section)  # fmt: skip
