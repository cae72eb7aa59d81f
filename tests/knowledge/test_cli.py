"""``graphflow index add`` and ``graphflow index search``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from graphflow.cli import main


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_add_then_search(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n\n## Fork\nFork a run from any step.\n")
    (docs / "blob.txt").write_bytes(b"\x00\x01binary")
    index = str(tmp_path / "i.sqlite")
    added = cli("index", "add", str(docs), "--index", index)
    assert added.exit_code == 0, added.output
    assert "1 added" in added.output and "blob.txt: binary file" in added.output
    again = cli("index", "add", str(docs), "--index", index, "--json")
    report = json.loads(again.output)
    assert report["unchanged"] == 1 and report["skipped"][0]["reason"].startswith("binary")
    found = cli("index", "search", "fork a run", "--index", index, "--json")
    hits = json.loads(found.output)
    assert hits[0]["source"] == "docs/guide.md" and hits[0]["start_line"] == 3
    shown = cli("index", "search", "fork a run", "--index", index)
    assert "[1] docs/guide.md:3-4" in shown.output and "Guide > Fork" in shown.output


def test_bad_input_exits_2_with_the_reason(tmp_path: Path) -> None:
    index = str(tmp_path / "i.sqlite")
    missing = cli("index", "add", str(tmp_path / "nowhere"), "--index", index)
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    (tmp_path / "empty").mkdir()
    empty = cli("index", "add", str(tmp_path / "empty"), "--index", index)
    assert empty.exit_code == 2 and "the folder is empty" in empty.output
    no_index = cli("index", "search", "x", "--index", str(tmp_path / "none.sqlite"))
    assert no_index.exit_code == 2 and "graphflow index add" in no_index.output
    runs = tmp_path / "runs.db"
    import sqlite3

    sqlite3.connect(runs).execute("CREATE TABLE runs (id)").connection.commit()
    other = cli("index", "search", "x", "--index", str(runs))
    assert other.exit_code == 2 and "not a knowledge index" in other.output
