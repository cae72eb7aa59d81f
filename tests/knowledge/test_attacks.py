"""Hostile and broken input to the knowledge index and RetrieveChat: symlinks, concurrent
writers, questions with FTS5 syntax, file names and chunk text that try to forge
citations or instructions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphflow.knowledge import KnowledgeIndex


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_symlinks_out_of_the_folder_are_not_followed(tmp_path: Path) -> None:
    secret = write(tmp_path / "home" / "secret.txt", "the lemur password is hunter2\n")
    folder = tmp_path / "docs"
    write(folder / "guide.md", "# Guide\nlemurs live on Madagascar\n")
    (folder / "leak.txt").symlink_to(secret)
    (folder / "outside").symlink_to(secret.parent, target_is_directory=True)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "inside.md").symlink_to(folder / "guide.md")  # inside the folder: fine
    with KnowledgeIndex(tmp_path / "i.sqlite") as index:
        report = index.add([folder])
        sources = {hit.chunk.source for hit in index.search("lemur password hunter2", 10)}
    assert not any("leak" in s or "secret" in s for s in sources), sources
    assert [Path(s.path).name for s in report.skipped] == ["leak.txt"]
    assert "outside the folder" in report.skipped[0].reason
    assert sorted(Path(p).name for p in report.added_paths) == ["guide.md", "inside.md"]
    # a symlink named on purpose is the user's choice
    with KnowledgeIndex(tmp_path / "i.sqlite") as index:
        assert index.add([folder / "leak.txt"]).added == 1


def test_many_openers_of_a_new_index_all_succeed(tmp_path: Path) -> None:
    # threads race like processes do: each opener has its own connection
    import threading

    failures: list[str] = []
    for trial in range(40):
        path, barrier = tmp_path / f"{trial}.sqlite", threading.Barrier(6)

        def open_it(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                KnowledgeIndex(path).close()
            except Exception as exc:  # the test reports any failure
                failures.append(f"{path.name}: {exc}")

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert failures == []
