"""How a run's model calls are stored: each prompt message once per run, by a key made
from its content, and each call as the list of its prompt's keys.

A node's prompt repeats the conversation so far, so storing every prompt whole would
grow with the square of the run's length; stored this way a run's calls take the size
of its distinct messages plus a short key per message sent. Both stores (SQLite and in
memory) use these helpers, so they store and return calls alike.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.errors import StoreCorrupt
from graphflow.store.codec import dumps, loads
from graphflow.store.protocol import ModelCall, ModelCallRow

__all__ = ["call_columns", "call_row", "encoded_calls", "prompt_entries"]

logger = logging.getLogger(__name__)


def prompt_entries(prompt: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(key, JSON text)`` of each prompt message, in order; equal messages share a key.

    Example:
        >>> entries = prompt_entries([{"role": "user", "content": "hi"}] * 2)
        >>> entries[0] == entries[1], len(entries[0][0])
        (True, 24)
    """
    out = []
    for message in prompt:
        text = dumps(message)
        out.append((hashlib.sha256(text.encode()).hexdigest()[:24], text))
    return out


def call_columns(call: ModelCall, keys: list[str]) -> dict[str, Any]:
    """The stored columns of a call (JSON values as text), its prompt as ``keys``."""
    return {"step": call["step"], "node": call["node"], "started_at": call["started_at"],
            "seconds": call["seconds"], "model": call.get("model"),
            "base_url": call.get("base_url"), "prompt": dumps(keys),
            "tools": dumps(call.get("tools") or []),
            "response": dumps(call["response"]) if call.get("response") is not None else None,
            "usage": dumps(call["usage"]) if call.get("usage") else None,
            "error": call.get("error")}  # fmt: skip


def encoded_calls(
    run_id: str, calls: Sequence[ModelCall]
) -> list[tuple[list[tuple[str, str]], dict[str, Any]]]:
    """Each call's :func:`prompt_entries` and :func:`call_columns`, ready to insert. A
    call that cannot be encoded is left out with a warning (keeping a call never fails
    the effect written with it)."""
    out = []
    for call in calls:
        try:
            entries = prompt_entries(call["prompt"])
            out.append((entries, call_columns(call, [key for key, _ in entries])))
        except Exception as exc:
            logger.warning("model call of node %r not kept with run %s: %s",
                           call.get("node"), run_id, exc)  # fmt: skip
    return out


def call_row(row: Mapping[str, Any], messages: Mapping[str, str]) -> ModelCallRow:
    """A :class:`ModelCallRow` from stored columns and the run's prompt messages by key.

    Raises:
        StoreCorrupt: a value cannot be decoded, or a prompt message is missing.
    """
    run_id = str(row["run_id"])
    prompt = []
    for key in loads(row["prompt"], run_id, "model call"):
        if key not in messages:
            raise StoreCorrupt(f"run {run_id!r}: a prompt message of model call {row['seq']} "
                               "is missing; the database is damaged")  # fmt: skip
        prompt.append(loads(messages[key], run_id, "prompt message"))

    def field(name: str) -> Any:
        return loads(row[name], run_id, "model call") if row[name] else None

    return ModelCallRow(run_id=run_id, seq=int(row["seq"]), step=int(row["step"]),
                        node=str(row["node"]), started_at=float(row["started_at"]),
                        seconds=float(row["seconds"]), model=row["model"],
                        base_url=row["base_url"], prompt=prompt, tools=field("tools") or [],
                        response=field("response"), usage=field("usage"),
                        error=row["error"])  # fmt: skip
