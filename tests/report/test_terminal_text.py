"""Text a model or the run's code wrote reaches the terminal printable: an escape
sequence in a message (clear the screen, retitle the window, hide text) is printed as
``\\x1b[…``, by ``graphflow run``'s progress and by ``graphflow show``; lines stay lines."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from graphflow import Graph
from graphflow.progress import ConsoleProgress
from graphflow.show import print_run
from graphflow.store import Store

HOSTILE = "first line\x1b[2J\x1b]0;owned\x07\nsecond\tline \u202eevil"


def _graph() -> Graph:
    g = Graph("hostile_text", entry="say")
    g.add_node("say", lambda state: HOSTILE)
    return g


def _check(out: str) -> None:
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "first line\\x1b[2J\\x1b]0;owned\\x07\n" in out
    assert re.search(r"\nsecond\s+line \\u202eevil", out)  # the tab is kept (as spaces)


def test_show_prints_a_message_s_control_characters_as_escapes(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    result = _graph().compile().run_sync(store=store)
    out = io.StringIO()
    print_run(Console(file=out, width=300), store, result.run_id)
    _check(out.getvalue())


def test_run_progress_prints_them_as_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    _graph().compile().run_sync(on_event=ConsoleProgress(Console(file=None, width=300),
                                                         live=False))  # fmt: skip
    _check(capsys.readouterr().out)
