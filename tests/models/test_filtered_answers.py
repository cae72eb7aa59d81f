"""Answers with nothing in them, and usage reported as zeros (AutoGen users' reports,
tried on graphflow): a content-filtered answer is a model error that is retried, falls
back and is never cached; a final stream chunk reporting zero tokens is estimated."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.errors import ModelBadResponse
from graphflow.messages import Message
from graphflow.models import Budget, ModelClient, ResponseCache
from graphflow.testing import FAST_RETRY, server_config

HI = [Message(role="user", content="Say hello.")]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_content_filter_answer_is_retried_and_not_cached(model_server, tmp_path: Path,
                                                                 stream: bool) -> None:  # fmt: skip
    """Azure OpenAI answers a filtered prompt with ``finish_reason: content_filter`` and
    ``content: null``; AutoGen raises on it (``oai/client.py``, ``OpenAIWrapper.create``:
    ``error_code == "content_filter"``). It must never become a content-less message."""
    server = model_server(["Hello!"])
    server.inject("content_filter")
    cache = ResponseCache(tmp_path / "cache.db")
    client = ModelClient(server_config(server), cache=cache, retry=FAST_RETRY)
    answer = await client.complete(HI, stream=stream)
    assert answer.text == "Hello!" and server.requests == 2
    server.inject("content_filter")
    again = await client.complete(HI, stream=stream)  # from the cache: the good answer
    assert again.text == "Hello!" and again.cached and server.requests == 2
    cache.close()


async def test_a_filtered_answer_falls_back_and_fails_clearly_when_nothing_answers(
    model_server, tmp_path: Path
) -> None:
    filtered = model_server(["unused"])
    filtered.fail_always("content_filter")
    good = model_server(["From the fallback."])
    cache = ResponseCache(tmp_path / "cache.db")
    client = ModelClient([server_config(filtered), server_config(good)], cache=cache,
                         retry=FAST_RETRY)  # fmt: skip
    assert (await client.complete(HI)).text == "From the fallback."
    alone = ModelClient(server_config(filtered), cache=cache, retry=FAST_RETRY)
    with pytest.raises(ModelBadResponse, match="content_filter"):
        await alone.complete([Message(role="user", content="Something else.")])
    asked = filtered.requests
    filtered.fail_always(None)
    retry = await alone.complete([Message(role="user", content="Something else.")])
    assert (retry.text, retry.cached, filtered.requests) == ("unused", False, asked + 1)
    cache.close()


@pytest.mark.parametrize("stream", [False, True])
async def test_usage_reported_as_zeros_is_estimated_and_the_budget_holds(model_server,
                                                                         stream: bool) -> None:  # fmt: skip
    server = model_server(["A long answer " * 20])
    server.fail_always("zero_usage")
    client = ModelClient(server_config(server), cache=None, retry=FAST_RETRY,
                         budget=Budget(max_tokens=50))  # fmt: skip
    answer = await client.complete(HI, stream=stream)
    assert answer.usage.completion_tokens > 40 and answer.usage.prompt_tokens > 0
    from graphflow.errors import BudgetExceeded

    with pytest.raises(BudgetExceeded):
        await client.complete(HI, stream=stream)
