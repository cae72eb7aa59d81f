"""An in-process model that answers from a :class:`~graphflow.models.reply_script.Script`.

It has the same ``complete()`` as :class:`~graphflow.models.client.ModelClient`, makes
no HTTP requests, reports plausible token usage, streams word by word to ``on_token``,
and raises the error a script's failure names (the faults of :mod:`graphflow.testing`
raise what the real client would raise). Graph files' ``scripted:`` entries, the offline
model (:mod:`graphflow.models.offline`), demos and unit tests run on it.

Example:
    >>> model = ScriptedModel(["Hello!", {"tool_calls": [{"name": "add", "arguments": {"a": 1}}]}])
    >>> model.complete_sync([{"role": "user", "content": "hi"}]).text
    'Hello!'
    >>> model.complete_sync([{"role": "user", "content": "add"}]).message.tool_calls[0]["function"]["name"]
    'add'
    >>> model.calls
    2
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import EllipsisType
from typing import Any

from graphflow.blocking import run_blocking
from graphflow.messages import Message
from graphflow.models.cache import ResponseCache, request_key
from graphflow.models.reply_script import Reply, Script, ScriptFunction
from graphflow.models.response import (
    MessageLike,
    ModelResponse,
    ResponseFormat,
    response_format_dict,
    to_openai_messages,
)
from graphflow.models.streaming import split_text
from graphflow.models.usage import Usage, estimate_prompt_tokens, estimate_tokens

__all__ = ["ScriptedModel"]


class ScriptedModel:
    """A model that answers from a script, in process.

    Args:
        script: a :class:`Script`, a list of replies, or a function of the request.
        name: the model name reported in usage (``scripted`` by default).
        default: the reply once the replies are used up (with a list ``script``).
        rules: rules tried before the replies (with a list ``script``).
        latency: seconds each answer takes (to make demos feel real).
        price: ``(prompt, completion)`` per 1k tokens, to exercise cost accounting.
        cache: a response cache; repeated requests are then replayed from it.
        cache_seed: the default cache seed (with ``cache``).
        keep_requests: how many of the latest requests :attr:`requests` keeps.

    Attributes:
        calls: how many requests the model answered itself (cache hits excluded).
        usage: the sum of its calls.
        requests: the OpenAI-shaped messages of the latest ``keep_requests`` requests
            (100 by default), oldest first; a long conversation keeps a bounded log, not
            every request it ever made. The message dicts are shared with later
            requests: treat them as read-only.
    """

    def __init__(
        self,
        script: Script | Sequence[Reply] | ScriptFunction = (),
        *,
        name: str = "scripted",
        default: Reply | None = None,
        rules: Sequence[Mapping[str, Any]] = (),
        latency: float = 0.0,
        price: tuple[float, float] | None = None,
        cache: ResponseCache | None = None,
        cache_seed: int | None = 41,
        keep_requests: int = 100,
    ) -> None:
        if isinstance(script, Script):
            self.script = script
        elif callable(script):
            self.script = Script(function=script)
        else:
            self.script = Script(script, rules=rules, default=default)
        self.name = name
        self.latency = latency
        self.price = price
        self.cache = cache
        self.cache_seed = cache_seed
        self.calls = 0
        self.usage = Usage()
        self.requests: deque[Sequence[dict[str, Any]]] = deque(maxlen=max(keep_requests, 0))

    def __repr__(self) -> str:
        return f"ScriptedModel({self.name!r}, replies={len(self.script.replies)})"

    @classmethod
    def from_data(
        cls, data: Any, *, base_dir: Path | None = None, where: str = "scripted"
    ) -> ScriptedModel:
        """Build from a graph file's ``scripted:`` value: a list of replies, a script file
        path, or a mapping of script keys plus ``name``, ``latency`` and ``price``.

        Raises:
            DefinitionError: the script is invalid (the message names ``where``).
        """
        options: dict[str, Any] = {}
        if isinstance(data, Mapping):
            data = dict(data)
            options = {k: data.pop(k) for k in ("name", "latency", "price") if k in data}
            if "price" in options:
                options["price"] = tuple(options["price"])
        return cls(Script.from_data(data, base_dir=base_dir, where=where), **options)

    async def complete(
        self,
        messages: Sequence[MessageLike],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        response_format: ResponseFormat | None = None,
        stream: bool = False,
        on_token: Callable[[str], None] | None = None,
        cache_seed: int | EllipsisType | None = ...,
        params: Mapping[str, Any] | None = None,
    ) -> ModelResponse:
        """Answer from the script; see :class:`~graphflow.models.response.ChatModel`.

        Raises:
            ModelError: the script has no answer, or answers with a failure (the error
                the failure names, e.g. ModelTimeout for a ``timeout`` fault).
        """
        wire = to_openai_messages(messages)
        tool_list = [dict(t) for t in tools or ()]
        seed = self.cache_seed if cache_seed is ... else cache_seed
        key = None
        if seed is not None and self.cache is not None:
            key = request_key(
                {"model": self.name, "url": "scripted"},
                wire,
                tools=tool_list,
                params=dict(params or {}),
                cache_seed=seed,
                response_format=response_format_dict(response_format),
            )
            row = self.cache.get(key)
            if row is not None:
                response = ModelResponse.from_cache(row, cost=self._cost(row), base_url=None)
                if on_token is not None and response.text:
                    on_token(response.text)
                self.usage = self.usage + response.usage
                return response
        self.requests.append(wire)
        answer = self.script.answer(wire, model=self.name, tools=tool_list, params=params)
        if not isinstance(answer, Message):
            raise answer.error(self.name)
        if self.latency:
            await asyncio.sleep(self.latency)
        self.calls += 1
        if stream and on_token is not None:
            for piece in split_text(answer.content or ""):
                on_token(piece)
        prompt = estimate_prompt_tokens(wire)
        completion = estimate_tokens(answer.content) + sum(
            3 + estimate_tokens(c["function"]["arguments"]) for c in answer.tool_calls or ()
        )
        row = {"prompt_tokens": prompt, "completion_tokens": completion}
        usage = Usage.of_call(prompt, completion, cost=self._cost(row), model=self.name)
        response = ModelResponse(answer, usage, "tool_calls" if answer.tool_calls else "stop",
                                 model=self.name)  # fmt: skip
        if key is not None and self.cache is not None:
            self.cache.put(key, response.to_cache(), model=self.name)
        self.usage = self.usage + usage
        return response

    def _cost(self, row: Mapping[str, Any]) -> float:
        if self.price is None:
            return 0.0
        prompt, completion = self.price
        return (
            int(row["prompt_tokens"]) * prompt + int(row["completion_tokens"]) * completion
        ) / 1000

    def complete_sync(self, messages: Sequence[MessageLike], **options: Any) -> ModelResponse:
        """:meth:`complete` for synchronous code (inside a running event loop too)."""
        return run_blocking(lambda: self.complete(messages, **options))

    async def aclose(self) -> None:
        """Nothing to release; present for interface parity with ModelClient."""

