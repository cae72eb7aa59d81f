"""A run started in this process (Execution.begin, no read-back) sees the state a resume
reads back from the store (Execution.load), on every store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from graphflow import Message
from graphflow.scheduler.entry import create_run, resume_run
from tests.core.test_begin_load import seeing
from tests.core.test_run_contract import VALUES
from tests.store.factories import StoreFactory


@pytest.mark.parametrize(
    "given",
    [
        None,
        [Message(role="user", content="hi", name="ann"), Message(role="user", content="and more")],
    ],
)
def test_begin_gives_the_state_load_reads_back(factory: StoreFactory, given: Any) -> None:
    store = factory.open()
    started: dict[str, Any] = {}
    resumed: dict[str, Any] = {}
    result = seeing(started).compile().run_sync(input=given, variables=dict(VALUES),
                                                store=store)  # fmt: skip
    assert result.status == "completed", result.error
    graph = seeing(resumed).compile()
    run_id = create_run(graph, store=store, input=given, variables=dict(VALUES))
    again = asyncio.run(resume_run(graph, run_id, store=store))
    assert again.status == "completed", again.error
    assert started == resumed
    assert list(started["variables"]) == list(resumed["variables"])  # the same order too
