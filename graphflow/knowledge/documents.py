"""The values of retrieval: a loaded :class:`Document`, a :class:`Chunk` of one, a
search :class:`Hit`, and :class:`KnowledgeError`.

A chunk always knows where it came from: its ``source`` (the path shown in citations),
its first and last line (1-based, inclusive) and, when the splitter knows it, its
``section`` (a Markdown heading path, ``def name`` for Python, ``page N`` for PDF).

Example:
    >>> chunk = Chunk(source="docs/cli.md", start_line=10, end_line=24, text="...",
    ...               section="CLI > run")
    >>> chunk.citation
    'docs/cli.md:10-24'
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from graphflow.errors import GraphflowError

__all__ = ["Chunk", "Document", "Hit", "KnowledgeError", "Skipped", "citation_text", "citations_in",
           "estimate_tokens", "printable"]


class KnowledgeError(GraphflowError):
    """Retrieval could not proceed: an index file that is not one, a path that does not
    exist, an embedding endpoint that fails. ``path`` names the file when there is one."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


def printable(text: str) -> str:
    """``text`` with control, line-separator and bidirectional-override characters
    written as escapes (``\\n``, ``\\u202e``), for file names and section titles shown in
    one line: a file named ``"a\\n[7] b.md"`` must not print as two citations.

    Example:
        >>> printable("evil\\n[7] forged.md"), printable("docs/cli.md")
        ('evil\\\\n[7] forged.md', 'docs/cli.md')
    """
    if text.isprintable():
        return text
    return "".join(ch if ch == " " or unicodedata.category(ch)[0] not in "CZ"
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)  # fmt: skip


@dataclass(frozen=True)
class Document:
    """A file's text, as a loader extracted it.

    Attributes:
        path: the file's absolute path (the index's key).
        source: the path shown in citations (relative to the folder that was added).
        text: the text; line numbers of chunks count lines of this text.
        kind: ``text``, ``markdown``, ``html``, ``pdf`` or ``code``.
        language: the programming language of a ``code`` document (``python`` …).
    """

    path: str
    source: str
    text: str
    kind: str
    language: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A piece of a document that is indexed and retrieved as one.

    Attributes:
        source: the path shown in citations.
        start_line, end_line: first and last line in the document (1-based, inclusive).
        text: the chunk's text.
        section: where in the document (heading path, ``class Name``, ``page 3``), or ``""``.
    """

    source: str
    start_line: int
    end_line: int
    text: str
    section: str = ""

    @property
    def citation(self) -> str:
        """``source:start-end`` (``source:line`` for a one-line chunk)."""
        source = printable(self.source)
        if self.start_line == self.end_line:
            return f"{source}:{self.start_line}"
        return f"{source}:{self.start_line}-{self.end_line}"


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes:
        chunk_id: the chunk's id in the index.
        chunk: the chunk.
        score: higher is better; BM25 (sign flipped), cosine similarity, or the
            reciprocal-rank-fusion score for hybrid search.
        rank: 1 for the best hit.
        ranks: the hit's rank in each ranking that found it (``{"bm25": 2, "vector": 1}``).
    """

    chunk_id: int
    chunk: Chunk
    score: float
    rank: int
    ranks: dict[str, int] = field(default_factory=dict)

    def to_citation(self, label: int | None = None) -> dict[str, Any]:
        """The hit as a JSON citation record: ``{label, source, start_line, end_line,
        section, score, chunk_id}``."""
        record: dict[str, Any] = asdict(self.chunk)
        record.pop("text")
        record.update(chunk_id=self.chunk_id, score=round(self.score, 6))
        if label is not None:
            record = {"label": label, **record}
        return record


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why (``binary file``, ``over the size cap`` …)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def estimate_tokens(text: str) -> int:
    """About how many model tokens ``text`` is: 4 characters a token, as AutoGen's
    ``chunk_token_size`` counts for English prose and code.

    Example:
        >>> estimate_tokens("twelve chars")
        3
    """
    return max(1, len(text) // 4) if text else 0


def citations_in(variables: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The citations that ``retrieve`` nodes recorded in a run's variables, as
    ``[(node, [citation, ...])]`` (from the ``NODE_citations`` variables).

    Example:
        >>> citations_in({"rag_citations": [{"label": 1, "source": "a.md", "start_line": 1,
        ...                                  "end_line": 3}], "other": 1})[0][0]
        'rag'
    """
    found = []
    for name, value in variables.items():
        if (name.endswith("_citations") and isinstance(value, list) and value
                and all(isinstance(c, dict) and "source" in c for c in value)):
            found.append((name[: -len("_citations")], value))
    return found


def citation_text(citation: dict[str, Any]) -> str:
    """One citation as a line: ``[1] docs/cli.md:10-24 (CLI > run)``.

    Example:
        >>> citation_text({"label": 2, "source": "a.md", "start_line": 4, "end_line": 9,
        ...                "section": "Intro"})
        '[2] a.md:4-9 (Intro)'
    """
    start, end = citation.get("start_line"), citation.get("end_line")
    lines = f"{start}" if start == end else f"{start}-{end}"
    label = f"[{citation['label']}] " if citation.get("label") is not None else ""
    section = f" ({printable(str(citation['section']))})" if citation.get("section") else ""
    return f"{label}{printable(str(citation.get('source')))}:{lines}{section}"
