"""Where a fork at step 0 starts: the entry node of the run's stored graph spec, or a
StoreCorrupt naming the run when the spec is not a whole graph."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow.errors import StoreCorrupt
from graphflow.store import RunRecord
from graphflow.store.retention import entry_frontier


def _record(spec: Any) -> RunRecord:
    return RunRecord("r1", "g", None, spec, "t", "completed", None, None, None, 0, {}, {},
                     None, None, None, None, 0.0, 0.0)  # fmt: skip


def test_the_entry_of_the_stored_spec() -> None:
    assert entry_frontier(_record({"name": "g", "entry": "a", "nodes": {"a": {}}})) == {
        "run": ["a"], "wait": []}


@pytest.mark.parametrize("spec", [{"graph": "x"}, {"entry": None}, {"entry": ""},
                                  {"entry": 3}, {"entry": ["a"]}, {}])  # fmt: skip
def test_a_spec_with_no_entry_node_is_damage_named_with_its_fix(spec: Any) -> None:
    with pytest.raises(StoreCorrupt) as caught:
        entry_frontier(_record(spec))
    text = str(caught.value)
    assert text.startswith("run 'r1': its stored graph spec is incomplete")
    assert "'entry'" in text and "backup" in text
    assert "graphflow resume r1 --graph FILE" in text and "graphflow run FILE" in text
