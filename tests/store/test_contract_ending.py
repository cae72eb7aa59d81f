"""The store contract of a step that ends its run: ``commit_step(..., ending=(status,
reason))`` records the ending with the step, as ``set_status`` would after it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from graphflow import Message
from graphflow.errors import StoreError
from graphflow.store import RunStore
from tests.store.factories import StoreFactory
from tests.store.test_contract import commit, new_run


def end_step(store: RunStore, run_id: str, step: int, ending: Any, *, text: str | None = "bye",
             run_usage: dict[str, Any] | None = None) -> None:  # fmt: skip
    state_vars, visits = store.load_variables(run_id, step - 1)
    store.commit_step(run_id, step, nodes=["b"],
                      messages=[Message(content=text, node="b")] if text else [],
                      first_seq=store.message_count(run_id), variables={"n": step},
                      frontier={"run": [], "wait": [], "reason": "done"},
                      usage={"b": run_usage} if run_usage else {}, run_usage=run_usage,
                      started_at=time.time(), state=({**state_vars, "n": step}, visits),
                      ending=ending)  # fmt: skip


@pytest.mark.parametrize("usage", [None, {"prompt_tokens": 3, "completion_tokens": 4, "calls": 1}])
def test_an_ending_step_records_status_and_reason_and_releases_the_lease(
        factory: StoreFactory, usage: dict[str, Any] | None) -> None:  # fmt: skip
    store = factory.open()
    new_run(store)
    commit(store, "r1", 0, text="hi")
    # an earlier stop left an error, a question and a failed node behind (a resumed run)
    store.set_status("r1", "waiting", reason="asked", error="boom", waiting={"b": "go?"},
                     failed_node="a", failed_step=0, release=False)  # fmt: skip
    end_step(store, "r1", 1, ("completed", "done"), run_usage=usage)
    record = store.get_run("r1")
    assert (record.status, record.reason) == ("completed", "done")
    assert record.error is None and not record.waiting
    assert record.failed_node is None and record.failed_step is None
    assert record.lease_owner is None and record.lease_until is None
    assert record.last_step == 1 and record.frontier["run"] == []
    assert [m.content for m in store.load_messages("r1")] == ["hi", "bye"]
    if usage:
        assert record.usage == usage
    # released: another holder takes the run at once
    factory.open().acquire_lease("r1")


@pytest.mark.parametrize(
    "ending",
    [
        ("limit_reached", "max_rounds (2) reached"),
        ("budget_exceeded", "max_tokens (5) exceeded"),
        ("completed", None),
    ],
)
def test_every_ending_the_scheduler_records_reads_back(store: RunStore, ending: Any) -> None:
    new_run(store)
    end_step(store, "r1", 0, ending, text=None)
    record = store.get_run("r1")
    assert (record.status, record.reason) == ending
    assert record.lease_owner is None


def test_a_step_without_an_ending_leaves_the_run_running(store: RunStore) -> None:
    new_run(store)
    end_step(store, "r1", 0, None)
    record = store.get_run("r1")
    assert record.status == "running" and record.lease_owner is not None


def test_a_bad_ending_status_keeps_nothing_of_the_step(store: RunStore) -> None:
    new_run(store)
    with pytest.raises(StoreError, match="unknown run status"):
        end_step(store, "r1", 0, ("finished", "x"))
    record = store.get_run("r1")
    assert record.last_step == -1 and record.status == "running"
    assert store.load_messages("r1") == []
