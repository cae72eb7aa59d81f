"""Showing a run's progress while it executes: console, quiet, or JSON lines.

In ``console`` mode each committed message is printed as one line. When the output is a
terminal, a live status line sits under the messages: a spinner, the step count, the
node(s) running now, the elapsed time, tokens and cost so far (from the model layer's
usage events), and the tail of the answer a model is streaming. When the output is not a
terminal (a pipe, a file, CI), streamed tokens are written inline and the run ends with
one summary line; nothing redraws.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from graphflow import events as ev

__all__ = ["ConsoleProgress", "make_listener"]

_STREAM_LINES = 3


def _clock(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class ConsoleProgress:
    """Prints each message as it is committed, streamed tokens as they arrive, and
    waiting/failed notices, on a rich console; on a terminal, with a live status line.

    Args:
        console: a ``rich.console.Console`` (default: one on standard output).
        live: draw the live status line (default: when the console is a terminal).
        auto_refresh: redraw the status line on a timer (so the clock ticks while a
            model thinks); without it, it is redrawn at each event.
        notes: a console for lines about the run rather than its transcript — which
            models it uses and why (default: one on standard error).

    Example:
        >>> import io
        >>> from rich.console import Console
        >>> from graphflow import Graph
        >>> out = io.StringIO()
        >>> g = Graph("hi", entry="greet")
        >>> _ = g.add_node("greet", lambda state: "hello!")
        >>> result = g.compile().run_sync(on_event=ConsoleProgress(Console(file=out, width=60)))
        >>> print(out.getvalue().splitlines()[0])
           0 greet (assistant): hello!
    """

    def __init__(self, console: Any = None, *, live: bool | None = None,
                 auto_refresh: bool = True, notes: Any = None) -> None:  # fmt: skip
        from rich.console import Console

        if console is None:
            console = Console(highlight=False, soft_wrap=True, emoji=False)  # text as written
        self.console = console
        #: where lines about the run (not its transcript) go: the models it uses
        self.notes = notes if notes is not None else Console(stderr=True, highlight=False,
                                                             soft_wrap=True, emoji=False)  # fmt: skip
        self._said: set[str] = set()
        self.use_live = bool(console.is_terminal) if live is None else live
        self.auto_refresh = auto_refresh
        self.streaming: str | None = None
        self.stream_text = ""
        self.run_id: str | None = None
        self.started = time.monotonic()
        self.step: int | None = None
        self.steps_done = 0
        self.nodes: tuple[str, ...] = ()
        self.running: dict[str, None] = {}
        self.tokens = 0
        self.cost = 0.0
        self.unpriced = 0
        self._live: Any = None
        self._spinner: Any = None

    # ---- the status line ----------------------------------------------------------

    def status_text(self) -> str:
        """The status line as plain text: step, node(s), elapsed time, tokens, cost."""
        parts = [f"step {self.step}" if self.step is not None else "starting"]
        nodes = tuple(self.running) or self.nodes
        if nodes:
            shown = ", ".join(nodes[:4]) + (f" +{len(nodes) - 4}" if len(nodes) > 4 else "")
            parts.append(shown)
        parts.append(_clock(time.monotonic() - self.started))
        parts.append(f"{self.tokens:,} tokens")
        parts.append(self.cost_text())
        return " · ".join(parts)

    def cost_text(self) -> str:
        """The cost so far: ``$0.0123``, or ``cost unknown`` / ``≥ $0.0123`` when some
        calls had no known price."""
        if not self.unpriced:
            return f"${self.cost:.4f}"
        return f"≥ ${self.cost:.4f}" if self.cost else "cost unknown"

    def _renderable(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        self._spinner.update(text=Text(self.status_text(), style="bold"))
        if not self.stream_text:
            return self._spinner
        width = max(20, self.console.width - 4)
        lines = [line for line in self.stream_text.splitlines() if line.strip()][-_STREAM_LINES:]
        tail = [Text(f"  {self.streaming} ▸ ", style="cyan") + Text(_cut(line, width - 10))
                for line in lines[:1]] + [Text("    " + _cut(line, width - 4)) for line in lines[1:]]  # fmt: skip
        return Group(self._spinner, *tail)

    def _start_live(self) -> None:
        if not self.use_live or self._live is not None:
            return
        from rich.live import Live
        from rich.spinner import Spinner

        self._spinner = Spinner("dots", style="cyan")
        self._live = Live(console=self.console, get_renderable=self._renderable, transient=True,
                          auto_refresh=self.auto_refresh, refresh_per_second=8,
                          redirect_stdout=False, redirect_stderr=False)  # fmt: skip
        self._live.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Remove the live status line (safe to call more than once)."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()
            atexit.unregister(self.close)

    def _refresh(self) -> None:
        if self._live is not None and not self.auto_refresh:
            self._live.refresh()

    # ---- events -------------------------------------------------------------------

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self._run_started(event)
        elif isinstance(event, ev.StepStarted) and event.run_id == self.run_id:
            self.step, self.nodes, self.running = event.step, event.nodes, {}
        elif isinstance(event, ev.NodeStarted) and event.run_id == self.run_id:
            self.running[event.node] = None
        elif isinstance(event, ev.NodeFinished) and event.run_id == self.run_id:
            self.running.pop(event.node, None)
        elif isinstance(event, ev.StepFinished) and event.run_id == self.run_id:
            self.steps_done += 1
        elif isinstance(event, ev.UsageEvent):
            usage = event.usage or {}
            self.tokens += int(usage.get("prompt_tokens", 0) or 0)
            self.tokens += int(usage.get("completion_tokens", 0) or 0)
            self.cost += float(usage.get("cost", 0.0) or 0.0)
            self.unpriced += int(usage.get("unpriced_calls", 0) or 0)
        elif isinstance(event, ev.ModelsChosen):
            self._models(event)
        elif isinstance(event, ev.TokenEvent):
            self._token(event)
        elif isinstance(event, ev.MessageEvent):
            self._message(event)
        elif isinstance(event, ev.RunError):  # an error is for standard error
            self._end_stream()
            if self._live is not None:
                self._live.refresh()
            self.notes.print(f"[dim]{event.step:>4}[/] [bold red]error[/] in "
                             f"{_escape(event.node or '?')}: {_escape(event.error)}")  # fmt: skip
        elif isinstance(event, (ev.Waiting, ev.RunFinished)) and event.run_id == self.run_id:
            self._end_stream()
            self.close()
            self._summary(event)
        self._refresh()

    def _run_started(self, event: ev.RunStarted) -> None:
        if self.run_id is not None and self._live is not None:
            return  # an inner run of a subgraph node
        if event.run_id != self.run_id:
            self.run_id, self.started, self.tokens, self.cost = (
                event.run_id,
                time.monotonic(),
                0,
                0.0,
            )
            self.unpriced = 0
            self.steps_done = 0
        self.step = event.step
        self._start_live()

    def _models(self, event: ev.ModelsChosen) -> None:
        """Say once which models the run uses and why, on the notes console (stderr)."""
        line = "models: " + "; ".join(event.models) + (f" ({event.origin})" if event.origin else "")
        if line in self._said:
            return
        self._said.add(line)
        if self._live is not None:
            self._live.refresh()
        self.notes.print(f"[dim]{_escape(line)}[/]")

    def _print(self, text: str, **kwargs: Any) -> None:
        if self._live is not None:
            self._live.refresh()  # the line printed above it must not bring back stale status
        self.console.print(text, **kwargs)

    def _token(self, event: ev.TokenEvent) -> None:
        if self.use_live:
            if self.streaming != event.node:
                self.streaming, self.stream_text = event.node, ""
            self.stream_text += event.text
            return
        if self.streaming != event.node:
            self._end_stream()
            self._print(f"[dim]{event.step:>4}[/] [bold]{_escape(event.node)}[/] ", end="")
            self.streaming = event.node
        self._print(_escape(event.text), end="")

    def _end_stream(self) -> None:
        if self.streaming is not None and not self.use_live:
            self._print("")
        self.streaming, self.stream_text = None, ""

    def _message(self, event: ev.MessageEvent) -> None:
        was_streamed = self.streaming == event.node and not self.use_live
        self._end_stream()
        if was_streamed:
            return
        m = event.message
        speaker = m.name or m.node or m.role
        text = m.content or ""
        if m.tool_calls:
            calls = ", ".join(f"{c.get('function', {}).get('name')}(…)" for c in m.tool_calls)
            text = (text + "\n" if text else "") + f"[tool calls: {calls}]"
        self._print(f"[dim]{event.step:>4}[/] [bold cyan]{_escape(speaker)}[/] "
                    f"[dim]({m.role})[/]: {_escape(text)}")  # fmt: skip

    def _summary(self, event: ev.Event) -> None:
        done = "waiting" if isinstance(event, ev.Waiting) else getattr(event, "status", "")
        line = (f"{done}: {self.steps_done} steps in {_clock(time.monotonic() - self.started)}"
                f" · {self.tokens:,} tokens · {self.cost_text()}")  # fmt: skip
        self._print(f"[dim]{_escape(line)}[/]")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _escape(text: str) -> str:
    """Rich markup made literal, and control characters written as escapes (a model's
    text never drives the terminal)."""
    from rich.markup import escape

    from graphflow.terminal import visible

    return escape(visible(text, keep_lines=True))


def _jsonl(event: ev.Event) -> None:
    sys.stdout.write(json.dumps(event.to_dict(), default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def make_listener(mode: str) -> Callable[[ev.Event], None] | None:
    """The event listener for a CLI output mode.

    ``console``: messages as they happen (with a live status line on a terminal);
    ``jsonl``: every event as one JSON object per line; ``quiet``: nothing.

    Example:
        >>> make_listener("quiet") is None
        True
    """
    if mode == "jsonl":
        return _jsonl
    if mode == "quiet":
        return None
    return ConsoleProgress()
