"""A run's end is stored with its last step's commit (a process that dies right after
it leaves nothing to resume), and step values are written by the C encoder exactly as
the standard JSON writer writes them. (The ending on every store:
tests/store/test_contract_ending.py; the lease keeper: tests/core/test_lease_keeper.py.)"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphflow import Graph, Update
from graphflow.scheduler.execution import Execution
from graphflow.store import MemoryStore, Store
from graphflow.store import values as codec


def _ending_graph(how: str) -> Graph:
    g = Graph(f"ends-{how}", entry="work")
    if how == "end node":
        g.add_node("work", lambda state: {"n": 1})
        g.add_node("done", kind="end", status="all done")
        g.add_edge("work", "done")
    elif how == "stop":
        g.add_node("work", lambda state: Update(variables={"n": 1}, stop="enough"))
        g.add_node("never", lambda state: None)
        g.add_edge("work", "never")
    else:  # the budget: a step reports more tokens than allowed
        g.add_node("work", lambda state: Update(usage={"prompt_tokens": 90, "completion_tokens": 20}))
        g.add_node("never", lambda state: None)
        g.add_edge("work", "never")
        g.limits(max_tokens=100)
    return g


ENDINGS = {"end node": ("completed", "all done"), "stop": ("completed", "enough"),
           "budget": ("budget_exceeded", "token budget used up (110 of 100 tokens)")}  # fmt: skip


@pytest.mark.parametrize("how", list(ENDINGS))
def test_the_last_steps_commit_records_how_the_run_ended(
        how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A process that dies between the last step's commit and anything after it leaves
    the run ended in the store, its lease released: nothing is left to resume."""
    db = tmp_path / "runs.db"
    graph = _ending_graph(how).compile()

    def died(self: Execution, *args: Any) -> Any:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(Execution, "finish", died)
    with pytest.raises(RuntimeError, match="died here"):
        graph.run_sync(store=db, run_id="r1")
    record = Store(db).get_run("r1")
    assert (record.status, record.reason) == ENDINGS[how]
    assert (record.lease_owner, record.lease_until) == (None, None)
    assert record.error is None


def test_an_ending_no_commit_recorded_is_written_after_it() -> None:
    """A node that fails ends the run without a commit: its status is written apart."""
    g = Graph("fails", entry="boom")
    g.add_node("boom", lambda state: 1 / 0)
    store = MemoryStore()
    result = g.compile().run_sync(store=store)
    assert result.status == "failed"
    assert store.get_run(result.run_id).status == "failed"


# ---- the writer of step values ------------------------------------------------------

_REFERENCE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=20)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_step_values_are_written_as_the_standard_writer_writes_them(value: Any) -> None:
    assert codec.dumps(value) == _REFERENCE.encode(codec.encode(value))


@pytest.mark.parametrize("value", [float("nan"), math.inf, -math.inf, 2**80, "é\n\u2028",
                                   {"b": 1, "a": [None, True]}, "\ud800"])  # fmt: skip
def test_edge_values_are_written_as_before(value: Any) -> None:
    expected = _REFERENCE.encode(codec.encode(value))
    if not expected.isascii():
        try:
            expected.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: escaped
            expected = json.dumps(codec.encode(value), separators=(",", ":"))
    assert codec.dumps(value) == expected


def test_without_the_c_encoder_the_standard_writer_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from json import encoder

    monkeypatch.setattr(encoder, "c_make_encoder", None)
    assert codec._one_shot_writer() == codec._WRITER.encode
