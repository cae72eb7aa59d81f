"""The model client: a config list tried in order, with retries, a response cache,
usage and cost accounting, and an optional budget.

Example (the loopback test server of :mod:`graphflow.testing` stands in for an endpoint)::

    from graphflow.testing import ModelServer

    with ModelServer(script=["Paris."]) as server:
        client = ModelClient([ModelConfig(model="m", base_url=server.base_url)])
        answer = client.complete_sync([{"role": "user", "content": "Capital of France?"}])
    assert (answer.text, answer.cached) == ("Paris.", False)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from types import EllipsisType
from typing import Any

from graphflow.blocking import run_blocking
from graphflow.errors import (
    ModelBadResponse,
    ModelError,
    ModelRequestRejected,
    ModelTimeout,
)
from graphflow.models.cache import ResponseCache, request_key
from graphflow.models.config import ModelConfig
from graphflow.models.openai_endpoint import make_client, request_once
from graphflow.models.response import (
    MessageLike,
    ModelResponse,
    ResponseFormat,
    response_format_dict,
    to_openai_messages,
)
from graphflow.models.retry import Failure, RetryPolicy, classify, hint, refuses_stream_options
from graphflow.models.streaming import CallbackFailed
from graphflow.models.usage import Budget, Usage

__all__ = ["DEFAULT_CACHE_SEED", "ModelClient"]

#: The cache seed used when none is given (AutoGen's default is 41 too).
DEFAULT_CACHE_SEED = 41
_RESERVED = ("model", "messages", "stream", "tools", "response_format")

logger = logging.getLogger(__name__)


class ModelClient:
    """Talks to OpenAI-compatible endpoints through the ``openai`` package.

    Args:
        configs: one config or a list tried in order (dicts are validated).
        cache: where answers are cached; ``None`` disables caching.
        cache_seed: the default cache seed (``None``: do not cache by default).
        retry: backoff between retries on one endpoint.
        budget: refuse new calls once this client's billed usage reaches it.

    Attributes:
        usage: the sum of this client's calls (cache hits counted apart).
        requests: HTTP requests sent (attempts, including failed ones).
    """

    def __init__(
        self,
        configs: ModelConfig | Mapping[str, Any] | Sequence[ModelConfig | Mapping[str, Any]],
        *,
        cache: ResponseCache | None = None,
        cache_seed: int | None = DEFAULT_CACHE_SEED,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
    ) -> None:
        if isinstance(configs, (ModelConfig, Mapping)):
            configs = [configs]
        self.configs = [
            c if isinstance(c, ModelConfig) else ModelConfig.model_validate(c) for c in configs
        ]
        if not self.configs:
            raise ModelError("a model client needs at least one model config")
        self.cache = cache
        self.cache_seed = cache_seed
        self.retry = retry or RetryPolicy()
        self.budget = budget
        self.usage = Usage()
        self.requests = 0
        self._clients: dict[int, tuple[str, Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        #: configs whose server refused ``stream_options`` (streamed without it since)
        self._no_stream_options: set[int] = set()

    def __repr__(self) -> str:
        return f"ModelClient([{', '.join(c.endpoint for c in self.configs)}])"

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
        """Ask the model; see :class:`~graphflow.models.response.ChatModel`.

        A cached answer is returned without any request (streamed at once to
        ``on_token``). Otherwise each config is tried in order: retryable failures are
        retried with backoff up to the config's ``max_retries``, then the next config is
        tried; a model the server does not know (HTTP 404, or a 400 saying so) goes to
        the next config at once. A server refusing ``stream_options`` is asked again
        without it (and never sent it again by this client). On a retry after a partly
        streamed answer, ``on_token`` sees the tokens of the new attempt from the start.

        Raises:
            ModelRequestRejected: an endpoint refused the request itself (HTTP 400); the
                message quotes the server's and says what to change.
            ModelTimeout: every endpoint timed out.
            ModelBadResponse: every endpoint answered with something unreadable.
            ModelError: the endpoints failed for mixed or other reasons (all listed).
            BudgetExceeded: the client's budget is used up.
        """
        wire = to_openai_messages(messages)
        tool_list = [dict(t) for t in tools or ()]
        fmt = response_format_dict(response_format)
        overrides = dict(params or {})
        for name in _RESERVED:
            if name in overrides:
                raise ModelError(f"params may not set {name!r}; pass it as its own argument")
        seed = self.cache_seed if cache_seed is ... else cache_seed
        if self.budget:
            self.budget.check(self.usage, where="model call refused")
        keys: list[str | None] = []
        for config in self.configs:
            key: str | None = None
            if seed is not None and self.cache is not None:
                key = request_key(
                    config.identity(),
                    wire,
                    tools=tool_list,
                    response_format=fmt,
                    params={**config.request_params(), **overrides},
                    cache_seed=seed,
                )
                row = self.cache.get(key)
                if row is not None:
                    return self._replay(config, row, on_token)
            keys.append(key)
        failures: list[tuple[ModelConfig, Failure]] = []
        for config, cache_key in zip(self.configs, keys, strict=True):
            params_for = {**config.request_params(), **overrides}
            outcome = await self._try(config, wire, tool_list, params_for, fmt, stream, on_token)
            if isinstance(outcome, Failure):
                failures.append((config, outcome))
                if config is not self.configs[-1]:
                    logger.warning("model %s failed (%s); trying the next config",
                                   config.endpoint, outcome.describe())  # fmt: skip
                continue
            if cache_key is not None and self.cache is not None:
                self.cache.put(cache_key, outcome.to_cache(), model=config.model)
            self.usage = self.usage + outcome.usage
            return outcome
        raise _final_error(failures)

    def _replay(
        self, config: ModelConfig, row: Mapping[str, Any], on_token: Callable[[str], None] | None
    ) -> ModelResponse:
        cost = row.get("cost")
        if cost is None:
            cost = config.cost(
                int(row.get("prompt_tokens") or 0), int(row.get("completion_tokens") or 0)
            )
        response = ModelResponse.from_cache(row, cost=cost, base_url=config.url)
        if on_token is not None and response.text:
            on_token(response.text)
        self.usage = self.usage + response.usage
        return response

    async def _try(
        self,
        config: ModelConfig,
        wire: Sequence[dict[str, Any]],
        tools: list[dict[str, Any]],
        params: dict[str, Any],
        fmt: dict[str, Any] | None,
        stream: bool,
        on_token: Callable[[str], None] | None,
    ) -> ModelResponse | Failure:
        """Send to one endpoint with retries; a Failure means: go to the next config."""
        retries = bad = 0
        if stream and id(config) in self._no_stream_options:
            params = {**params, "stream_options": None}
        while True:
            logger.debug("request to %s (attempt %d, stream=%s)", config.endpoint,
                         retries + bad + 1, stream)  # fmt: skip
            try:
                client = await self._client(config)
                self.requests += 1
                return await request_once(
                    client,
                    config,
                    wire,
                    tools=tools,
                    params=params,
                    response_format=fmt,
                    stream=stream,
                    on_token=on_token,
                )
            except CallbackFailed as failed:
                raise failed.original from None
            except Exception as exc:
                failure = classify(exc)
            if (stream and refuses_stream_options(failure)
                    and params.get("stream_options", True) is not None):  # fmt: skip
                logger.info("%s refused stream_options; streaming without it (usage is "
                            "estimated when the server sends none)", config.endpoint)  # fmt: skip
                self._no_stream_options.add(id(config))
                params = {**params, "stream_options": None}
                continue
            if failure.kind == "rejected":
                error = ModelRequestRejected(
                    f"{config.endpoint} rejected the request ({failure.describe()}); "
                    f"{hint(failure, config.url)}",
                    model=config.model, endpoint=config.url,
                )
                error.failure = failure  # type: ignore[attr-defined]
                raise error
            if failure.kind == "bad_response" and bad < self.retry.bad_response_retries:
                bad += 1
                continue
            if failure.retryable and retries < config.max_retries:
                delay = self.retry.delay(retries, retry_after=failure.retry_after)
                logger.info("%s: %s; retry %d in %.2f s", config.endpoint, failure.describe(),
                            retries + 1, delay)  # fmt: skip
                await asyncio.sleep(delay)
                retries += 1
                continue
            return failure

    async def _client(self, config: ModelConfig) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._clients.clear()
            self._loop = loop
        key = config.resolve_key()
        fingerprint = hashlib.sha256(key.encode()).hexdigest()
        index = id(config)
        cached = self._clients.get(index)
        if cached is None or cached[0] != fingerprint:
            if cached is not None:  # the key changed: drop the old client's connections
                await cached[1].close()
            cached = (fingerprint, make_client(config, key))
            self._clients[index] = cached
        return cached[1]

    def complete_sync(self, messages: Sequence[MessageLike], **options: Any) -> ModelResponse:
        """:meth:`complete` for synchronous code (closes its connections after). Inside a
        running event loop (a notebook, an async web handler) it runs on a worker thread
        with a loop of its own and blocks until the answer is there; in async code prefer
        ``await complete(...)``."""

        async def run() -> ModelResponse:
            try:
                return await self.complete(messages, **options)
            finally:
                await self.aclose()

        return run_blocking(run)

    async def aclose(self) -> None:
        """Close the HTTP connections of this client."""
        clients = [client for _, client in self._clients.values()]
        self._clients.clear()
        for client in clients:
            await client.close()


def _final_error(failures: list[tuple[ModelConfig, Failure]]) -> ModelError:
    detail = "; ".join(f"{c.endpoint}: {f.describe()}" for c, f in failures)
    kinds = {f.kind for _, f in failures}
    count = len(failures)
    where = "the model endpoint" if count == 1 else f"all {count} model endpoints"
    last = failures[-1][0]
    context = {"model": last.model, "endpoint": last.url}
    error: ModelError
    if kinds == {"timeout"}:
        limits = ", ".join(sorted({f"{c.timeout:g} s" for c, _ in failures}))
        error = ModelTimeout(
            f"{where} timed out: {detail} (timeout {limits}, after retries); raise timeout: "
            "in the model config, or check that the server is running and not overloaded",
            **context,
        )
    elif kinds == {"bad_response"}:
        error = ModelBadResponse(
            f"{where} answered with something that is not a chat completion: {detail}; "
            "check that base_url points at an OpenAI-compatible /v1 endpoint",
            **context,
        )
    else:
        hints = list(dict.fromkeys(hint(f, c.url) for c, f in failures))
        error = ModelError(f"{where} failed: {detail}; {'; '.join(hints)}", **context)
    error.failures = failures  # type: ignore[attr-defined]
    return error
