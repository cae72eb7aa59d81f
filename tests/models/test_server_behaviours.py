"""What third-party OpenAI-compatible servers and proxies do (LiteLLM's proxy,
OpenRouter), reproduced by the loopback server: costs they report, models they do not
know, options they refuse."""

from __future__ import annotations

import pytest

from graphflow.errors import ModelError, ModelRequestRejected
from graphflow.models import ModelClient, ModelConfig, Usage
from graphflow.testing import FAST_RETRY, server_config

HI = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("stream", [False, True])
def test_cost_reported_in_the_usage_is_the_calls_cost(model_server, stream):
    server = model_server(["priced"], usage_cost=0.00123)
    answer = ModelClient(server_config(server, "proxy-model")).complete_sync(HI, stream=stream)
    assert answer.usage.cost == pytest.approx(0.00123)
    assert answer.usage.cost_known


@pytest.mark.parametrize("stream", [False, True])
def test_cost_reported_in_a_litellm_header_is_the_calls_cost(model_server, stream):
    server = model_server(["priced"], cost_header=0.0042)
    answer = ModelClient(server_config(server, "proxy-model")).complete_sync(HI, stream=stream)
    assert answer.usage.cost == pytest.approx(0.0042) and answer.usage.cost_known


def test_a_configured_price_wins_over_the_servers_report(model_server):
    server = model_server(["priced"], usage_cost=5.0, cost_header=7.0)
    config = server_config(server, "m", price=[1.0, 1.0])
    answer = ModelClient(config).complete_sync(HI)
    assert answer.usage.cost == pytest.approx(answer.usage.total_tokens / 1000)


def test_without_a_reported_or_listed_price_the_cost_is_unknown_not_zero(model_server):
    server = model_server(["free?", "again"])
    client = ModelClient(server_config(server, "local-llama"))
    answer = client.complete_sync(HI)
    assert answer.usage.cost == 0 and not answer.usage.cost_known
    assert answer.usage.cost_text() == "unknown"
    record = answer.to_record()
    assert record["usage"]["cost"] is None
    assert not Usage.from_dict(record["usage"]).cost_known  # survives the run's journal
    total = answer.usage + Usage.of_call(10, 10, cost=0.5, model="gpt-4o")
    assert total.cost_text() == "≥ $0.5000 (1 call unpriced)"
    assert Usage.from_dict(total.to_dict()).unpriced_calls == 1


def test_a_cached_answer_replays_the_cost_the_server_reported(model_server, response_cache):
    server = model_server(["kept"], cost_header=0.25)
    client = ModelClient(server_config(server, "proxy-model"), cache=response_cache)
    first = client.complete_sync(HI)
    again = client.complete_sync(HI)
    assert again.cached and again.usage.cached_cost == pytest.approx(first.usage.cost) == 0.25


@pytest.mark.parametrize("status", [404, 400])
def test_an_unknown_model_falls_back_to_the_next_config(model_server, status):
    server = model_server({"default": "from the real model"}, models=["real-model"],
                          only_models=True, unknown_model_status=status)  # fmt: skip
    client = ModelClient([server_config(server, "gpt-5-typo"), server_config(server, "real-model")],
                         retry=FAST_RETRY)  # fmt: skip
    assert client.complete_sync(HI).text == "from the real model"
    assert server.requests_for("gpt-5-typo") == 1  # not retried: retrying cannot help


@pytest.mark.parametrize("status", [404, 400])
def test_an_unknown_model_alone_says_so_and_quotes_the_server(model_server, status):
    server = model_server(["x"], models=["real-model"], only_models=True,
                          unknown_model_status=status)  # fmt: skip
    client = ModelClient(server_config(server, "gpt-5-typo"), retry=FAST_RETRY)
    with pytest.raises(ModelError) as caught:
        client.complete_sync(HI)
    text = str(caught.value)
    assert "The model `gpt-5-typo` does not exist" in text
    assert "check the model name" in text and f"{server.base_url}/models" in text
    assert "shorten the conversation" not in text


def test_a_server_without_the_key_it_needs_gets_a_key_hint_not_a_length_hint(model_server):
    server = model_server(["x"])
    server.fail_always("400:No api key passed in.")
    client = ModelClient(server_config(server, "m"), retry=FAST_RETRY)
    with pytest.raises(ModelError) as caught:
        client.complete_sync(HI)
    assert "No api key passed in." in str(caught.value)
    assert "check the API key" in str(caught.value)
    assert "shorten the conversation" not in str(caught.value)


def test_a_context_length_rejection_says_to_shorten(model_server):
    server = model_server(["x"])
    server.fail_always("400:This model's maximum context length is 8192 tokens")
    client = ModelClient(server_config(server, "m"), retry=FAST_RETRY)
    with pytest.raises(ModelRequestRejected, match=r"maximum context length.*shorten"):
        client.complete_sync(HI)


def test_a_server_refusing_stream_options_is_asked_again_without_them(model_server):
    server = model_server(["streamed anyway", "and again"], refuse_stream_options=True)
    client = ModelClient(server_config(server, "m"))
    pieces: list[str] = []
    answer = client.complete_sync(HI, stream=True, on_token=pieces.append)
    assert answer.text == "streamed anyway" and "".join(pieces) == "streamed anyway"
    assert answer.usage.completion_tokens > 0  # estimated: the server sent no usage
    assert ["stream_options" in body for body in server.request_log] == [True, False]
    client.complete_sync(HI, stream=True, cache_seed=None)  # remembered: asked once
    assert ["stream_options" in body for body in server.request_log] == [True, False, False]


def test_openai_base_url_is_honoured_for_configs_without_a_base_url(model_server, monkeypatch):
    server = model_server(["from the env's endpoint"])
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url + "/")
    config = ModelConfig(model="gpt-4o-mini")
    assert config.url == server.base_url and config.provider == "openai-compatible"
    assert ModelClient(config).complete_sync(HI).text == "from the env's endpoint"
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert config.url == "https://api.openai.com/v1" and config.provider == "openai"
