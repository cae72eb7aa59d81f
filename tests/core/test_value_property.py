"""A property of runs: whatever values nodes write — standard types, models of a declared
type, merge rules over parallel branches — a run paused at a human checkpoint and resumed
from the store sees exactly what an uninterrupted run sees."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from graphflow import Graph
from graphflow.store import MemoryStore, Store
from tests.store.test_values import json_values


class Item(BaseModel):
    name: str
    when: dt.datetime
    price: Decimal
    tags: frozenset[str] = frozenset()


items = st.builds(Item, name=st.text(max_size=5), when=st.datetimes(),
                  price=st.decimals(allow_nan=False, allow_infinity=False, places=2),
                  tags=st.frozensets(st.text(max_size=3), max_size=3))  # fmt: skip
names = st.text(alphabet="abcdefgh", min_size=1, max_size=4).filter(
    lambda n: n not in ("items", "total"))


def graph(written: dict[str, Any], branch_items: list[Item], seen: dict[str, Any],
          pause: bool) -> Graph:  # fmt: skip
    g = Graph("values", entry="produce")
    g.variable("items", [], type=list[Item], merge="append").variable("total", 0, merge="add")
    g.add_node("produce", lambda state: dict(written))
    for i, item in enumerate(branch_items):
        g.add_node(f"b{i}", lambda state, item=item: {"items": item, "total": 1})
        g.add_edge("produce", f"b{i}")
    after = "ask" if pause else "check"
    g.add_node("gather", lambda state: None, join="all")
    for i in range(len(branch_items)):
        g.add_edge(f"b{i}", "gather")
    if not branch_items:
        g.add_edge("produce", "gather")
    if pause:
        g.add_node("ask", kind="human", prompt="continue?", message=False)
        g.add_edge("gather", "ask").add_edge("ask", "check")
    else:
        g.add_edge("gather", after)
    g.add_node("check", lambda state: seen.update(state.variables))
    return g


def run_both(written: dict[str, Any], branch_items: list[Item], store: Any,
             reopen: Any) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    straight: dict[str, Any] = {}
    graph(written, branch_items, straight, pause=False).compile().run_sync(store=MemoryStore())
    resumed: dict[str, Any] = {}
    paused = graph(written, branch_items, resumed, pause=True).compile()
    first = paused.run_sync(store=store)
    assert first.status == "waiting", first.error
    assert not resumed
    done = paused.resume_sync(first.run_id, input="yes", store=reopen())
    assert done.status == "completed", done.error
    return straight, resumed


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(names, json_values, max_size=4), st.lists(items, max_size=3))
def test_paused_and_resumed_equals_uninterrupted(written: dict[str, Any],
                                                 branch_items: list[Item]) -> None:  # fmt: skip
    store = MemoryStore()
    straight, resumed = run_both(written, branch_items, store, store.handle)
    assert resumed == straight
    assert {k: type(v) for k, v in resumed.items()} == {k: type(v) for k, v in straight.items()}
    assert resumed["items"] == branch_items and resumed["total"] == len(branch_items)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(names, json_values, max_size=4), st.lists(items, max_size=3))
def test_paused_and_resumed_equals_uninterrupted_in_sqlite(tmp_path_factory: Any,
                                                           written: dict[str, Any],
                                                           branch_items: list[Item]) -> None:  # fmt: skip
    db: Path = tmp_path_factory.mktemp("db") / "runs.db"
    straight, resumed = run_both(written, branch_items, db, lambda: Store(db))
    assert resumed == straight
    assert {k: type(v) for k, v in resumed.items()} == {k: type(v) for k, v in straight.items()}
