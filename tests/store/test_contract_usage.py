"""The store contract, continued: a run's usage per node at a step, read from the newest
snapshot's totals and the steps since (run against each store of FACTORIES, through the
protocols only)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from graphflow.models import Usage, usage_by_node
from graphflow.store import RunStore
from graphflow.store.protocol import SNAPSHOT_EVERY
from tests.store.test_contract import new_run

NODES = ("writer", "critic", "tools")


def step_usage(step: int) -> dict[str, Any] | None:
    """The usage step ``step`` records: none on every fifth step, else one or two nodes,
    with billed and cached calls, known and unknown prices, two models."""
    if step % 5 == 4:
        return None
    node = NODES[step % 3]
    one = Usage.of_call(10 + step % 7, 3, cost=0.001 * (step % 4) or None,
                        model="big" if step % 2 else "small")  # fmt: skip
    usage = {node: one.to_dict()}
    if step % 6 == 1:  # a second node in the same (parallel) step, answered from the cache
        usage["tools"] = Usage.of_call(5, 1, cost=0.002, cached=True, model="small").to_dict()
    return usage


def commit_usage(store: RunStore, run_id: str, steps: range, totals: dict[str, Usage] | None,
                 *, keep_totals: bool = True) -> None:  # fmt: skip
    """Commit ``steps`` as the scheduler does: each step's usage, and the run's usage per
    node after it (``totals``, updated in place), or ``None`` (an older graphflow)."""
    for step in steps:
        usage = step_usage(step)
        if totals is not None:
            for node, data in (usage or {}).items():
                totals[node] = totals.get(node, Usage()) + Usage.from_dict(data)
        store.commit_step(run_id, step, nodes=["writer"], messages=[], first_seq=0,
                          variables=None, frontier={"run": ["writer"], "wait": []}, usage=usage,
                          run_usage=None, started_at=time.time(),
                          state=({"n": 0}, {"writer": step + 1}),
                          usage_by_node=totals if keep_totals else None)  # fmt: skip


def summed(store: RunStore, run_id: str, at_step: int | None = None) -> dict[str, Any]:
    """The usage per node after ``at_step``, summed from the store's reader (as dicts)."""
    parts = store.node_usage_parts(run_id, at_step)
    return {node: u.to_dict() for node, u in usage_by_node(parts).items()}


def from_every_row(store: RunStore, run_id: str, at_step: int | None = None) -> dict[str, Any]:
    """The same, summed from every step row: what the reader must agree with."""
    rows = [row["usage"] for row in store.steps(run_id)
            if row["usage"] and (at_step is None or row["step"] <= at_step)]  # fmt: skip
    return {node: u.to_dict() for node, u in usage_by_node(rows).items()}


def same(got: Any, want: Any, where: str = "usage") -> None:
    """Equal, costs to 1e-9 (a snapshot keeps them rounded to 10 decimals)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, float):
        assert got == pytest.approx(want, abs=1e-9), where
    else:
        assert got == want, where


@pytest.mark.parametrize("length", [0, 3, 199, 200, 201, 450])
def test_usage_per_node_is_the_snapshot_s_totals_plus_the_steps_since(
        store: RunStore, length: int) -> None:  # fmt: skip
    new_run(store)
    commit_usage(store, "r1", range(length), {})
    for at in sorted({-1, 0, 1, 198, 199, 200, 201, 398, 399, 400, length - 1} - {length}):
        if at < length:
            same(summed(store, "r1", at), from_every_row(store, "r1", at))
            assert len(store.node_usage_parts("r1", at)) <= SNAPSHOT_EVERY
    same(summed(store, "r1"), from_every_row(store, "r1"))
    assert summed(store, "r1", -1) == {}
    if length > SNAPSHOT_EVERY:  # the head is read from a snapshot, not from every row
        parts = store.node_usage_parts("r1")
        assert len(parts) == 1 + sum(1 for s in range(400 if length > 400 else 200, length)
                                     if step_usage(s))  # fmt: skip


def test_a_run_without_usage_and_an_unknown_run_have_none(store: RunStore) -> None:
    new_run(store)
    for step in range(SNAPSHOT_EVERY + 5):
        store.commit_step("r1", step, nodes=["a"], messages=[], first_seq=0, variables=None,
                          frontier={"run": ["a"], "wait": []}, usage=None, run_usage=None,
                          started_at=time.time(), state=({}, {}), usage_by_node={})  # fmt: skip
    assert store.node_usage_parts("r1") == [] and store.node_usage_parts("nope") == []


def test_a_fork_counts_only_its_own_steps(store: RunStore) -> None:
    new_run(store)
    parent: dict[str, Usage] = {}
    commit_usage(store, "r1", range(450), parent)
    before = summed(store, "r1")
    for at_step in (0, 150, 300, 450):
        store.fork_run("r1", at_step, f"f{at_step}", {"run": ["writer"], "wait": []})
        assert store.node_usage_parts(f"f{at_step}") == []
    # the fork at step 300 goes on past two snapshots of its own (at steps 399 and 599)
    commit_usage(store, "f300", range(300, 650), {})
    same(summed(store, "f300"), from_every_row(store, "f300"))
    same(summed(store, "f300", 420), from_every_row(store, "f300", 420))
    assert len(store.node_usage_parts("f300")) <= SNAPSHOT_EVERY
    assert summed(store, "f300", 299) == {}
    assert summed(store, "r1") == before  # the parent is as it was


def test_snapshots_without_usage_are_summed_from_every_row(store: RunStore) -> None:
    """Snapshots an older graphflow wrote keep no usage: the reader reads every row (the
    same sums, from more rows) until a snapshot keeps it again."""
    new_run(store)
    totals: dict[str, Usage] = {}
    commit_usage(store, "r1", range(450), totals, keep_totals=False)
    rows = [row for row in store.steps("r1") if row["usage"]]
    assert len(store.node_usage_parts("r1")) == len(rows)
    same(summed(store, "r1"), from_every_row(store, "r1"))
    same(summed(store, "r1", 250), from_every_row(store, "r1", 250))
    # resumed by this graphflow: its totals (summed from every row) go into the next snapshot
    commit_usage(store, "r1", range(450, 700), totals)
    same(summed(store, "r1"), from_every_row(store, "r1"))
    assert len(store.node_usage_parts("r1")) <= SNAPSHOT_EVERY
    same(summed(store, "r1", 450), from_every_row(store, "r1", 450))  # before it: all rows
