"""Fixtures of the distributed tests: a Redis broker (one database of the session's
server per test, emptied first) and the shared run store, on SQLite and, where a
Postgres store is available (the ``postgres_url`` fixture), on Postgres."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphflow.testing.redis import redis_url  # noqa: F401  (a fixture)
from tests.conftest import require

_DATABASES = itertools.cycle(range(1, 16))


@pytest.fixture
def broker(redis_url: str) -> Iterator[str]:  # noqa: F811
    """A Redis database of its own for one test, empty."""
    try:
        import celery  # noqa: F401
        import redis
    except ImportError:
        require(False, "Celery is not installed: pip install 'graphflow[workers]'")
    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    url = f"{base}/{next(_DATABASES)}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The shared run store: an SQLite file several processes open, or a Postgres URL."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.db")
    try:
        return str(request.getfixturevalue("postgres_url"))
    except pytest.FixtureLookupError:
        pytest.skip("no Postgres store here (the postgres_url fixture is not defined)")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The shared run store as an SQLite file (for tests that run once, not per store)."""
    return str(tmp_path / "runs.db")
