"""Fixtures of the store contract suite: ``factory`` (one per store in FACTORIES) and
``store`` (a first handle opened from it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graphflow.store import RunStore
from tests.store.factories import FACTORIES, StoreFactory


@pytest.fixture(params=sorted(FACTORIES))
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    made = FACTORIES[request.param](tmp_path)
    yield made
    made.close()


@pytest.fixture
def store(factory: StoreFactory) -> RunStore:
    return factory.open()
