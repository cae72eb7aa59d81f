"""The knowledge index: chunks of files in one SQLite file, searchable by BM25 (FTS5)
and, with an embedder, by vector similarity.

An index is a path: several runs, processes and graphs share one by naming the same
file. :meth:`KnowledgeIndex.add` is incremental: a file whose size, modification time
and content hash are unchanged is skipped, a changed file is re-indexed, a file that
disappeared from a folder that is added again is removed. Each file is indexed in one
transaction, so a crash or an error leaves it either wholly indexed (old or new
version) or not at all, never half.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "notes.md").write_text("# Resume\\nA waiting run resumes with input.\\n")
    >>> index = KnowledgeIndex(folder / "index.sqlite")
    >>> index.add([folder]).added
    1
    >>> index.search("resume waiting run")[0].chunk.citation.split("/")[-1]
    'notes.md:1-2'
    >>> index.add([folder]).unchanged
    1
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from graphflow.knowledge.documents import Chunk, Hit, KnowledgeError, Skipped, printable
from graphflow.knowledge.embeddings import Embedder, load_sqlite_vec, pack, sqlite_driver
from graphflow.knowledge.loaders import (
    MAX_FILE_BYTES,
    LoadRefused,
    kind_of,
    load_document,
    read_bytes,
)
from graphflow.knowledge.splitters import (
    DEFAULT_CHUNK_TOKENS,
    DEFAULT_OVERLAP_TOKENS,
    split_document,
)

__all__ = ["IGNORED_DIRS", "IngestReport", "KnowledgeIndex", "SearchMode"]

SearchMode = Literal["auto", "bm25", "vector", "hybrid"]
#: Folders never walked into.
IGNORED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__",
                ".mypy_cache", ".ruff_cache", ".pytest_cache", ".tox", "build", "dist"}  # fmt: skip
_FORMAT = "graphflow-knowledge"
_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, source TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, settings TEXT NOT NULL, embedded TEXT, chunks INTEGER NOT NULL,
    indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, ordinal INTEGER NOT NULL, source TEXT NOT NULL,
    start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, section TEXT NOT NULL,
    text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, section, tokenize = 'porter unicode61');
CREATE TABLE IF NOT EXISTS vectors (chunk_id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
"""


@dataclass
class IngestReport:
    """What :meth:`KnowledgeIndex.add` did, by file.

    Attributes:
        added, updated, unchanged, removed: paths of files newly indexed, re-indexed,
            skipped as unchanged, and removed because they are gone from a folder.
        skipped: files (or folders) not indexed, each with the reason.
        chunks: chunks written.
        seconds: wall-clock time.
    """

    added_paths: list[str] = field(default_factory=list)
    updated_paths: list[str] = field(default_factory=list)
    unchanged_paths: list[str] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    added = property(lambda self: len(self.added_paths))
    updated = property(lambda self: len(self.updated_paths))
    unchanged = property(lambda self: len(self.unchanged_paths))
    removed = property(lambda self: len(self.removed_paths))

    def __str__(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.removed} removed, {len(self.skipped)} skipped; {self.chunks} chunks "
                f"written in {self.seconds:.2f} s")  # fmt: skip


class KnowledgeIndex:
    """A knowledge index in the SQLite file ``path`` (created when missing).

    Args:
        path: the index file (``":memory:"`` for a throwaway index).
        embedder: makes vectors for chunks and queries (e.g. :class:`OpenAIEmbeddings`);
            ``None``: BM25 only.
        chunk_tokens, overlap_tokens: chunk size and overlap (about 4 characters a token).
        max_file_bytes: files over this size are skipped.

    Raises:
        KnowledgeError: ``path`` is not a knowledge index (another SQLite database, or not
            a database at all), or was made by a newer graphflow; bad chunk sizes.
    """

    def __init__(self, path: str | os.PathLike[str], *, embedder: Embedder | None = None,
                 chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
                 overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
                 max_file_bytes: int = MAX_FILE_BYTES) -> None:  # fmt: skip
        self.path = str(path)
        if chunk_tokens < 1 or not 0 <= overlap_tokens < chunk_tokens:
            raise KnowledgeError(f"chunk_tokens {chunk_tokens} and overlap_tokens "
                                 f"{overlap_tokens}: need chunk_tokens >= 1 and 0 <= "
                                 "overlap_tokens < chunk_tokens", path=self.path)  # fmt: skip
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.max_file_bytes = max_file_bytes
        self._settings = f"tokens={chunk_tokens};overlap={overlap_tokens}"
        self._lock = threading.RLock()
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.is_dir():
                raise KnowledgeError(f"index {self.path}: folder {parent} does not exist; "
                                     "create it or choose another --index path", path=self.path)
        driver = sqlite_driver(embedder is not None)
        try:
            self.conn = driver.connect(self.path, isolation_level=None, check_same_thread=False)
        except driver.Error as exc:
            raise KnowledgeError(f"cannot open index {self.path} ({exc}); give --index a "
                                 "file name in a folder you can write", path=self.path) from None
        try:
            self.conn.execute("PRAGMA busy_timeout = 10000")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self._open()
        except driver.DatabaseError as exc:
            self.conn.close()
            if _busy(exc):
                raise KnowledgeError(f"index {self.path} is busy: another process has held "
                                     "it for over 10 s; try again", path=self.path) from None
            raise KnowledgeError(f"{self.path} is not a knowledge index ({exc}); give "
                                 "--index a new file name", path=self.path) from None  # fmt: skip
        except KnowledgeError:
            self.conn.close()
            raise
        self.has_sqlite_vec = load_sqlite_vec(self.conn)

    def _open(self) -> None:
        """Create or check the schema. Several processes may open one new index at once:
        the check and the creation are one ``BEGIN IMMEDIATE`` transaction, and a lock
        held by another opener is waited for (up to about 10 s)."""
        deadline = time.monotonic() + 10
        while True:
            try:
                self._create_or_check()
                return
            except KnowledgeError:
                raise
            except Exception as exc:
                if not _busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _create_or_check(self) -> None:
        if self.path != ":memory:":
            mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                self.conn.execute("PRAGMA journal_mode = WAL")
        with _transaction(self.conn):  # nothing is written unless the file is ours or new
            tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master")}
            if tables:
                self._check_meta("meta" in tables)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            if not tables:
                self.conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                      [("format", _FORMAT), ("version", _VERSION)])

    def _check_meta(self, has_meta: bool) -> None:
        """Refuse an SQLite file that is not a knowledge index (a run database has a
        ``meta`` table too) or is one of another format version."""
        meta: dict[str, Any] = {}
        if has_meta:
            try:
                meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
            except Exception:  # a meta table of other columns
                meta = {}
        if meta.get("format") != _FORMAT:
            raise KnowledgeError(f"{self.path} is an SQLite database but not a knowledge "
                                 "index; give --index a new file name", path=self.path)
        if meta.get("version") != _VERSION:
            raise KnowledgeError(f"{self.path} has index format {meta.get('version')}; this "
                                 f"graphflow reads format {_VERSION}", path=self.path)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self.conn.close()

    def __enter__(self) -> KnowledgeIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading ---------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        """``{files, chunks, vectors, embedder, path}``."""
        with self._lock:
            count = lambda table: self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: E731
            embedder = self.conn.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
            return {"path": self.path, "files": count("files"), "chunks": count("chunks"),
                    "vectors": count("vectors"), "embedder": embedder[0] if embedder else None}

    def files(self) -> list[dict[str, object]]:
        """The indexed files: ``{path, source, chunks, hash, indexed_at}``, by path."""
        with self._lock:
            rows = self.conn.execute("SELECT path, source, chunks, hash, indexed_at FROM files "
                                     "ORDER BY path").fetchall()  # fmt: skip
        return [dict(zip(("path", "source", "chunks", "hash", "indexed_at"), r, strict=True))
                for r in rows]  # fmt: skip

    def search(self, query: str, k: int = 5, *, mode: SearchMode = "auto",
               exclude: Iterable[int] = (), contains: str | None = None) -> list[Hit]:  # fmt: skip
        """The ``k`` chunks that best match ``query``.

        Args:
            mode: ``bm25`` (full text), ``vector`` (embeddings), ``hybrid`` (both, fused by
                reciprocal rank), ``auto`` (hybrid when the index has vectors and an
                embedder, else bm25).
            exclude: chunk ids to leave out (those already shown).
            contains: only chunks whose text holds this exact string (case-sensitive;
                AutoGen's ``search_string``).

        Raises:
            KnowledgeError: ``vector``/``hybrid`` without an embedder, or an embedder
                other than the one the index was built with.
        """
        from graphflow.knowledge import search as ranking

        with self._lock:
            return ranking.search(self, query, k, mode=mode, exclude=set(exclude),
                                  contains=contains or None)  # fmt: skip

    # ---- writing ---------------------------------------------------------------------

    def add(self, paths: Sequence[str | os.PathLike[str]], *,
            progress: Callable[[str, str], None] | None = None) -> IngestReport:  # fmt: skip
        """Index files and folders (folders recursively, skipping :data:`IGNORED_DIRS`
        and hidden entries; files of unsupported types inside folders are ignored).

        Args:
            paths: files and folders.
            progress: called with ``(path, what)`` for each file (``added``, ``updated``,
                ``unchanged``, ``removed`` or ``skipped: REASON``).

        Returns:
            The :class:`IngestReport`. A file that cannot be indexed (binary, over the
            size cap, unreadable) is listed under ``skipped`` with the reason, and its
            earlier version, if any, is removed from the index. A folder with nothing to
            index is listed under ``skipped``.

        Raises:
            KnowledgeError: a path does not exist (checked before anything is indexed),
                or embedding fails (the file being indexed is left as it was).
        """
        started = time.perf_counter()
        missing = [str(p) for p in paths if not Path(p).exists()]
        if missing:
            dangling = [p for p in missing if Path(p).is_symlink()]
            what = (f" ({', '.join(dangling)}: a symbolic link to nothing, or a loop of links)"
                    if dangling else "")  # fmt: skip
            raise KnowledgeError(f"no such file or folder: {', '.join(missing)}{what}",
                                 path=missing[0])  # fmt: skip
        report = IngestReport()
        note = progress or (lambda path, what: None)
        cwd = Path.cwd().resolve()
        with self._lock:
            self._check_embedder()
            for given in paths:
                root = Path(given).resolve()
                found = list(_walk(root)) if root.is_dir() else [root]
                if root.is_dir() and not found:
                    report.skipped.append(Skipped(str(given), "no files to index (the folder is "
                                                  "empty or has no supported file types)"))
                    note(str(given), "skipped: empty folder")
                for file in found:
                    if root.is_dir() and not _inside(file, root):
                        self._refuse(file, "a symbolic link to outside the folder (add its "
                                     "target by name to index it)", report)  # fmt: skip
                        note(str(file), "skipped: symbolic link to outside the folder")
                        continue
                    what = self._add_file(file, _source(file, root, cwd), report)
                    note(str(file), what)
                if root.is_dir():
                    for gone in self._vanished(root, {str(f) for f in found}):
                        self._remove(gone)
                        report.removed_paths.append(gone)
                        note(gone, "removed")
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Remove files (or every file under a folder) from the index; returns the
        removed paths."""
        removed: list[str] = []
        with self._lock:
            for given in paths:
                root = str(Path(given).resolve())
                rows = self.conn.execute("SELECT path FROM files WHERE path = ? OR path LIKE ?",
                                         (root, root.rstrip(os.sep) + os.sep + "%")).fetchall()
                for (path,) in rows:
                    self._remove(path)
                    removed.append(path)
        return removed

    def _check_embedder(self) -> None:
        if self.embedder is None:
            return
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
        if row and row[0] != self.embedder.name:
            raise KnowledgeError(f"index {self.path} holds vectors of {row[0]!r}, not of "
                                 f"{self.embedder.name!r}; use that model or a new index file",
                                 path=self.path)  # fmt: skip

    def _add_file(self, file: Path, source: str, report: IngestReport) -> str:
        path = str(file)
        row = self.conn.execute("SELECT hash, size, mtime_ns, settings, embedded FROM files "
                                "WHERE path = ?", (path,)).fetchone()  # fmt: skip
        embedded = self.embedder.name if self.embedder else None
        try:
            stat = file.stat()
            current = row is not None and row[3] == self._settings and (row[4] == embedded or
                                                                        embedded is None)
            if current and row[1] == stat.st_size and row[2] == stat.st_mtime_ns:
                report.unchanged_paths.append(path)
                return "unchanged"
            data = read_bytes(file, self.max_file_bytes)
            digest = hashlib.sha256(data).hexdigest()
            if current and row[0] == digest:
                with _transaction(self.conn):
                    self.conn.execute("UPDATE files SET mtime_ns = ?, size = ? WHERE path = ?",
                                      (stat.st_mtime_ns, stat.st_size, path))
                report.unchanged_paths.append(path)
                return "unchanged"
            doc = load_document(file, source, data=data, max_file_bytes=self.max_file_bytes)
            try:
                chunks = split_document(doc, chunk_tokens=self.chunk_tokens,
                                        overlap_tokens=self.overlap_tokens)  # fmt: skip
            except Exception as exc:  # a parser's failure on one file must not stop the others
                raise LoadRefused(f"cannot be split ({type(exc).__name__}: {exc})") from None
            if not chunks:
                raise LoadRefused("no text in it")
        except LoadRefused as exc:
            self._refuse(file, exc.reason, report)
            return f"skipped: {exc.reason}"
        vectors = self.embedder.embed([_embedded_text(c) for c in chunks]) if self.embedder else None
        self._write(path, source, digest, stat, chunks, vectors)
        report.chunks += len(chunks)
        (report.updated_paths if row is not None else report.added_paths).append(path)
        return "updated" if row is not None else "added"

    def _refuse(self, file: Path, reason: str, report: IngestReport) -> None:
        """List ``file`` as skipped and remove what the index held of it."""
        path = str(file)
        if self.conn.execute("SELECT 1 FROM files WHERE path = ?", (path,)).fetchone():
            self._remove(path)
        report.skipped.append(Skipped(path, reason))

    def _write(self, path: str, source: str, digest: str, stat: os.stat_result,
               chunks: list[Chunk], vectors: list[list[float]] | None) -> None:  # fmt: skip
        with _transaction(self.conn):
            self._delete_chunks(path)
            for ordinal, chunk in enumerate(chunks):
                cursor = self.conn.execute(
                    "INSERT INTO chunks (path, ordinal, source, start_line, end_line, section, "
                    "text) VALUES (?, ?, ?, ?, ?, ?, ?)", (path, ordinal, chunk.source,
                    chunk.start_line, chunk.end_line, chunk.section, chunk.text))  # fmt: skip
                chunk_id = cursor.lastrowid
                self._insert_text(chunk_id, chunk)
                if vectors is not None:
                    self.conn.execute("INSERT INTO vectors VALUES (?, ?)",
                                      (chunk_id, pack(vectors[ordinal])))
            if vectors is not None and self.embedder is not None:
                self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('embedder', ?)",
                                  (self.embedder.name,))
            self.conn.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (path, source, digest, stat.st_size, stat.st_mtime_ns, self._settings,
                 self.embedder.name if vectors is not None and self.embedder else None,
                 len(chunks), time.time()))  # fmt: skip

    def _insert_text(self, chunk_id: int | None, chunk: Chunk) -> None:
        self.conn.execute("INSERT INTO chunks_fts (rowid, text, section) VALUES (?, ?, ?)",
                          (chunk_id, chunk.text, chunk.section))

    def _delete_chunks(self, path: str) -> None:
        ids = "SELECT id FROM chunks WHERE path = ?"
        self.conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({ids})", (path,))
        self.conn.execute(f"DELETE FROM vectors WHERE chunk_id IN ({ids})", (path,))
        self.conn.execute("DELETE FROM chunks WHERE path = ?", (path,))

    def _remove(self, path: str) -> None:
        with _transaction(self.conn):
            self._delete_chunks(path)
            self.conn.execute("DELETE FROM files WHERE path = ?", (path,))

    def _vanished(self, root: Path, present: set[str]) -> list[str]:
        prefix = str(root).rstrip(os.sep) + os.sep
        rows = self.conn.execute("SELECT path FROM files WHERE substr(path, 1, ?) = ?",
                                 (len(prefix), prefix)).fetchall()  # fmt: skip
        return [path for (path,) in rows if path not in present]


def _busy(exc: BaseException) -> bool:
    """Whether an SQLite error is another connection's lock (``database is locked``)."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` when the block raises."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _walk(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS and not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            if not name.startswith(".") and kind_of(path) is not None and path.is_file():
                yield path


def _inside(file: Path, root: Path) -> bool:
    """Whether ``file``, symbolic links resolved, is inside the folder ``root`` (resolved):
    a link in an added folder must not pull in files from elsewhere (``~/.ssh/…``)."""
    try:
        return file.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop
        return False


def _source(file: Path, root: Path, cwd: Path) -> str:
    """The path shown in citations: relative to the current directory when the file is
    under it, else relative to the added folder's parent (``docs/cli.md``); control
    characters escaped (:func:`printable`)."""
    try:
        source = file.relative_to(cwd).as_posix()
    except ValueError:
        base = root.parent if root.is_dir() else file.parent
        source = file.relative_to(base).as_posix()
    return printable(source)  # a name with a newline must not forge a second citation


def _embedded_text(chunk: Chunk) -> str:
    return f"{chunk.section}\n{chunk.text}" if chunk.section else chunk.text
