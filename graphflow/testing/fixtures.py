"""pytest fixtures for code that talks to models: a scripted HTTP server, a scripted
in-process model, a fast retry policy and a response cache.

Load them as a plugin from the top ``conftest.py`` of a test suite::

    pytest_plugins = ["graphflow.testing.fixtures"]

Example test::

    from graphflow.models import ModelClient
    from graphflow.testing import server_config

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
from graphflow.models.retry import RetryPolicy
from graphflow.models.scripted_model import ScriptedModel
from graphflow.testing.server import FAST_RETRY, ModelServer, ScriptLike

__all__ = ["fast_retry", "model_server", "response_cache", "scripted_model"]


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
