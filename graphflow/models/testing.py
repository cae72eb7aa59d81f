"""pytest fixtures for code that talks to models: a scripted HTTP server, a scripted
in-process model, a fast retry policy and a response cache.

Use them from a ``conftest.py``::

    from graphflow.models.testing import fast_retry, model_server, scripted_model  # noqa: F401

Example test::

    async def test_answer(model_server, fast_retry):
        server = model_server(["Hello!"])
        client = ModelClient(server_config(server), retry=fast_retry)
        assert (await client.complete([{"role": "user", "content": "hi"}])).text == "Hello!"
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from graphflow.models.cache import ResponseCache
from graphflow.models.config import ModelConfig
from graphflow.models.retry import RetryPolicy
from graphflow.models.scripted import ScriptedModel
from graphflow.models.server import ModelServer, ScriptLike

__all__ = [
    "FAST_RETRY",
    "fast_retry",
    "model_server",
    "response_cache",
    "scripted_model",
    "server_config",
]

#: Backoff of a millisecond or two, so retry tests take no time.
FAST_RETRY = RetryPolicy(initial=0.001, maximum=0.004, jitter=0.0)


def server_config(server: ModelServer, model: str = "scripted", **options: Any) -> ModelConfig:
    """A config for ``server`` with test-friendly defaults (2 s timeout, 2 retries)."""
    values: dict[str, Any] = {"timeout": 2.0, "max_retries": 2, **options}
    return ModelConfig(model=model, base_url=server.base_url, **values)


@pytest.fixture
def model_server() -> Iterator[Callable[..., ModelServer]]:
    """A factory: ``model_server(script, **options)`` starts a :class:`ModelServer`;
    every server started is stopped after the test."""
    servers: list[ModelServer] = []

    def start(script: ScriptLike = (), **options: Any) -> ModelServer:
        server = ModelServer(script, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def scripted_model() -> Callable[..., ScriptedModel]:
    """A factory: ``scripted_model(replies, **options)`` makes a :class:`ScriptedModel`."""
    return ScriptedModel


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """A retry policy with millisecond backoff."""
    return FAST_RETRY


@pytest.fixture
def response_cache(tmp_path: Path) -> Iterator[ResponseCache]:
    """A response cache in a fresh SQLite file under the test's temporary directory."""
    cache = ResponseCache(tmp_path / "cache.db")
    yield cache
    cache.close()
