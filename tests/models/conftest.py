"""Fixtures of the model tests (the model fixtures themselves come from
graphflow.testing.fixtures, loaded by tests/conftest.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port of 127.0.0.1 that refuses connections for the whole test: bound by this
    process but not listening (a released port could be taken by another program)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
