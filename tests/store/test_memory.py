"""What the in-memory store adds to the contract: handles on shared data, and being
accepted wherever a store is."""

from __future__ import annotations

import doctest

import pytest

import graphflow.store
import graphflow.store.memory
import graphflow.store.retention
from graphflow import Graph
from graphflow.errors import StoreError
from graphflow.models import ScriptedModel
from graphflow.patterns import AssistantAgent, UserProxyAgent, initiate_chat_sync
from graphflow.store import MemoryStore, open_store


def test_handles_share_the_runs_but_not_the_lease_owner() -> None:
    store = MemoryStore()
    other = store.handle()
    g = Graph("hi")
    g.add_node("a", lambda s: "hello")
    run = g.compile().run_sync(store=store)
    assert other.get_run(run.run_id).status == "completed"
    assert other.lease_owner != store.lease_owner
    assert MemoryStore().list_runs() == []  # a new store starts empty


def test_a_memory_store_is_accepted_wherever_a_store_is() -> None:
    store = MemoryStore()
    assert open_store(store) == (store, False)
    with pytest.raises(StoreError, match="not a run store; pass a database path"):
        open_store(42)  # type: ignore[arg-type]
    result = initiate_chat_sync(UserProxyAgent(human_input_mode="NEVER"), AssistantAgent(),
                                "Capital of France?", models=ScriptedModel(["Paris.\nTERMINATE"]),
                                store=store, run_id="chat1")  # fmt: skip
    assert result.summary == "Paris.\n" and store.get_run("chat1").status == "completed"


@pytest.mark.parametrize("module", [graphflow.store, graphflow.store.memory,
                                    graphflow.store.retention])  # fmt: skip
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0
