"""Helpers shared by the tool tests: a dict-backed journal and node contexts."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from graphflow.context import RunContext
from graphflow.kinds.base import NodeContext
from graphflow.messages import Message, State

__all__ = ["Journal", "call", "node_context"]


class Journal:
    """An in-memory effect journal with the scheduler's contract (JSON values)."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}

    async def __call__(self, key: str, thunk: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self.entries:
            self.entries[key] = json.loads(json.dumps(await thunk()))
        return self.entries[key]


def node_context(work_dir: Path | None = None, journal: Journal | None = None,
                 messages: list[Message] | None = None) -> NodeContext:  # fmt: skip
    return NodeContext("run-7", 2, "tools", State(messages=list(messages or [])),
                       RunContext(work_dir=work_dir), effects=journal)  # fmt: skip


def call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    """An OpenAI-shaped tool call (``arguments`` given as an object is JSON-encoded)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}
