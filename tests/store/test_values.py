"""The value codec: exact values through every store (contract), merge operations in step
deltas, refusals, and damaged tags reported for their run only."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphflow.errors import StoreCorrupt, StoreError
from graphflow.store import RunStore, Store
from graphflow.store import values as codec
from graphflow.store.values import Extend, Merge, NotStorable, Union
from tests.store.test_contract import commit, new_run

EXACT: dict[str, Any] = {
    "datetime": dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
    "aware": dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    "zoned": dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
    "date": dt.date(2024, 2, 29),
    "time": dt.time(23, 59, 1, 5),
    "delta": dt.timedelta(days=-1, seconds=5, microseconds=7),
    "decimal": Decimal("-1.2300E+5"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "set": {1, "a", (2, 3)},
    "frozenset": frozenset({"x"}),
    "bytes": bytes(range(256)),
    "bytearray": bytearray(b"\x00\x01"),
    "path": Path("/tmp/a b"),
    "pure": PurePosixPath("x/y"),
    "tuple": (1, (2, [3])),
    "int keys": {1: "a", 2.5: "b", None: "c", (1, 2): "d"},
    "tag-like": {"$gf": "set", "v": [1]},
    "nested": [{"a": {Decimal("1"): [dt.date(2020, 1, 1)]}}],
    "big int": 2**100,
    "surrogate": "\udcff text",
    "plain": {"a": [1, 2.5, None, True, "x"]},
}


def test_every_standard_type_comes_back_exactly() -> None:
    for name, value in EXACT.items():
        back = codec.loads(codec.dumps(value))
        assert back == value and type(back) is type(value), name
    assert codec.loads(codec.dumps(EXACT["zoned"])).fold == 1
    assert codec.loads(codec.dumps(EXACT["zoned"])).tzinfo == ZoneInfo("Europe/Paris")


def test_values_come_back_exactly_through_the_store(store: RunStore) -> None:
    new_run(store, variables=EXACT)
    assert store.load_variables("r1", -1)[0] == EXACT
    commit(store, "r1", 0, variables={"when": EXACT["zoned"], "s": {"x"}})
    variables, _ = store.load_variables("r1", 0)
    assert variables["when"] == EXACT["zoned"] and variables["s"] == {"x"}
    store.save_writes("r1", 1, {"b": {"variables": {"t": (1, 2), "d": Decimal("2.5")}}})
    assert store.load_writes("r1", 1) == {"b": {"variables": {"t": (1, 2), "d": Decimal("2.5")}}}
    store.put_effect("r1", 1, "b", "k", {"at": EXACT["datetime"], "raw": b"\x00"})
    assert store.get_effect("r1", 1, "b", "k") == (True, {"at": EXACT["datetime"], "raw": b"\x00"})


def test_merge_operations_in_step_deltas_fold_into_the_value(store: RunStore) -> None:
    new_run(store, variables={"items": ["a"], "map": {"k": 1}, "seen": {1}})
    commit(store, "r1", 0, variables={"items": Extend(["b", "c"]), "map": Merge({"j": 2}),
                                      "seen": Union({2})})  # fmt: skip
    commit(store, "r1", 1, variables={"items": Extend(["d"])})
    assert store.load_variables("r1", 1)[0] == {"items": ["a", "b", "c", "d"],
                                                "map": {"k": 1, "j": 2}, "seen": {1, 2}}
    assert store.load_variables("r1", 0)[0]["items"] == ["a", "b", "c"]
    assert store.step_row("r1", 1)["variables"] == {"items": Extend(["d"])}  # type: ignore[index]


def test_a_grown_list_is_stored_by_what_each_step_added(tmp_path: Path) -> None:
    from graphflow import Graph

    g = Graph("grow", entry="add").variable("items", [], merge="append").limits(max_steps=400)
    g.add_node("add", lambda state: {"items": "x" * 100})
    g.add_node("done", kind="end")
    g.add_edge("add", "add", when="len(state.items) < 300").add_edge("add", "done", otherwise=True)
    store = Store(tmp_path / "runs.db")
    result = g.compile().run_sync(store=store)
    assert len(result.variables["items"]) == 300
    sizes = [len(codec.dumps(row["variables"])) for row in store.steps(result.run_id)[:-1]]
    assert max(sizes) < 200, "a step stored the whole list instead of what it added"
    assert store.load_variables(result.run_id, result.steps - 1)[0] == result.variables


@pytest.mark.parametrize(("value", "where", "type_name"), [
    (object(), "", "builtins.object"),
    ({"a": [1, lambda: 1]}, "['a'][1]", "function"),
    ({"d": __import__("collections").OrderedDict()}, "['d']", "OrderedDict"),
    (dt.datetime(2024, 1, 1, tzinfo=__import__("datetime").timezone.utc).astimezone(
        __import__("datetime").timezone(dt.timedelta(hours=1))), None, None),
])  # fmt: skip
def test_what_cannot_be_stored_exactly_is_refused_naming_where(value: Any, where: str | None,
                                                              type_name: str | None) -> None:  # fmt: skip
    if where is None:  # a fixed offset is a datetime.timezone: fine
        assert codec.loads(codec.dumps(value)) == value
        return
    with pytest.raises(NotStorable) as info:
        codec.dumps(value)
    assert info.value.path == where and type_name in info.value.type_name
    assert "cannot be stored exactly" in str(info.value)


def test_a_store_refuses_a_value_it_cannot_keep_with_a_store_error(store: RunStore) -> None:
    new_run(store)
    with pytest.raises(StoreError, match="cannot be stored exactly"):
        store.put_effect("r1", 0, "a", "k", object())


def test_models_are_written_without_their_class_and_never_loaded_by_name() -> None:
    from pydantic import BaseModel

    class Report(BaseModel):
        title: str

    text = codec.dumps({"r": Report(title="t")})
    assert "Report" not in text and "test_values" not in text
    assert codec.loads(text) == {"r": {"title": "t"}}
    with pytest.raises(NotStorable, match="declare the variable's type"):
        codec.check(Report(title="t"))


def test_a_damaged_tag_is_reported_for_its_run_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    new_run(store, "bad", variables={"x": 1})
    new_run(store, "good", variables={"x": {1, 2}})
    store.conn.execute("UPDATE snapshots SET variables=? WHERE run_id='bad'",
                       ('{"x":{"$gf":"nosuch","v":1}}',))  # fmt: skip
    with pytest.raises(StoreCorrupt, match="run 'bad'"):
        store.load_variables("bad", -1)
    store.conn.execute("UPDATE snapshots SET variables=? WHERE run_id='bad'",
                       ('{"x":{"$gf":"bytes","v":"!!"}}',))  # fmt: skip
    with pytest.raises(StoreCorrupt, match="damaged"):
        store.load_variables("bad", -1)
    assert store.load_variables("good", -1)[0] == {"x": {1, 2}}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.dates() | st.datetimes() | st.times() | st.timedeltas() | st.uuids() | st.binary()
    | st.decimals(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4)
    | st.frozensets(st.integers() | st.text(max_size=3), max_size=4)
    | st.sets(st.integers(), max_size=4),
    max_leaves=12)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_storable_value_comes_back_equal_and_of_the_same_type(value: Any) -> None:
    back = codec.loads(codec.dumps(value))
    assert back == value
    assert codec.dumps(back) == codec.dumps(value)
