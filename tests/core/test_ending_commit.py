"""A run's ending is recorded with its last step's commit when the step decides it (a
node's stop, max_rounds, the budget, no node left); the checks made before a step
(max_steps, timeout, max_visits) and stop_when still record it after. Either way the run
ends once: one RunFinished, the status and reason stored, the lease released."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow import Graph, Message, Update
from graphflow import events as ev
from graphflow.store import MemoryStore


class Counting(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[tuple[str, str | None]] = []
        self.endings: list[Any] = []

    def set_status(self, run_id: str, status: Any, **kw: Any) -> None:
        self.statuses.append((status, kw.get("reason")))
        super().set_status(run_id, status, **kw)

    def commit_step(self, run_id: str, step: int, **kw: Any) -> None:
        self.endings.append(kw.get("ending"))
        super().commit_step(run_id, step, **kw)


def spend(state: Any) -> Update:
    return Update(messages=[Message(content="x")],
                  usage={"prompt_tokens": 40, "completion_tokens": 10, "calls": 1})  # fmt: skip


def looping(**limits: Any) -> Graph:
    g = Graph("loop", entry="a")
    g.add_node("a", spend)
    g.add_node("end", kind="end", status="finished")
    g.add_edge("a", "a", when="visits.a < 4").add_edge("a", "end", otherwise=True)
    g.limits(**limits)
    return g


@pytest.mark.parametrize(
    ("limits", "ending", "in_commit"),
    [
        ({}, ("completed", "finished"), True),
        ({"max_tokens": 120}, ("budget_exceeded", "token budget used up (150 of 120 tokens)"),
         True),
        ({"max_steps": 2}, ("limit_reached", "max_steps (2) reached"), False),
        ({"max_visits": 2}, ("limit_reached", "node 'a' reached max_visits (2)"), False),
        ({"stop_when": "len(messages) >= 2"}, ("completed", "stop_when: len(messages) >= 2"),
         False),
    ],
)  # fmt: skip
def test_the_ending_is_stored_once_with_its_reason(limits: dict[str, Any], ending: Any,
                                                   in_commit: bool) -> None:  # fmt: skip
    store = Counting()
    seen: list[ev.Event] = []
    result = looping(**limits).compile().run_sync(store=store, on_event=seen.append)
    assert (result.status, result.reason) == ending
    record = store.get_run(result.run_id)
    assert (record.status, record.reason) == ending
    assert record.lease_owner is None and record.error is None
    finished = [e for e in seen if isinstance(e, ev.RunFinished)]
    assert len(finished) == 1 and (finished[0].status, finished[0].reason) == (
        ending[0],
        ending[1] or "",
    )
    if in_commit:  # recorded by the last commit, not set again after it
        assert store.endings[-1] == ending and store.statuses == []
        assert all(e is None for e in store.endings[:-1])
    else:
        assert all(e is None for e in store.endings) and store.statuses == [ending]


def test_a_stop_from_a_node_is_recorded_with_the_step_and_usage() -> None:
    g = Graph("stop", entry="a")
    g.add_node("a", lambda s: Update(stop="halted", usage={"prompt_tokens": 3, "calls": 1}))
    g.add_node("b", lambda s: "never")
    g.add_edge("a", "b")
    store = Counting()
    result = g.compile().run_sync(store=store)
    assert (result.status, result.reason) == ("completed", "halted")
    record = store.get_run(result.run_id)
    assert record.status == "completed" and record.usage["prompt_tokens"] == 3
    assert store.endings == [("completed", "halted")] and store.statuses == []
