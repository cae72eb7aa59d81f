"""Streaming: assembling a streamed chat completion (content and tool-call deltas) into
one answer, and cutting an answer into the pieces an in-process model streams."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["CallbackFailed", "StreamAssembler", "split_text"]

_PIECE = re.compile(r"\s*\S+\s*|\s+")


def split_text(text: str) -> list[str]:
    """Cut text into streaming pieces (a word with its spaces); joined they give ``text``.

    Example:
        >>> split_text("Hello big world")
        ['Hello ', 'big ', 'world']
    """
    return _PIECE.findall(text)


class CallbackFailed(Exception):
    """The caller's ``on_token`` raised; ``original`` is re-raised as is, never retried."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class StreamAssembler:
    """Collects the chunks of a streamed completion.

    Content deltas are concatenated and passed to ``on_token``; tool-call deltas are
    merged by their ``index`` (id and type taken from the first delta that has them,
    name and arguments concatenated), as the OpenAI streaming format specifies.

    Example:
        >>> parts = []
        >>> s = StreamAssembler(parts.append)
        >>> s.add({"choices": [{"delta": {"content": "Hel"}}]})
        >>> s.add({"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]})
        >>> s.content, parts, s.finish_reason
        ('Hello', ['Hel', 'lo'], 'stop')
    """

    def __init__(self, on_token: Callable[[str], None] | None = None) -> None:
        self.on_token = on_token
        self.parts: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.chunks = 0
        self.saw_choice = False

    def add(self, chunk: dict[str, Any]) -> None:
        """Take one chunk (as a dict)."""
        self.chunks += 1
        self.model = chunk.get("model") or self.model
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            self.saw_choice = True
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                self.parts.append(text)
                if self.on_token is not None:
                    try:
                        self.on_token(text)
                    except Exception as exc:
                        raise CallbackFailed(exc) from exc
            for call in delta.get("tool_calls") or ():
                self._merge_call(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def _merge_call(self, delta: dict[str, Any]) -> None:
        index = int(delta.get("index", len(self.calls)))
        call = self.calls.setdefault(
            index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if delta.get("id"):
            call["id"] = delta["id"]
        if delta.get("type"):
            call["type"] = delta["type"]
        function = delta.get("function") or {}
        if function.get("name"):
            call["function"]["name"] += function["name"]
        if function.get("arguments"):
            call["function"]["arguments"] += function["arguments"]

    @property
    def content(self) -> str:
        """The content streamed so far."""
        return "".join(self.parts)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool calls, in index order, with ids filled in when the server sent none."""
        out = []
        for position, index in enumerate(sorted(self.calls)):
            call = self.calls[index]
            if not call["id"]:
                call = {**call, "id": f"call_{position}"}
            out.append(call)
        return out
