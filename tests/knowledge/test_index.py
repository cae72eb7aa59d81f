"""The knowledge index: loading, splitting with source lines, incremental re-indexing,
bad input, and one transaction per file."""

from __future__ import annotations

import itertools
import os
import sqlite3
from pathlib import Path

import pytest

from graphflow.knowledge import KnowledgeError, KnowledgeIndex, load_document, split_document
from graphflow.knowledge.search import fts_query, reciprocal_rank_fusion
from tests.knowledge.files import write


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    write(folder / "guide.md", "# Guide\nintro line\n\n## Resume\nA waiting run resumes with "
          "`graphflow resume RUN --input TEXT`.\n\n## Fork\nFork a run from step N.\n")
    write(folder / "tools.py", '"""Tools."""\nimport os\n\n\n# adds\ndef add(a, b):\n'
          '    return a + b\n\n\nclass Shelf:\n    """A shelf of books."""\n')
    write(folder / "notes.txt", "plain text about lemurs\n")
    return folder


def test_markdown_sections_keep_their_heading_path_and_lines(docs: Path) -> None:
    doc = load_document(docs / "guide.md", "guide.md")
    chunks = split_document(doc)
    assert [(c.section, c.start_line, c.end_line) for c in chunks] == [
        ("Guide", 1, 2), ("Guide > Resume", 4, 5), ("Guide > Fork", 7, 8)]
    lines = doc.text.split("\n")
    for chunk in chunks:  # the lines cited are the chunk's text
        assert chunk.text == "\n".join(lines[chunk.start_line - 1:chunk.end_line])


def test_python_is_split_by_definition(docs: Path) -> None:
    chunks = split_document(load_document(docs / "tools.py", "tools.py"))
    assert [(c.section, c.start_line, c.end_line) for c in chunks] == [
        ("module", 1, 2), ("def add", 5, 7), ("class Shelf", 10, 11)]


def test_size_split_overlaps_and_covers_every_line(tmp_path: Path) -> None:
    text = "\n".join(f"line {i} " + "x" * 60 for i in range(1, 101))
    chunks = split_document(load_document(write(tmp_path / "a.txt", text), "a.txt"),
                            chunk_tokens=100, overlap_tokens=20)  # fmt: skip
    assert chunks[0].start_line == 1 and chunks[-1].end_line == 100
    for before, after in itertools.pairwise(chunks):
        assert after.start_line <= before.end_line  # overlap
        assert after.start_line > before.start_line
    assert all(len(c.text) <= 400 for c in chunks)


def test_search_cites_file_and_lines(docs: Path, tmp_path: Path) -> None:
    with KnowledgeIndex(tmp_path / "i.sqlite") as index:
        report = index.add([docs])
        assert report.added == 3 and not report.skipped
        hit = index.search("how does a waiting run resume?", 3)[0]
    assert hit.chunk.citation == "docs/guide.md:4-5"
    assert hit.chunk.section == "Guide > Resume"


def test_reindexing_is_incremental(docs: Path, tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite"
    with KnowledgeIndex(path) as index:
        index.add([docs])
    with KnowledgeIndex(path) as index:  # another process, the same file
        again = index.add([docs])
        assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 3, 0)
        write(docs / "notes.txt", "plain text about tarsiers now\n")
        os.utime(docs / "guide.md", ns=(1, 1))  # touched, same content: not re-split
        (docs / "tools.py").unlink()
        changed = index.add([docs])
        assert changed.updated_paths == [str((docs / "notes.txt").resolve())]
        assert changed.removed_paths == [str((docs / "tools.py").resolve())]
        assert changed.unchanged == 1 and changed.chunks == 1
        assert index.search("lemurs") == []
        assert index.search("tarsiers")[0].chunk.source == "docs/notes.txt"
        assert index.search("shelf books") == []
        assert {f["source"] for f in index.files()} == {"docs/guide.md", "docs/notes.txt"}


def test_bad_input_is_skipped_with_the_reason(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from graphflow.knowledge import loaders

    def guarded_open(path: object, *args: object, **kwargs: object) -> object:
        if str(path).endswith("locked.txt"):  # root reads files whatever their mode
            raise PermissionError(13, "Permission denied")
        return open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(loaders, "open", guarded_open, raising=False)
    folder = tmp_path / "mixed"
    write(folder / "ok.md", "# Fine\ntext\n")
    write(folder / "blob.txt", b"\x00\x01\x02binary")
    write(folder / "huge.txt", "y" * 5000)
    locked = write(folder / "locked.txt", "secret")
    locked.chmod(0)
    write(folder / "image.png", b"\x89PNG")  # unsupported types in folders are ignored
    (tmp_path / "empty").mkdir()
    with KnowledgeIndex(tmp_path / "i.sqlite", max_file_bytes=4000) as index:
        report = index.add([folder, tmp_path / "empty"])
        reasons = {Path(s.path).name: s.reason for s in report.skipped}
        assert report.added_paths == [str((folder / "ok.md").resolve())]
        assert "binary" in reasons["blob.txt"]
        assert "size cap of 4,000 bytes" in reasons["huge.txt"]
        assert "permission denied" in reasons["locked.txt"]
        assert "empty" in reasons["empty"]
        assert "image.png" not in reasons
        with pytest.raises(KnowledgeError, match=r"no such file or folder: .*missing"):
            index.add([folder, tmp_path / "missing"])
        # a file that turns binary loses its old chunks
        write(folder / "ok.md", b"\x00now binary")
        again = index.add([folder])
        assert "binary" in {Path(s.path).name: s.reason for s in again.skipped}["ok.md"]
        assert index.stats()["chunks"] == 0


def test_a_file_is_indexed_in_one_transaction(docs: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    path = tmp_path / "i.sqlite"
    with KnowledgeIndex(path) as index:
        index.add([docs / "guide.md"])
        before = index.stats()
        write(docs / "guide.md", "# New\n" + "\n".join(f"## S{i}\nbody {i}" for i in range(9)))
        calls = {"n": 0}
        original = KnowledgeIndex._insert_text

        def failing(self: KnowledgeIndex, chunk_id: int | None, chunk: object) -> None:
            calls["n"] += 1
            if calls["n"] == 4:  # the crash comes in the middle of the file
                raise sqlite3.OperationalError("disk I/O error")
            original(self, chunk_id, chunk)  # type: ignore[arg-type]

        monkeypatch.setattr(KnowledgeIndex, "_insert_text", failing)
        with pytest.raises(sqlite3.OperationalError):
            index.add([docs / "guide.md"])
        assert index.stats() == before  # the old version, whole
        assert index.search("resumes")[0].chunk.section == "Guide > Resume"
        assert index.search("body") == []
        monkeypatch.undo()
        assert index.add([docs / "guide.md"]).updated == 1
        assert index.stats()["chunks"] == 10


def test_not_an_index_is_a_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "runs.db"
    sqlite3.connect(other).execute("CREATE TABLE runs (id)").connection.commit()
    with pytest.raises(KnowledgeError, match="not a knowledge index"):
        KnowledgeIndex(other)
    junk = write(tmp_path / "junk.sqlite", b"this is no database" * 100)
    with pytest.raises(KnowledgeError, match="not a knowledge index"):
        KnowledgeIndex(junk)
    with pytest.raises(KnowledgeError, match="needs an embedding model"):
        KnowledgeIndex(":memory:").search("x", mode="hybrid")


def test_html_and_pdf_loaders(tmp_path: Path) -> None:
    pytest.importorskip("bs4")
    html = write(tmp_path / "p.html", "<html><head><title>t</title><style>p{}</style></head>"
                 "<body><h1>Lemurs</h1><script>var x</script><p>live in Madagascar</p></body>")
    assert load_document(html, "p.html").text == "Lemurs\nlive in Madagascar"
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(72, 72)
    with open(tmp_path / "blank.pdf", "wb") as handle:
        writer.write(handle)
    with KnowledgeIndex(":memory:") as index:
        report = index.add([tmp_path / "blank.pdf"])
    assert "without extractable text" in report.skipped[0].reason


def test_query_building_and_fusion() -> None:
    assert fts_query('what is "FTS5" OR NOT?') == '"fts5" OR "not"'
    assert fts_query("the") == '"the"'
    fused = reciprocal_rank_fusion({"bm25": [1, 2], "vector": [2, 3]})
    assert [item for item, _, _ in fused] == [2, 1, 3]
    assert fused[0][2] == {"bm25": 2, "vector": 1}
