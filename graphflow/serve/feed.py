"""Live event streams of runs, read from the store: what ``GET /api/runs/{id}/events``
sends as Server-Sent Events.

A run's stream is derived from what its store has committed, so it works for runs that
any process advances, and it is the same for every watcher. In order, step by step:

- ``message`` — each stored message (the run's input first), with ``seq`` and ``step``;
- ``step`` — each committed step (nodes, changed variables, next frontier, usage, time),
  after that step's messages;
- ``run`` — the run's summary (status, question, usage) whenever it changed;
- ``token`` — pieces of a model's answer streamed while a run *this server runs* is in a
  step (live only: they are not stored, and a reconnecting watcher does not get them back;
  the committed message follows), redacted as the text they make up, so a key split
  across pieces is caught (the last word is held back until it ends);
- ``end`` — the run ended (completed, stopped by a limit …): nothing more will come, and
  the server closes the stream. A waiting, running or failed run's stream stays open (it
  may be answered or resumed).

Every ``message`` and ``step`` event has an id ``mMsN``: M messages and N steps (counted
from the run's start) were sent up to and including it. A client that reconnects with
``Last-Event-ID: mMsN`` (browsers' ``EventSource`` does so by itself) gets exactly the
events after it: none twice, none lost.

One :class:`RunFeed` per watched run polls the store (every ``poll`` seconds, or at once
when the server's own run commits a step) and fans each new event, encoded once, out to
every watcher's queue. A watcher that falls more than :data:`MAX_QUEUED` events behind is
disconnected; it reconnects with its last id and reads the rest from the feed's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphflow.errors import GraphflowError
from graphflow.resuming import RESUMABLE
from graphflow.secrets import secret_values
from graphflow.serve.views import message_json, redacted, run_summary, step_json

if TYPE_CHECKING:
    from graphflow.events import Event
    from graphflow.store import RunReader

__all__ = ["MAX_QUEUED", "Cursor", "EventHub", "RunFeed", "encode", "parse_cursor"]

logger = logging.getLogger("graphflow.serve")

#: Events a watcher may have queued before it is disconnected (it then reconnects).
MAX_QUEUED = 5000
_CURSOR = re.compile(r"^m(\d{1,12})s(\d{1,12})$")
#: Events of the server's own runs that make the feed read the store at once.
_NUDGES = ("step_finished", "waiting", "finished", "run_started", "error")


@dataclass(frozen=True, order=True)
class Cursor:
    """How far a watcher has read: ``messages`` (seq of the next message) and ``steps``
    (the number of the next step whose event is due)."""

    messages: int = 0
    steps: int = 0

    def __str__(self) -> str:
        return f"m{self.messages}s{self.steps}"


def parse_cursor(text: str | None) -> Cursor:
    """The cursor of a ``Last-Event-ID`` header (``None`` or empty: from the start).

    Raises:
        ValueError: it is not an id this server sent (``mMsN``).

    Example:
        >>> parse_cursor("m12s3"), parse_cursor(None)
        (Cursor(messages=12, steps=3), Cursor(messages=0, steps=0))
    """
    if not text or not text.strip():
        return Cursor()
    match = _CURSOR.match(text.strip())
    if match is None:
        raise ValueError(f"Last-Event-ID {text[:40]!r} is not an event id of this server "
                         "(mMsN, e.g. m12s3); send the id of the last event received, or none "
                         "to start from the beginning")  # fmt: skip
    return Cursor(int(match.group(1)), int(match.group(2)))


def encode(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One Server-Sent Event: ``id:`` (if any), ``event:`` and one ``data:`` line of JSON."""
    head = f"id: {event_id}\n" if event_id else ""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"{head}event: {event}\ndata: {text}\n\n".encode()


#: Characters of a word a token stream holds back at most (a key is shorter).
_HOLD = 1000


@dataclass
class _Stream:
    """The text one node has streamed in a step, redacted as a whole: a key split
    across tokens is recognised once its pieces are together. The last word is held
    back until a space ends it, it grows past :data:`_HOLD` or the step ends, since it
    may be the start of a key; what is sent adds up to the redacted text."""

    text: str = ""
    sent: int = 0  # characters of the redacted text sent

    def add(self, piece: str, *, final: bool = False) -> str:
        """Take ``piece``; return the redacted text that can be sent now (all of it when
        ``final``: the step ended)."""
        self.text += piece
        cut = max(self.text.rfind(" "), self.text.rfind("\n")) + 1
        if final or len(self.text) - cut > _HOLD:
            cut = len(self.text)
        ready = redacted(self.text[:cut])
        out, self.sent = ready[self.sent:], max(self.sent, len(ready))
        return str(out)


@dataclass
class _Item:
    kind: str  # message | step
    number: int  # seq of a message, number of a step
    after: Cursor
    data: bytes


@dataclass(eq=False)
class Watcher:
    """One client's queue of encoded events (``None`` closes the stream)."""

    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def push(self, data: bytes | None) -> None:
        if self.closed:
            return
        if data is None or self.queue.qsize() >= MAX_QUEUED:
            self.closed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(data)


class RunFeed:
    """The events of one run read from the store so far, and the watchers of them."""

    def __init__(self, store: RunReader, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.log: list[_Item] = []
        self.cursor = Cursor()
        self.summary: dict[str, Any] | None = None
        self.summary_data: bytes | None = None
        self.ended = False
        self.watchers: set[Watcher] = set()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.streams: dict[tuple[int, str], _Stream] = {}  # (step, node): streamed text

    def refresh(self) -> None:
        """Read what the store committed since the last read and send it to every
        watcher (messages and steps up to the run's head only, so that each step's
        messages come before its step event). Raises RunNotFound."""
        record = self.store.get_run(self.run_id)
        head = record.last_step
        secrets = frozenset(secret_values())
        new: list[_Item] = []
        if head >= self.cursor.steps or self.store.message_count(self.run_id) > self.cursor.messages:
            messages = [m for m in self.store.message_rows(self.run_id,
                                                           from_seq=self.cursor.messages)
                        if m["step"] <= head]  # fmt: skip
            steps = [s for s in self.store.steps(self.run_id, from_step=self.cursor.steps)
                     if s["step"] <= head]  # fmt: skip
            new = self._items(messages, steps, secrets)
        summary = redacted(run_summary(record), secrets)
        for item in new:
            self.log.append(item)
            self._send(item.data)
        if summary != self.summary:
            self.summary, self.summary_data = summary, encode("run", summary)
            self._send(self.summary_data)
        if record.status not in RESUMABLE and not self.ended:
            self.ended = True
            self._send(encode("end", {"run_id": self.run_id, "status": record.status}))
            for watcher in list(self.watchers):
                watcher.push(None)

    def _items(self, messages: list[Any], steps: list[Any], secrets: frozenset[str]) -> list[_Item]:
        by_step: dict[int, list[Any]] = {}
        for m in messages:
            by_step.setdefault(int(m["step"]), []).append(m)
        step_rows = {int(s["step"]): s for s in steps}
        out = []
        cursor = self.cursor
        for number in sorted(set(by_step) | set(step_rows)):
            for m in sorted(by_step.get(number, []), key=lambda row: row["seq"]):
                cursor = Cursor(int(m["seq"]) + 1, cursor.steps)
                out.append(_Item("message", int(m["seq"]), cursor,
                                 encode("message", redacted(message_json(m), secrets), str(cursor))))
            if number in step_rows:
                cursor = Cursor(cursor.messages, number + 1)
                out.append(_Item("step", number, cursor,
                                 encode("step", redacted(step_json(step_rows[number]), secrets),
                                        str(cursor))))  # fmt: skip
        self.cursor = cursor
        return out

    def _send(self, data: bytes) -> None:
        for watcher in list(self.watchers):
            watcher.push(data)
            if watcher.closed:
                self.watchers.discard(watcher)

    def join(self, after: Cursor) -> Watcher:
        """A new watcher, with every logged event after ``after``, the run's summary and
        (for an ended run) the end already queued."""
        watcher = Watcher()
        for item in self.log:
            seen = item.number < after.messages if item.kind == "message" else item.number < after.steps
            if not seen:
                watcher.push(item.data)
        if self.summary_data is not None:
            watcher.push(self.summary_data)
        if self.ended:
            watcher.push(encode("end", {"run_id": self.run_id, "status": (self.summary or {}).get("status")}))
            watcher.push(None)
        else:
            self.watchers.add(watcher)
        return watcher


class EventHub:
    """The feeds of the runs being watched: one poller per run, whatever the number of
    watchers; ``poll`` is the seconds between reads of the store, ``keepalive`` the
    seconds between comments sent on a quiet stream."""

    def __init__(self, store: RunReader, *, poll: float = 0.5, keepalive: float = 15.0) -> None:
        self.store = store
        self.poll = poll
        self.keepalive = keepalive
        self.feeds: dict[str, RunFeed] = {}

    def publish(self, event: Event) -> None:
        """Take an event of a run this server runs: stream its tokens to the run's
        watchers; on a committed step, a pause or an end, read the store at once."""
        feed = self.feeds.get(event.run_id)
        if feed is None:
            return
        if event.type == "token":
            node = str(getattr(event, "node", ""))
            text = feed.streams.setdefault((event.step, node), _Stream()).add(
                str(getattr(event, "text", "")))  # fmt: skip
            if text:
                data = {"run_id": event.run_id, "step": event.step, "node": node, "text": text}
                feed._send(encode("token", redacted(data)))
        elif event.type in _NUDGES:
            for (step, node), stream in feed.streams.items():  # the words held back
                rest = stream.add("", final=True)
                if rest:
                    data = {"run_id": event.run_id, "step": step, "node": node, "text": rest}
                    feed._send(encode("token", redacted(data)))
            feed.streams.clear()  # the committed messages follow
            feed.wake.set()

    def open(self, run_id: str, after: Cursor) -> Watcher:
        """Start watching run ``run_id`` after ``after``. Raises RunNotFound."""
        feed = self.feeds.get(run_id)
        if feed is None:
            feed = RunFeed(self.store, run_id)
            feed.refresh()
            self.feeds[run_id] = feed
        watcher = feed.join(after)
        if not feed.ended and (feed.task is None or feed.task.done()):
            feed.task = asyncio.ensure_future(self._poll(feed))
        return watcher

    def close(self, run_id: str, watcher: Watcher) -> None:
        """Stop watching (the client went away); the feed stops when nobody watches."""
        watcher.closed = True
        feed = self.feeds.get(run_id)
        if feed is None:
            return
        feed.watchers.discard(watcher)
        if not feed.watchers:
            self.feeds.pop(run_id, None)
            if feed.task is not None:
                feed.task.cancel()
            feed.wake.set()

    async def _poll(self, feed: RunFeed) -> None:
        while not feed.ended and self.feeds.get(feed.run_id) is feed:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(feed.wake.wait(), self.poll)
            feed.wake.clear()
            try:
                feed.refresh()
            except Exception as exc:  # deleted, damaged, unreadable: end the streams
                if not isinstance(exc, GraphflowError):
                    logger.exception("reading run %s for its event stream failed", feed.run_id)
                for watcher in list(feed.watchers):
                    watcher.push(None)
                break
        if self.feeds.get(feed.run_id) is feed and feed.ended:
            self.feeds.pop(feed.run_id, None)

    async def stream(self, run_id: str, watcher: Watcher) -> AsyncIterator[bytes]:
        """The bytes of one SSE response: a ``retry`` hint, then the watcher's events,
        with a comment every ``keepalive`` seconds while nothing happens."""
        try:
            yield b"retry: 2000\n\n"
            while True:
                try:
                    data = await asyncio.wait_for(watcher.queue.get(), self.keepalive)
                except asyncio.TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if data is None:
                    return
                yield data
        finally:
            self.close(run_id, watcher)

    def end_streams(self) -> None:
        """End every open stream (the server is stopping; clients reconnect later with
        their last event id) and stop the pollers."""
        for run_id, feed in list(self.feeds.items()):
            for watcher in list(feed.watchers):
                watcher.push(None)
            if feed.task is not None:
                feed.task.cancel()
            self.feeds.pop(run_id, None)

    async def aclose(self) -> None:
        """End every stream and stop the pollers."""
        self.end_streams()
