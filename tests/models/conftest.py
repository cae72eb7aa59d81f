"""Fixtures of the model-layer tests: the scripted HTTP server, scripted models, a fast
retry policy and a response cache (all from graphflow.models.testing)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from graphflow.models.testing import (  # noqa: F401  (pytest fixtures)
    fast_retry,
    model_server,
    response_cache,
    scripted_model,
)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port of 127.0.0.1 that refuses connections for the whole test: bound by this
    process but not listening (a released port could be taken by another program)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
