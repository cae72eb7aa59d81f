"""Artifacts as model-written code can name them: names with terminal control characters
in `graphflow show`, and names that clash or are too long when written out."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from graphflow.errors import GraphflowError
from graphflow.show import print_run, save_artifacts
from graphflow.store import MemoryStore, Store
from tests.execution.test_artifacts import graph


def test_show_prints_control_characters_of_an_artifact_name_visibly(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    result = graph("no code").compile().run_sync(store=store, work_dir=tmp_path / "w")
    for name in ("red\x1b[31mALERT\x1b[0m.txt", "two\nlines.txt", "\u202egnp.exe",
                 "[bold]markup[/].txt"):  # fmt: skip
        store.put_artifact(result.run_id, 1, "run_code", name, "text/plain", b"x")
    out = io.StringIO()
    print_run(Console(file=out, width=300), store, result.run_id)
    listing = out.getvalue().split("artifacts (4)", 1)[1]
    assert "\x1b" not in listing and "\u202e" not in listing  # nothing reaches the terminal
    assert "red\\x1b[31mALERT\\x1b[0m.txt" in listing
    assert "two\\nlines.txt" in listing and "\\u202egnp.exe" in listing
    assert "[bold]markup[/].txt" in listing


def test_save_artifacts_reports_names_it_cannot_write_and_writes_the_others(tmp_path: Path) -> None:
    store = MemoryStore()
    result = graph("no code").compile().run_sync(store=store, work_dir=tmp_path / "w")
    for name in ("a", "a/b", "n" * 300 + ".txt", "ok.csv"):  # a file where a folder must be
        store.put_artifact(result.run_id, 1, "run_code", name, "text/plain", b"data")
    folder = tmp_path / "out"
    with pytest.raises(GraphflowError) as caught:
        save_artifacts(store, result.run_id, folder)
    message = str(caught.value)
    assert "wrote 2 of 4 artifacts" in message
    assert "'a/b'" in message and "'nnnnn" in message
    assert (folder / "a").read_bytes() == b"data" and (folder / "ok.csv").read_bytes() == b"data"


def test_the_cli_reports_an_artifact_it_cannot_save_without_a_traceback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from graphflow.cli import main

    store = Store(tmp_path / "runs.db")
    result = graph("no code").compile().run_sync(store=store, work_dir=tmp_path / "w")
    for name in ("a", "a/b"):
        store.put_artifact(result.run_id, 1, "run_code", name, "text/plain", b"data")
    store.close()
    out = CliRunner().invoke(main, ["show", result.run_id, "--db", str(tmp_path / "runs.db"),
                                    "--save-artifacts", str(tmp_path / "out")])  # fmt: skip
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output and "wrote 1 of 2 artifacts" in out.output
