"""One request to one OpenAI-compatible endpoint through the official ``openai``
package, read into a :class:`~graphflow.models.response.ModelResponse`.

The package is imported on first use, so graphs without agents never load it. Its own
retries are switched off (``max_retries=0``): :mod:`graphflow.models.client` retries
and falls back itself, so the behaviour is explicit and testable. When an endpoint
reports no usage, tokens are estimated.

A call's cost is, in order: the config's ``price``; the cost the server reports — in
the usage (``usage.cost``, as OpenRouter and LiteLLM send it) or in the
``x-litellm-response-cost`` header of LiteLLM's proxy —; the provider's list price
(:mod:`graphflow.models.prices`); else unknown.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from graphflow.errors import ModelBadResponse, ModelError
from graphflow.messages import Message
from graphflow.models.config import ModelConfig
from graphflow.models.response import ModelResponse
from graphflow.models.streaming import StreamAssembler
from graphflow.models.usage import Usage, estimate_prompt_tokens, estimate_tokens

__all__ = ["COST_HEADER", "make_client", "request_once", "split_params"]

#: The response header in which LiteLLM's proxy reports a call's cost (US dollars).
COST_HEADER = "x-litellm-response-cost"


def _openai() -> Any:
    try:
        import openai
    except ImportError:  # pragma: no cover - a declared dependency
        raise ModelError(
            "the openai package is needed to call a model endpoint; install it with "
            "`pip install openai`"
        ) from None
    return openai


def make_client(config: ModelConfig, api_key: str) -> Any:
    """An ``AsyncOpenAI`` (or ``AsyncAzureOpenAI``) client for ``config``, without retries."""
    openai = _openai()
    if config.api_type == "azure":
        return openai.AsyncAzureOpenAI(
            azure_endpoint=config.base_url,
            api_version=config.api_version,
            azure_deployment=config.azure_deployment,
            api_key=api_key,
            timeout=config.timeout,
            max_retries=0,
        )
    return openai.AsyncOpenAI(
        base_url=config.url, api_key=api_key, timeout=config.timeout, max_retries=0
    )


@cache
def _create_parameters() -> frozenset[str]:
    openai = _openai()
    create = openai.resources.chat.completions.AsyncCompletions.create
    return frozenset(inspect.signature(create).parameters) - {"self"}


def split_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split request options into those the client knows and the rest, which travel in
    ``extra_body`` (options of vLLM, Ollama … such as ``top_k``)."""
    known = _create_parameters()
    direct = {k: v for k, v in params.items() if k in known}
    extra = {k: v for k, v in params.items() if k not in known}
    return direct, extra


async def request_once(
    client: Any,
    config: ModelConfig,
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None,
    params: Mapping[str, Any],
    response_format: Mapping[str, Any] | None,
    stream: bool,
    on_token: Callable[[str], None] | None,
) -> ModelResponse:
    """Send one chat-completion request and read the answer (a fresh, billed call).

    Raises:
        ModelBadResponse: no choices, or a stream that ended before the model finished.
        openai errors: for the client to classify.
    """
    direct, extra = split_params(params)
    kwargs: dict[str, Any] = {"model": config.model, "messages": list(messages), **direct}
    if extra:
        kwargs["extra_body"] = extra
    if tools:
        kwargs["tools"] = list(tools)
    if response_format is not None:
        kwargs["response_format"] = dict(response_format)
    if stream:
        return await _streamed(client, config, kwargs, on_token)
    kwargs.pop("stream_options", None)
    raw = await client.chat.completions.with_raw_response.create(**kwargs)
    completion = raw.parse()
    if not hasattr(completion, "choices"):
        raise ModelBadResponse(f"{config.endpoint} answered {str(completion)[:200]!r}")
    if not completion.choices:
        raise ModelBadResponse(f"{config.endpoint} answered with no choices")
    choice = completion.choices[0]
    if choice.message is None:
        raise ModelBadResponse(f"{config.endpoint} answered a choice without a message")
    message: dict[str, Any] = {"role": "assistant", "content": choice.message.content}
    if choice.message.tool_calls:
        message["tool_calls"] = [_call_dict(call) for call in choice.message.tool_calls]
    _check_answer(config, message, choice.finish_reason)
    usage = completion.usage.model_dump() if completion.usage is not None else None
    return _response(config, messages, message, usage, choice.finish_reason,
                     completion.model or config.model,
                     completion.model_dump(mode="json", exclude_none=True),
                     header_cost(raw.headers))  # fmt: skip


async def _streamed(
    client: Any,
    config: ModelConfig,
    kwargs: dict[str, Any],
    on_token: Callable[[str], None] | None,
) -> ModelResponse:
    assembler = StreamAssembler(on_token)
    # Ask for usage in the last chunk; ``params: {stream_options: null}`` turns this off
    # for servers that refuse the option.
    options = kwargs.pop("stream_options", {"include_usage": True})
    if options is not None:
        kwargs["stream_options"] = options
    raw = await client.chat.completions.with_raw_response.create(**kwargs, stream=True)
    chunks = raw.parse()
    try:
        async for chunk in chunks:
            assembler.add(chunk.model_dump(exclude_none=True))
    finally:
        await chunks.close()
    if not assembler.saw_choice:
        raise ModelBadResponse(f"{config.endpoint} streamed no choices")
    if assembler.finish_reason is None:
        raise ModelBadResponse(f"{config.endpoint} ended the stream before the model finished")
    message: dict[str, Any] = {"role": "assistant", "content": assembler.content}
    if assembler.tool_calls:
        message["tool_calls"] = assembler.tool_calls
        message["content"] = assembler.content or None
    elif assembler.finish_reason == "content_filter" and not assembler.content:
        message["content"] = None
    _check_answer(config, message, assembler.finish_reason)
    return _response(config, kwargs["messages"], message, assembler.usage,
                     assembler.finish_reason, assembler.model or config.model, None,
                     header_cost(raw.headers))  # fmt: skip


def header_cost(headers: Mapping[str, str] | None) -> float | None:
    """The cost a proxy reported in the response headers (:data:`COST_HEADER`), if any.

    Example:
        >>> header_cost({"x-litellm-response-cost": "0.00042"}), header_cost({})
        (0.00042, None)
    """
    value = (headers or {}).get(COST_HEADER)
    try:
        return float(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


def _check_answer(config: ModelConfig, message: Mapping[str, Any], finish_reason: str | None) -> None:
    """Refuse an answer that has nothing in it: a ``content_filter`` finish (Azure OpenAI's
    filtered answers carry ``content: null``) or null content without tool calls. It is a
    bad response, so the client retries it and falls back to the next config, and it is
    never cached (a re-run would replay it).

    Raises:
        ModelBadResponse: the answer was filtered or empty.
    """
    if message.get("tool_calls"):
        return
    if finish_reason == "content_filter":
        raise ModelBadResponse(f"{config.endpoint} filtered the answer (finish_reason "
                               "content_filter, no content)")  # fmt: skip
    if message.get("content") is None:
        raise ModelBadResponse(f"{config.endpoint} answered with no content and no tool calls "
                               f"(finish_reason {finish_reason})")  # fmt: skip


def _response(config: ModelConfig, sent: Sequence[Mapping[str, Any]], data: dict[str, Any],
              reported: Mapping[str, Any] | None, finish_reason: str | None, model: str,
              raw: dict[str, Any] | None, from_header: float | None) -> ModelResponse:  # fmt: skip
    """The answer with its usage: as the endpoint reported it, else estimated; its cost
    as the module docs order it. A reported count of zero is a missing count (some
    servers end a stream with a usage chunk of zeros): an answer with text has used
    completion tokens, and a budget must see them."""
    message = Message.model_validate(data)
    reported = reported or {}
    prompt = int(reported.get("prompt_tokens") or 0) or estimate_prompt_tokens(sent)
    completion = int(reported.get("completion_tokens") or 0) or (
        estimate_tokens(message.content)
        + sum(estimate_tokens(c["function"]["arguments"]) for c in message.tool_calls or ())
    )
    cost = config.cost(prompt, completion) if config.price is not None else None
    if cost is None:
        cost = _number(reported.get("cost"))
    if cost is None:
        cost = from_header
    if cost is None:
        cost = config.cost(prompt, completion)
    usage = Usage.of_call(prompt, completion, cost=cost, model=model)
    return ModelResponse(message, usage, finish_reason, raw, model=model, base_url=config.url)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _call_dict(call: Any) -> dict[str, Any]:
    function = getattr(call, "function", None)
    return {
        "id": call.id,
        "type": getattr(call, "type", None) or "function",
        "function": {
            "name": getattr(function, "name", "") or "",
            "arguments": getattr(function, "arguments", "") or "",
        },
    }
