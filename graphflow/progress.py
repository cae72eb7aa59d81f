"""Showing a run's progress while it executes: console, quiet, or JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from graphflow import events as ev

__all__ = ["ConsoleProgress", "make_listener"]


class ConsoleProgress:
    """Prints each message as it is committed, streamed tokens as they arrive, and
    waiting/failed notices, on a rich console."""

    def __init__(self, console: Any = None) -> None:
        if console is None:
            from rich.console import Console

            console = Console(highlight=False, soft_wrap=True)
        self.console = console
        self.streaming: str | None = None

    def __call__(self, event: ev.Event) -> None:
        from rich.markup import escape

        if isinstance(event, ev.TokenEvent):
            if self.streaming != event.node:
                self.console.print(f"[dim]{event.step:>4}[/] [bold]{escape(event.node)}[/] ",
                                   end="")  # fmt: skip
                self.streaming = event.node
            self.console.print(escape(event.text), end="")
            return
        if self.streaming is not None:
            self.console.print()
        if isinstance(event, ev.MessageEvent):
            if self.streaming == event.node:
                self.streaming = None
                return
            m = event.message
            speaker = m.name or m.node or m.role
            text = m.content or ""
            if m.tool_calls:
                calls = ", ".join(f"{c.get('function', {}).get('name')}(…)" for c in m.tool_calls)
                text = (text + "\n" if text else "") + f"[tool calls: {calls}]"
            self.console.print(f"[dim]{event.step:>4}[/] [bold cyan]{escape(speaker)}[/] "
                               f"[dim]({m.role})[/]: {escape(text)}")  # fmt: skip
        elif isinstance(event, ev.RunError):
            self.console.print(f"[dim]{event.step:>4}[/] [bold red]error[/] in "
                               f"{escape(event.node or '?')}: {escape(event.error)}")  # fmt: skip
        self.streaming = None


def _jsonl(event: ev.Event) -> None:
    sys.stdout.write(json.dumps(event.to_dict(), default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def make_listener(mode: str) -> Callable[[ev.Event], None] | None:
    """``console`` (messages as they happen), ``jsonl`` (every event), ``quiet`` (nothing)."""
    if mode == "jsonl":
        return _jsonl
    if mode == "quiet":
        return None
    return ConsoleProgress()
