"""A damaged run is reported for that run only; the other runs stay readable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graphflow import Graph, Store, StoreCorrupt


def make_runs(store: Store, count: int) -> list[str]:
    g = Graph("g")
    g.add_node("a", lambda s: "hello")
    g.add_node("b", lambda s: {"x": 1})
    g.add_edge("a", "b")
    return [g.compile().run_sync(store=store).run_id for _ in range(count)]


def test_a_damaged_spec_is_reported_for_the_runs_of_its_graph_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    first, second = make_runs(store, 2)  # one graph: one stored spec
    other = Graph("other")
    other.add_node("a", lambda s: None)
    third = other.compile().run_sync(store=store).run_id
    store.conn.execute("UPDATE specs SET spec='{not json' WHERE digest=(SELECT spec_digest"
                       " FROM runs WHERE run_id=?)", (first,))  # fmt: skip
    for run_id in (first, second):
        with pytest.raises(StoreCorrupt, match=f"run '{run_id}'"):
            store.get_run(run_id)
    listed = {r.run_id: r.status for r in store.list_runs()}
    assert listed == {first: "damaged", second: "damaged", third: "completed"}
    assert store.get_run(third).spec is not None


@pytest.mark.parametrize(("table", "column"), [("messages", "extra"), ("steps", "variables"),
                                               ("runs", "usage"), ("steps", "next"),
                                               ("snapshots", "variables")])  # fmt: skip
def test_damaged_rows_are_reported_per_run(tmp_path: Path, table: str, column: str) -> None:
    store = Store(tmp_path / "runs.db")
    first, second = make_runs(store, 2)
    store.conn.execute(f"UPDATE {table} SET {column}='{{not json' WHERE run_id=?", (first,))
    with pytest.raises(StoreCorrupt, match=f"run '{first}'"):
        store.get_run(first)
        store.load_messages(first)
        store.load_variables(first, 1)
    listed = {r.run_id: r.status for r in store.list_runs()}
    assert listed[second] == "completed"
    assert listed[first] in ("damaged", "completed")
    record = store.get_run(second)
    assert record.status == "completed"
    assert [m.content for m in store.load_messages(second)] == ["hello"]
    assert store.load_variables(second, 1)[0] == {"x": 1}


def test_cli_reports_damage_without_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    store = Store(db)
    first, second = make_runs(store, 2)
    store.conn.execute("UPDATE steps SET next='{bad' WHERE run_id=?", (first,))
    store.close()
    proc = subprocess.run([sys.executable, "-m", "graphflow.cli", "show", first, "--db", str(db)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is damaged" in proc.stderr and "other runs are not affected" in proc.stderr
    ok = subprocess.run([sys.executable, "-m", "graphflow.cli", "show", second, "--db", str(db)],
                        capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0 and "status completed" in ok.stdout


@pytest.mark.parametrize(("column", "value"), [("models", "{not json"), ("models", "[1]"),
                                               ("last_step", "x"), ("updated_at", "y"),
                                               ("created_at", "z"), ("forked_at", 1.5),
                                               ("updated_at", float("inf")),
                                               ("created_at", -1e20),
                                               ("last_step", 2**63 - 1)])  # fmt: skip
def test_one_damaged_run_row_never_hides_the_others(tmp_path: Path, column: str,
                                                     value: object) -> None:  # fmt: skip
    """A run row whose field does not decode (or is not a number where one belongs) is
    listed as damaged, and the listing, the CLI's listing and prune read on."""
    db = tmp_path / "runs.db"
    store = Store(db)
    first, second = make_runs(store, 2)
    store.conn.execute(f"UPDATE runs SET {column}=? WHERE run_id=?", (value, first))
    with pytest.raises(StoreCorrupt, match=f"run '{first}'"):
        store.get_run(first)
    assert {r.run_id: r.status for r in store.list_runs()} == {first: "damaged",
                                                               second: "completed"}
    assert store.prune(older_than=0) == [second]  # the damaged one is kept unless named
    store.close()
    proc = subprocess.run([sys.executable, "-m", "graphflow.cli", "runs", "--db", str(db)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert first in proc.stdout and "damaged" in proc.stdout


@pytest.mark.parametrize("spec", ['{"graph": "g", "entry": "a", "nodes": {"a": {}}, "edges": ["x"]}',
                                  '{"graph": "g", "entry": "a", "nodes": ["a"], "edges": []}',
                                  '{"graph": "g", "entry": "a", "nodes": {"a": 1}}'])  # fmt: skip
def test_a_spec_of_the_wrong_shape_is_damage_not_a_traceback(tmp_path: Path, spec: str) -> None:
    """A stored graph spec that is JSON but whose nodes or edges are not objects (edited
    by hand) is reported as damaged, and `graphflow report` says so (it raised in the
    overlay)."""
    db = tmp_path / "runs.db"
    store = Store(db)
    first, _ = make_runs(store, 2)
    store.conn.execute("UPDATE specs SET spec=?", (spec,))
    with pytest.raises(StoreCorrupt, match=f"run '{first}'.*damaged \\(its (nodes|edges) are"):
        store.get_run(first)
    assert {r.status for r in store.list_runs()} == {"damaged"}
    store.close()
    proc = subprocess.run([sys.executable, "-m", "graphflow.cli", "report", first, "--db",
                           str(db), "-o", str(tmp_path / "r.html")],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "damaged" in proc.stderr


def test_an_invalid_stored_spec_is_named_as_the_runs_not_as_its_file(tmp_path: Path) -> None:
    """A stored spec that decodes but is no graph (no nodes): rebuilding the run's graph
    names the run's stored spec and the fix, not the graph file it once came from."""
    from graphflow.errors import DefinitionError
    from graphflow.loader import graph_for_run

    store = Store(tmp_path / "runs.db")
    first, _ = make_runs(store, 2)
    store.conn.execute("UPDATE specs SET spec=?", ('{"graph": "g", "entry": "a"}',))
    store.conn.execute("UPDATE runs SET source=?", (str(tmp_path / "g.yaml"),))
    with pytest.raises(DefinitionError) as caught:
        graph_for_run(store.get_run(first))
    text = str(caught.value)
    assert f"the spec stored with run '{first}'" in text and "g.yaml" not in text
    assert f"graphflow resume {first} --graph FILE" in text
    store.close()
