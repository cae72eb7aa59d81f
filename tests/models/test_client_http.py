"""ModelClient through the real openai client, over real HTTP, against ModelServer."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from graphflow.errors import (
    BudgetExceeded,
    ModelBadResponse,
    ModelError,
    ModelRequestRejected,
    ModelTimeout,
)
from graphflow.messages import Message
from graphflow.models import Budget, ModelClient, ModelConfig, ScriptedModel
from graphflow.testing import server_config

HI = [Message(role="user", content="Say hello.")]


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``check`` without blocking the event loop until it holds or time runs out."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return check()
TOOL_REPLY = {
    "content": None,
    "tool_calls": [
        {"name": "add", "arguments": {"a": 2, "b": 3}},
        {"name": "lookup", "arguments": {"query": "graphviz shapes", "limit": 5}},
    ],
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
        },
    }
]


async def test_plain_answer_has_message_and_usage(model_server, fast_retry):
    server = model_server(["Hello there, friend."])
    client = ModelClient(server_config(server), retry=fast_retry)
    answer = await client.complete(HI)
    assert answer.message.role == "assistant"
    assert answer.text == "Hello there, friend."
    assert answer.finish_reason == "stop"
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    assert answer.model == "scripted" and answer.usage.models["scripted"].calls == 1
    assert answer.base_url == server.base_url
    assert answer.usage.cached is False
    assert answer.raw is not None and answer.raw["object"] == "chat.completion"
    assert server.requests == 1 and client.requests == 1
    assert server.request_log[0]["messages"] == [{"role": "user", "content": "Say hello."}]
    await client.aclose()


async def test_tool_calls_are_parsed_in_openai_shape(model_server, fast_retry):
    server = model_server([TOOL_REPLY])
    client = ModelClient(server_config(server), retry=fast_retry)
    answer = await client.complete(HI, tools=TOOLS)
    calls = answer.message.tool_calls
    assert answer.finish_reason == "tool_calls"
    assert [c["function"]["name"] for c in calls] == ["add", "lookup"]
    assert json.loads(calls[1]["function"]["arguments"]) == {"query": "graphviz shapes", "limit": 5}
    assert all(c["type"] == "function" and c["id"] for c in calls)
    assert server.request_log[0]["tools"] == TOOLS
    await client.aclose()


async def test_fallback_to_second_config_when_first_returns_500s(model_server, fast_retry):
    server = model_server({"replies": [], "default": "from the backup"})
    server.fail_always("500:overloaded", model="primary")
    configs = [
        server_config(server, "primary", max_retries=2),
        server_config(server, "backup"),
    ]
    client = ModelClient(configs, retry=fast_retry)
    answer = await client.complete(HI)
    assert answer.text == "from the backup"
    assert answer.model == "backup"
    assert server.requests_for("primary") == 3  # first try + 2 retries
    assert server.requests_for("backup") == 1
    await client.aclose()


async def test_retry_then_success_on_429(model_server, fast_retry):
    server = model_server(["finally"])
    server.inject("429", "429")
    client = ModelClient(server_config(server, max_retries=2), retry=fast_retry)
    answer = await client.complete(HI)
    assert answer.text == "finally"
    assert server.requests == 3
    await client.aclose()


async def test_retries_are_bounded_then_error_names_endpoint(model_server, fast_retry):
    server = model_server(["never"])
    server.fail_always("503")
    client = ModelClient(server_config(server, max_retries=1), retry=fast_retry)
    with pytest.raises(ModelError) as caught:
        await client.complete(HI)
    assert server.requests == 2
    assert "HTTP 503" in str(caught.value) and server.base_url in str(caught.value)
    await client.aclose()


async def test_timeout_ends_in_clear_error_naming_model_and_base_url(model_server, fast_retry):
    server = model_server(["too late"])
    server.fail_always("timeout:30")
    client = ModelClient(
        server_config(server, "slow-model", timeout=0.2, max_retries=1), retry=fast_retry
    )
    started = time.perf_counter()
    with pytest.raises(ModelTimeout) as caught:
        await client.complete(HI)
    elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert "slow-model" in message and server.base_url in message
    assert "timeout" in message
    assert elapsed < 15, "the client waited for the held answer instead of timing out"
    # The server thread may count the second attempt a little after the client gave up.
    assert await eventually(lambda: server.requests == 2), server.requests
    await client.aclose()


async def test_timeout_on_every_config_lists_each(model_server, fast_retry):
    server = model_server(["too late"])
    server.fail_always("timeout:10")
    configs = [server_config(server, name, timeout=0.1, max_retries=0) for name in ("m1", "m2")]
    client = ModelClient(configs, retry=fast_retry)
    with pytest.raises(ModelTimeout, match="all 2 model endpoints timed out") as caught:
        await client.complete(HI)
    assert "m1 at" in str(caught.value) and "m2 at" in str(caught.value)
    await client.aclose()


async def test_malformed_json_is_retried_once(model_server, fast_retry):
    server = model_server(["well formed"])
    server.inject("malformed")
    client = ModelClient(server_config(server, max_retries=0), retry=fast_retry)
    assert (await client.complete(HI)).text == "well formed"
    assert server.requests == 2
    await client.aclose()


async def test_malformed_json_every_time_falls_back_then_raises(model_server, fast_retry):
    server = model_server({"replies": [], "default": "backup answer"})
    server.fail_always("malformed", model="broken")
    client = ModelClient(
        [server_config(server, "broken"), server_config(server, "fine")], retry=fast_retry
    )
    assert (await client.complete(HI)).text == "backup answer"
    assert server.requests_for("broken") == 2  # one retry for a bad response, then fallback
    only_broken = ModelClient(server_config(server, "broken"), retry=fast_retry)
    with pytest.raises(ModelBadResponse, match="not a chat completion"):
        await only_broken.complete(HI)
    await client.aclose()
    await only_broken.aclose()


async def test_empty_choices_is_a_bad_response(model_server, fast_retry):
    server = model_server({"replies": [], "default": "ok"})
    server.inject("empty")
    client = ModelClient(server_config(server), retry=fast_retry)
    assert (await client.complete(HI)).text == "ok"
    assert server.requests == 2
    server.fail_always("empty")
    with pytest.raises(ModelBadResponse, match="no choices"):
        await client.complete([Message(role="user", content="again")])
    await client.aclose()


async def test_400_is_not_retried_and_carries_server_message(model_server, fast_retry):
    server = model_server(["unused"])
    server.inject("400:This model's maximum context length is 8192 tokens")
    client = ModelClient(
        [server_config(server, "a", max_retries=3), server_config(server, "b")], retry=fast_retry
    )
    with pytest.raises(ModelRequestRejected, match="maximum context length is 8192") as caught:
        await client.complete(HI)
    assert server.requests == 1  # no retry, no fallback
    assert "a at " + server.base_url in str(caught.value)
    await client.aclose()


async def test_401_skips_to_next_config_without_retrying(model_server, fast_retry):
    server = model_server({"replies": [], "default": "second"})
    server.fail_always("401", model="a")
    client = ModelClient(
        [server_config(server, "a", max_retries=3), server_config(server, "b")], retry=fast_retry
    )
    assert (await client.complete(HI)).text == "second"
    assert server.requests_for("a") == 1
    await client.aclose()


async def test_connection_refused_falls_back(model_server, fast_retry, refused_port):
    dead_url = f"http://127.0.0.1:{refused_port}/v1"
    alive = model_server(["alive"])
    configs = [
        ModelConfig(model="x", base_url=dead_url, timeout=1, max_retries=1),
        server_config(alive),
    ]
    client = ModelClient(configs, retry=fast_retry)
    assert (await client.complete(HI)).text == "alive"
    with pytest.raises(ModelError, match="connection") as failed:
        await ModelClient(configs[:1], retry=fast_retry).complete(HI)
    assert (failed.value.model, failed.value.endpoint) == ("x", dead_url)
    await client.aclose()


async def test_streaming_assembles_content_and_calls_on_token(model_server, fast_retry):
    text = "Graphs are compiled into conversations, one step at a time."
    server = model_server([text])
    client = ModelClient(server_config(server), retry=fast_retry)
    pieces: list[str] = []
    answer = await client.complete(HI, stream=True, on_token=pieces.append)
    assert answer.text == text
    assert "".join(pieces) == text and len(pieces) > 5
    assert answer.finish_reason == "stop"
    assert answer.usage.completion_tokens > 0  # usage arrives in the last chunk
    assert server.request_log[0]["stream"] is True
    await client.aclose()


async def test_streaming_assembles_tool_calls_like_non_streaming(model_server, fast_retry):
    server = model_server([TOOL_REPLY, TOOL_REPLY])
    client = ModelClient(server_config(server), retry=fast_retry)
    plain = await client.complete(HI, tools=TOOLS, cache_seed=None)
    streamed = await client.complete(HI, tools=TOOLS, stream=True, cache_seed=None)
    assert streamed.finish_reason == "tool_calls"
    assert streamed.message.tool_calls == [
        {**call, "id": call["id"].replace("call_0", "call_1")} for call in plain.message.tool_calls
    ]
    await client.aclose()


async def test_truncated_stream_is_retried(model_server, fast_retry):
    server = model_server(["The complete answer."])
    server.inject("truncate")
    client = ModelClient(server_config(server), retry=fast_retry)
    pieces: list[str] = []
    answer = await client.complete(HI, stream=True, on_token=pieces.append)
    assert answer.text == "The complete answer."
    assert server.requests == 2
    assert "".join(pieces).endswith("The complete answer.")
    server.fail_always("truncate")
    with pytest.raises(ModelError, match="connection"):
        await client.complete([Message(role="user", content="again")], stream=True)
    await client.aclose()


async def test_api_key_is_read_from_the_named_variable_at_call_time(
    model_server, fast_retry, monkeypatch
):
    server = model_server({"replies": [], "default": "authorised"}, api_key="sk-test-1")
    config = server_config(server, api_key_env="GF_TEST_KEY", max_retries=0)
    client = ModelClient([config], retry=fast_retry)
    monkeypatch.delenv("GF_TEST_KEY", raising=False)
    with pytest.raises(ModelError, match="GF_TEST_KEY"):
        await client.complete(HI)
    monkeypatch.setenv("GF_TEST_KEY", "sk-wrong")
    with pytest.raises(ModelError, match="HTTP 401"):
        await client.complete(HI)
    monkeypatch.setenv("GF_TEST_KEY", "sk-test-1")
    assert (await client.complete(HI)).text == "authorised"
    await client.aclose()


async def test_params_and_extra_options_reach_the_server(model_server, fast_retry):
    server = model_server({"replies": [], "default": "ok"})
    config = server_config(server, temperature=0.3, max_tokens=50, params={"top_k": 4})

    class Verdict(BaseModel):
        approved: bool

    client = ModelClient(config, retry=fast_retry)
    await client.complete(HI, params={"temperature": 0.9, "seed": 7}, response_format=Verdict)
    body = server.request_log[0]
    assert body["temperature"] == 0.9 and body["max_tokens"] == 50 and body["seed"] == 7
    assert body["top_k"] == 4  # unknown options travel in extra_body
    assert body["response_format"]["json_schema"]["name"] == "Verdict"
    with pytest.raises(ModelError, match="'model'"):
        await client.complete(HI, params={"model": "other"})
    await client.aclose()


async def test_azure_config_talks_to_deployment_url(model_server, fast_retry, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    server = model_server({"replies": [], "default": "from azure"})
    config = ModelConfig(
        model="gpt-4o",
        api_type="azure",
        base_url=f"http://127.0.0.1:{server.port}",
        api_version="2024-06-01",
        azure_deployment="my-deployment",
        timeout=30,
    )
    client = ModelClient(config, retry=fast_retry)
    assert (await client.complete(HI)).text == "from azure"
    assert server.paths[0].startswith("/openai/deployments/my-deployment/chat/completions")
    assert "api-version=2024-06-01" in server.paths[0]
    await client.aclose()


async def test_budget_refuses_calls_once_used_up(model_server, fast_retry):
    server = model_server({"replies": [], "default": "a fairly long answer " * 5})
    client = ModelClient(server_config(server), retry=fast_retry, budget=Budget(max_tokens=20))
    await client.complete(HI)
    with pytest.raises(BudgetExceeded, match="max_tokens"):
        await client.complete(HI)
    assert server.requests == 1
    await client.aclose()


async def test_concurrent_calls_overlap(model_server, fast_retry):
    # Each answer waits until all twenty requests are in flight: the calls succeed only
    # if they overlap (no clock to read).
    everyone = threading.Barrier(20, timeout=30)

    def meet(request):
        everyone.wait()
        return "ok"

    server = model_server(meet)
    client = ModelClient(server_config(server, timeout=60, max_retries=0), retry=fast_retry)
    answers = await asyncio.gather(
        *(client.complete([Message(role="user", content=f"q{i}")]) for i in range(20))
    )
    assert [a.text for a in answers] == ["ok"] * 20
    await client.aclose()


def test_sync_wrapper_works_also_inside_a_running_loop(model_server):
    server = model_server(["sync answer", "again", "from a notebook"])
    client = ModelClient(server_config(server))
    assert client.complete_sync(HI).text == "sync answer"
    assert client.complete_sync(HI, cache_seed=None).text == "again"

    async def inside() -> str:  # as in a Jupyter cell, where a loop already runs
        return client.complete_sync(HI, cache_seed=None).text

    assert asyncio.run(inside()) == "from a notebook"
    scripted = ScriptedModel(["scripted, in a loop"])

    async def scripted_inside() -> str:
        return scripted.complete_sync(HI).text

    assert asyncio.run(scripted_inside()) == "scripted, in a loop"


def test_client_needs_a_config():
    with pytest.raises(ModelError, match="at least one"):
        ModelClient([])


async def test_on_token_errors_propagate_without_retry(model_server, fast_retry):
    server = model_server({"replies": [], "default": "several words to stream"})
    client = ModelClient(server_config(server), retry=fast_retry)

    def explode(text: str) -> None:
        raise ValueError("console closed")

    with pytest.raises(ValueError, match="console closed"):
        await client.complete(HI, stream=True, on_token=explode)
    assert server.requests == 1
    await client.aclose()
