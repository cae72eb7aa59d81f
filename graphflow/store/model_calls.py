"""How a run's model calls are stored: each prompt message once per run, by a key made
from its content, and each call as the keys of its prompt — or, when its prompt extends
the prompt of its node's previous call, as that call plus the keys of what is new.

A node's prompt repeats the conversation so far, so storing every prompt whole would
grow with the square of the run's length, and so would storing every prompt's list of
keys (a 10,000-turn chat sends 50 million messages in all). An agent's prompts share
their beginning by construction (``OpenAIMessages.shared_prefix``); the caller says how
many leading messages a call shares with the node's previous prompt (``prompt_shared``,
``prompt_previous`` of :class:`~graphflow.store.protocol.ModelCall`), and the store,
when it kept that previous call itself in this process (:class:`PromptChains`), writes
``{"base": SEQ, "upto": N, "keys": [...]}``: the first N messages of call SEQ, then the
new ones. Otherwise (a new process, a prompt that does not extend the last one) the call
keeps all its keys, so a chain never reaches past what was written. Keeping a call then
costs what is new in its prompt. All three stores use these helpers, so they store and
return calls alike.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from graphflow.errors import StoreCorrupt
from graphflow.store.codec import dumps, loads
from graphflow.store.records import ModelCall, ModelCallRow

__all__ = ["EncodedCall", "PromptChains", "call_columns", "call_rows", "prompt_entries"]

logger = logging.getLogger(__name__)


def prompt_entries(prompt: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
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


def call_columns(call: ModelCall, prompt: Any) -> dict[str, Any]:
    """The stored columns of a call (JSON values as text), its prompt as ``prompt``: the
    list of its messages' keys, or ``{"base", "upto", "keys"}`` (see the module docs)."""
    return {"step": call["step"], "node": call["node"], "started_at": call["started_at"],
            "seconds": call["seconds"], "model": call.get("model"),
            "base_url": call.get("base_url"), "prompt": dumps(prompt),
            "tools": dumps(call.get("tools") or []),
            "response": dumps(call["response"]) if call.get("response") is not None else None,
            "usage": dumps(call["usage"]) if call.get("usage") else None,
            "error": call.get("error")}  # fmt: skip


class EncodedCall(NamedTuple):
    """A call ready to insert: its new prompt messages, its columns, and what
    :meth:`PromptChains.kept` remembers once it is committed."""

    entries: list[tuple[str, str]]
    columns: dict[str, Any]
    chain: tuple[str, str, Any, int] | None  # (run, node, prompt, length)


class PromptChains:
    """The call each (run, node) kept last through one store in this process: its
    ``seq``, its prompt (weakly) and the prompt's length — what a later prompt of the
    node may be stored against (see the module docs). At most :attr:`LIMIT` nodes are
    remembered (the least recently used are forgotten; their next call keeps all its
    keys). Updated only after a call's transaction committed (:meth:`kept`)."""

    LIMIT = 1024

    def __init__(self) -> None:
        self._last: OrderedDict[tuple[str, str], tuple[int, Any, int]] = OrderedDict()

    def encode(self, run_id: str, calls: Sequence[ModelCall]) -> list[EncodedCall]:
        """Each call's new prompt messages and columns, ready to insert. A call that
        cannot be encoded is left out with a warning (keeping a call never fails the
        effect written with it)."""
        out = []
        for call in calls:
            try:
                out.append(self._encode(run_id, call))
            except Exception as exc:
                logger.warning("model call of node %r not kept with run %s: %s",
                               call.get("node"), run_id, exc)  # fmt: skip
        return out

    def _encode(self, run_id: str, call: ModelCall) -> EncodedCall:
        prompt = call["prompt"]
        shared = int(call.get("prompt_shared") or 0)
        last = self._last.get((run_id, call["node"]))
        previous = call.get("prompt_previous")
        if (shared > 0 and last is not None and previous is not None
                and last[1]() is previous and last[2] >= shared):  # fmt: skip
            entries = prompt_entries(list(prompt[shared:]))
            keys: Any = {"base": last[0], "upto": shared, "keys": [k for k, _ in entries]}
        else:
            entries = prompt_entries(prompt)
            keys = [k for k, _ in entries]
        try:
            chain = (run_id, call["node"], weakref.ref(prompt), len(prompt))
        except TypeError:  # a plain list cannot be referred to weakly: nothing extends it
            chain = None
        return EncodedCall(entries, call_columns(call, keys), chain)

    def kept(self, encoded: Sequence[EncodedCall], seqs: Sequence[int]) -> None:
        """Remember the calls just committed (``seqs``: the numbers they were given)."""
        for call, seq in zip(encoded, seqs, strict=True):
            if call.chain is None:
                continue
            run_id, node, ref, length = call.chain
            self._last[(run_id, node)] = (seq, ref, length)
            self._last.move_to_end((run_id, node))
            while len(self._last) > self.LIMIT:
                self._last.popitem(last=False)


def call_rows(rows: Sequence[Mapping[str, Any]], messages: Mapping[str, str]) -> list[ModelCallRow]:
    """:class:`ModelCallRow` s from stored columns (ordered by ``seq``) and the run's
    prompt messages by key; a prompt stored against an earlier call is read through it.
    Each message is decoded once (calls sharing it share the decoded dict: read it,
    never change it).

    Raises:
        StoreCorrupt: a value cannot be decoded, or a prompt message or an earlier call
            it refers to is missing.
    """
    keys_by_seq: dict[int, list[str]] = {}
    decoded: dict[str, Any] = {}
    out = []
    for row in rows:
        run_id, seq = str(row["run_id"]), int(row["seq"])
        stored = loads(row["prompt"], run_id, "model call")
        if isinstance(stored, dict):
            base = keys_by_seq.get(stored.get("base"))  # type: ignore[arg-type]
            if base is None or not isinstance(stored.get("upto"), int):
                raise StoreCorrupt(f"run {run_id!r}: model call {seq} refers to a call that is "
                                   "missing; the database is damaged")  # fmt: skip
            keys = base[:stored["upto"]] + list(stored.get("keys") or [])
        else:
            keys = list(stored)
        keys_by_seq[seq] = keys
        prompt = []
        for key in keys:
            if key not in decoded:
                if key not in messages:
                    raise StoreCorrupt(f"run {run_id!r}: a prompt message of model call {seq} "
                                       "is missing; the database is damaged")  # fmt: skip
                decoded[key] = loads(messages[key], run_id, "prompt message")
            prompt.append(decoded[key])
        out.append(_call_row(row, run_id, seq, prompt))
    return out


def _call_row(row: Mapping[str, Any], run_id: str, seq: int,
              prompt: list[Any]) -> ModelCallRow:  # fmt: skip
    def field(name: str) -> Any:
        return loads(row[name], run_id, "model call") if row[name] else None

    return ModelCallRow(run_id=run_id, seq=seq, step=int(row["step"]),
                        node=str(row["node"]), started_at=float(row["started_at"]),
                        seconds=float(row["seconds"]), model=row["model"],
                        base_url=row["base_url"], prompt=prompt, tools=field("tools") or [],
                        response=field("response"), usage=field("usage"),
                        error=row["error"])  # fmt: skip
