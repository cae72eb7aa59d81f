"""Resuming a run that used models reads its usage per node from the newest snapshot and
the steps since, never from every step (on each store of FACTORIES)."""

from __future__ import annotations

from typing import Any

from graphflow import Graph, Update
from graphflow.graph import CompiledGraph
from graphflow.models import usage_by_node
from graphflow.store import RunStore
from graphflow.store.protocol import SNAPSHOT_EVERY


def billing(turns: int, more: int) -> CompiledGraph:
    """A writer and a critic take turns, each reporting usage; after ``turns`` rounds a
    person is asked, and ``more`` rounds later the run ends."""

    def writer(state: Any) -> Update:
        return Update(usage={"prompt_tokens": 10, "completion_tokens": 2, "cost": 0.001,
                             "model": "big"})  # fmt: skip

    def critic(state: Any) -> Update:
        return Update(usage={"prompt_tokens": 4, "completion_tokens": 1, "cost": None,
                             "cached": state.step % 3 == 0, "model": "small"})  # fmt: skip

    g = Graph("billing", entry="writer")
    g.add_node("writer", writer)
    g.add_node("critic", critic)
    g.add_node("ask", kind="human", prompt="go on?")
    g.add_node("done", kind="end")
    g.add_edge("writer", "critic")
    g.add_edge("critic", "ask", when=f"visits.critic == {turns}")
    g.add_edge("critic", "done", when=f"visits.critic >= {turns + more}")
    g.add_edge("critic", "writer", otherwise=True)
    g.add_edge("ask", "writer")
    g.limits(max_steps=10 * (turns + more))
    return g.compile()


class Counting:
    """A store that counts the usage rows resuming reads."""

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self.parts: list[int] = []  # items node_usage_parts returned, per call
        self.full_reads = 0  # calls of step_usages (every step's usage)

    def node_usage_parts(self, run_id: str, at_step: int | None = None) -> list[dict[str, Any]]:
        parts = self._store.node_usage_parts(run_id, at_step)
        self.parts.append(len(parts))
        return parts

    def step_usages(self, run_id: str) -> list[dict[str, Any]]:
        self.full_reads += 1
        return self._store.step_usages(run_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_resume_reads_the_usage_of_the_steps_since_the_newest_snapshot(store: RunStore) -> None:
    graph = billing(turns=260, more=5)  # 520 steps before the person: snapshots at 199, 399
    paused = graph.run_sync(store=store, run_id="r")
    assert paused.status == "waiting" and paused.steps == 520
    counting = Counting(store)
    done = graph.resume_sync("r", input="yes", store=counting)
    assert done.status == "completed", done.error
    assert counting.full_reads == 0, "resuming read the usage of every step"
    assert counting.parts and max(counting.parts) <= SNAPSHOT_EVERY
    assert counting.parts[0] == 1 + (520 - 400)  # the totals at step 399, then 400..519
    # the split is the one every step row adds up to, and the run's totals agree with it
    every = usage_by_node(row["usage"] for row in store.steps("r") if row["usage"])
    by_node = done.usage["by_node"]
    assert sorted(by_node) == ["critic", "writer"]
    for node, usage in every.items():
        assert by_node[node]["calls"] == usage.calls == 265
        assert by_node[node]["cached_calls"] == usage.cached_calls
        assert by_node[node]["prompt_tokens"] == usage.prompt_tokens
        assert by_node[node]["cost"] == round(usage.cost, 10)
        assert by_node[node]["models"] == usage.to_dict()["models"]
    assert by_node["critic"]["unpriced_calls"] == 265 and 0 < every["critic"].cached_calls < 265
    assert done.usage["calls"] == 530
    assert done.usage["prompt_tokens"] == sum(u.prompt_tokens for u in every.values())
