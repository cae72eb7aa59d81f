"""Reading files into :class:`~graphflow.knowledge.documents.Document` values.

What a file is comes from its name:

- Markdown (``.md``, ``.markdown``), plain text (``.txt``, ``.rst``, no extension …);
- HTML (``.html``, ``.htm``): the visible text, by beautifulsoup4 (the ``knowledge``
  extra); scripts, styles and templates are left out;
- PDF (``.pdf``): each page's text, by pypdf (the ``knowledge`` extra); a page break is
  a line ``[page N]``;
- source code (``.py``, ``.js``, ``.ts``, ``.go``, ``.rs``, ``.java``, ``.c`` … see
  :data:`CODE_LANGUAGES`).

A file is refused with a reason (:class:`LoadRefused`) when it is larger than the cap
(:data:`MAX_FILE_BYTES`, 10 MB by default), is binary (a NUL byte anywhere in it, or
text that is not UTF-8 / Latin-1 decodable), cannot be read (permissions), or is a PDF
without extractable text. The index reports such files as skipped, with the reason.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from graphflow.knowledge.documents import Document

__all__ = ["CODE_LANGUAGES", "MAX_FILE_BYTES", "TEXT_SUFFIXES", "LoadRefused", "kind_of",
           "load_document"]  # fmt: skip

#: Files larger than this many bytes are skipped (``max_file_bytes`` changes it).
MAX_FILE_BYTES = 10_000_000
CODE_LANGUAGES = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".jsx": "javascript", ".go": "go",
    ".rs": "rust", ".java": "java", ".kt": "kotlin", ".c": "c", ".h": "c", ".cc": "cpp",
    ".cpp": "cpp", ".hpp": "cpp", ".cs": "csharp", ".rb": "ruby", ".php": "php",
    ".swift": "swift", ".scala": "scala", ".sh": "sh", ".bash": "sh", ".sql": "sql",
    ".r": "r", ".lua": "lua", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml",
    ".json": "json",
}  # fmt: skip
TEXT_SUFFIXES = {".txt", ".text", ".rst", ".log", ".csv", ".tsv", ".ini", ".cfg", ""}
_MARKDOWN = {".md", ".markdown", ".mdx"}
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_HTML = {".html", ".htm", ".xhtml"}


class LoadRefused(Exception):
    """A file that is not indexed; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def kind_of(path: Path) -> str | None:
    """The document kind of ``path`` by its suffix, or ``None`` for files the loaders do
    not read (images, archives …).

    Example:
        >>> kind_of(Path("a/notes.md")), kind_of(Path("x.py")), kind_of(Path("logo.png"))
        ('markdown', 'code', None)
    """
    suffix = path.suffix.lower()
    if suffix in _MARKDOWN:
        return "markdown"
    if suffix in _HTML:
        return "html"
    if suffix == ".pdf":
        return "pdf"
    if suffix in CODE_LANGUAGES:
        return "code"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return None


def load_document(path: Path, source: str, *, data: bytes | None = None,
                  max_file_bytes: int = MAX_FILE_BYTES) -> Document:  # fmt: skip
    """Read ``path`` into a Document.

    Args:
        path: the file.
        source: the path shown in citations.
        data: the file's bytes when the caller read them already.
        max_file_bytes: the size cap.

    Raises:
        LoadRefused: the file is too large, binary, unreadable, or of an unknown kind.
        KnowledgeError: HTML or PDF without the ``knowledge`` extra installed.
    """
    kind = kind_of(path)
    if kind is None:
        raise LoadRefused(f"unsupported file type {path.suffix or '(none)'!r}")
    if data is None:
        data = read_bytes(path, max_file_bytes)
    elif len(data) > max_file_bytes:
        raise LoadRefused(_too_large(len(data), max_file_bytes))
    if kind == "pdf":
        return Document(str(path), source, _pdf_text(path, data), "pdf")
    text = _decode(data)
    if kind == "html":
        return Document(str(path), source, _html_text(text), "html")
    language = CODE_LANGUAGES.get(path.suffix.lower()) if kind == "code" else None
    return Document(str(path), source, text, kind, language)


def read_bytes(path: Path, max_file_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, refusing what is over the cap or unreadable.

    Raises:
        LoadRefused: too large, a permission error, or not a regular file.
    """
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # opening a named pipe would block
            raise LoadRefused("not a regular file (a pipe, socket or device)")
        size = info.st_size
        if size > max_file_bytes:
            raise LoadRefused(_too_large(size, max_file_bytes))
        with open(path, "rb") as handle:
            data = handle.read(max_file_bytes + 1)
    except PermissionError:
        raise LoadRefused("cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise LoadRefused("is a directory") from None
    except OSError as exc:
        raise LoadRefused(f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_file_bytes:
        raise LoadRefused(_too_large(len(data), max_file_bytes))
    return data


def _too_large(size: int, cap: int) -> str:
    return (f"{size:,} bytes is over the size cap of {cap:,} bytes "
            "(raise max_file_bytes / --max-file-bytes to index it)")  # fmt: skip


def _decode(data: bytes) -> str:
    if b"\x00" in data:  # anywhere: a NUL would reach the prompt
        raise LoadRefused("binary file (it has NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\n\r\f")
        if controls > len(text[:8192]) // 100:
            raise LoadRefused("binary file (not UTF-8 text)") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # control characters (terminal escapes, bells) become U+FFFD: they would reach the
    # model and, through `show` and `index search`, the terminal
    return _CONTROL.sub("\ufffd", text)


def _html_text(html: str) -> str:
    try:
        from bs4 import BeautifulSoup
    except ImportError:
        from graphflow.knowledge.documents import KnowledgeError

        raise KnowledgeError("reading HTML needs beautifulsoup4; install it with "
                             "`pip install 'graphflow[knowledge]'`") from None  # fmt: skip
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "template", "noscript", "head"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _pdf_text(path: Path, data: bytes) -> str:
    try:
        import pypdf
    except ImportError:
        from graphflow.knowledge.documents import KnowledgeError

        raise KnowledgeError("reading PDF needs pypdf; install it with "
                             "`pip install 'graphflow[knowledge]'`") from None  # fmt: skip
    import io

    if b"%PDF-" not in data[:1024]:  # where the PDF standard allows the header
        raise LoadRefused("not a PDF (it does not start with %PDF-)")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadRefused("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadRefused:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise LoadRefused(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    if not any(page.strip() for page in pages):
        raise LoadRefused("PDF without extractable text (scanned images need OCR first)")
    out: list[str] = []
    for number, page in enumerate(pages, start=1):
        out.append(f"[page {number}]")
        out.extend(line.rstrip() for line in page.splitlines())
    return _CONTROL.sub("\ufffd", "\n".join(out))
