"""Live progress in the terminal (graphflow.progress): plain lines, the live status line,
and the real CLI on a pseudo-terminal."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from graphflow import Graph, State
from graphflow.events import TokenEvent, UsageEvent
from graphflow.progress import ConsoleProgress, make_listener

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


async def writer(state: State, ctx: Any) -> str:
    """Streams its answer in pieces and reports its usage, as an agent node does."""
    for piece in ["Graphs ", "make ", "structure visible.\n", "Second line."]:
        ctx.emit(TokenEvent(ctx.run_id, ctx.step, ctx.node_id, piece))
        await asyncio.sleep(0)
    ctx.emit(UsageEvent(ctx.run_id, ctx.step, ctx.node_id,
                        usage={"prompt_tokens": 1000, "completion_tokens": 234, "cost": 0.0123}))  # fmt: skip
    return "Graphs make structure visible.\nSecond line."


def streaming_graph(ask: bool = False) -> Any:
    g = Graph("stream", entry="writer")
    g.add_node("writer", writer)
    g.add_node("critic", lambda s: "APPROVED")
    g.add_edge("writer", "critic")
    if ask:
        g.add_node("ok", kind="human", prompt="Fine?")
        g.add_edge("critic", "ok")
    return g.compile()


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = ConsoleProgress(Console(file=out, width=100, highlight=False, soft_wrap=True))
    assert progress.use_live is False
    streaming_graph().run_sync(on_event=progress)
    lines = out.getvalue().splitlines()
    assert lines == ["   0 writer Graphs make structure visible.", "Second line.",
                     "   1 critic (assistant): APPROVED",
                     lines[3]]  # fmt: skip
    assert re.fullmatch(r"completed: 2 steps in \d+\.\ds · 1,234 tokens · \$0\.0123", lines[3])
    assert "\x1b" not in out.getvalue()


class Recorder(ConsoleProgress):
    """Keeps the status line as it was after each event."""

    def __init__(self, console: Console) -> None:
        super().__init__(console, auto_refresh=False)
        self.seen: list[tuple[str, str, str]] = []

    def __call__(self, event: Any) -> None:
        super().__call__(event)
        self.seen.append((event.type, self.status_text(), self.stream_text))


def test_live_status_line_on_a_terminal() -> None:
    out = io.StringIO()
    progress = Recorder(Console(file=out, width=100, force_terminal=True, highlight=False))
    assert progress.use_live is True
    streaming_graph().run_sync(on_event=progress)
    by_type: dict[str, list[tuple[str, str]]] = {}
    for kind, status, stream in progress.seen:
        by_type.setdefault(kind, []).append((status, stream))
    assert by_type["node_started"][0][0].startswith("step 0 · writer · ")
    assert by_type["node_started"][1][0].startswith("step 1 · critic · ")
    streams = [stream for _, stream in by_type["token"]]
    assert streams == ["Graphs ", "Graphs make ", "Graphs make structure visible.\n",
                       "Graphs make structure visible.\nSecond line."]  # fmt: skip
    assert by_type["usage"][0][0].endswith("1,234 tokens · $0.0123")
    assert by_type["message"][0][1] == ""  # the streamed text gives way to the message
    screen = ANSI.sub("", out.getvalue())
    assert "step 0 · writer" in screen and "writer ▸ Graphs make" in screen
    assert "writer (assistant): Graphs make structure visible." in screen
    assert re.search(r"completed: 2 steps in \d+\.\ds · 1,234 tokens · \$0\.0123", screen)
    assert progress._live is None and out.getvalue().count("\x1b[?25h") >= 1  # cursor back


def test_live_line_is_gone_before_a_person_is_asked(store: Any) -> None:
    out = io.StringIO()
    progress = ConsoleProgress(Console(file=out, width=100, force_terminal=True),
                               auto_refresh=False)  # fmt: skip
    graph = streaming_graph(ask=True)
    result = graph.run_sync(on_event=progress, store=store)
    assert result.status == "waiting" and progress._live is None
    assert "waiting: 2 steps" in ANSI.sub("", out.getvalue())
    done = graph.resume_sync(result.run_id, input="yes", store=store, on_event=progress)
    assert done.status == "completed" and progress._live is None
    assert re.search(r"completed: 3 steps in \d+\.\ds · 1,234 tokens", ANSI.sub("", out.getvalue()))


def test_listener_modes(capsys: pytest.CaptureFixture[str]) -> None:
    assert make_listener("quiet") is None
    assert isinstance(make_listener("console"), ConsoleProgress)
    listener = make_listener("jsonl")
    assert listener is not None
    streaming_graph().run_sync(on_event=listener)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "run_started" and types[-1] == "finished"
    assert types.count("token") == 4 and types.count("usage") == 1


def test_cli_on_a_pseudo_terminal(tmp_path: Path) -> None:
    """`graphflow run` on a real (pseudo-)terminal draws the live line and removes it."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "graphflow.cli", "run", "quickstart", "--db",
                             str(tmp_path / "q.db"), "--no-interactive"], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 3
    os.close(leader)
    raw = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[?25l" in raw and "\x1b[?25h" in raw  # the live line hid the cursor, then left
    screen = ANSI.sub("", raw)
    assert "draft (assistant): [offline model]" in screen
    assert re.search(r"step \d+ · \w+ · \d+\.\ds · [0-9,]+ tokens · \$0\.0000", screen)
    assert re.search(r"waiting: 5 steps in \d+\.\ds · [0-9,]+ tokens · \$0\.0000", screen)
    assert "waiting at approve" in screen


def test_emoji_codes_in_a_message_are_printed_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    g = Graph("emoji", entry="say")
    g.add_node("say", lambda state: "the path nomodule:x: and :thumbs_up:")
    g.compile().run_sync(on_event=ConsoleProgress(live=False))
    assert "nomodule:x: and :thumbs_up:" in capsys.readouterr().out
