from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from graphflow import Graph, Message, RunInUse, RunNotFound, Store, StoreCorrupt, StoreError
from graphflow.store.schema import FORMAT_VERSION


def chain(n: int, payload: int = 0) -> Graph:
    g = Graph(f"chain{n}")
    for i in range(n):
        g.add_node(f"n{i}", (lambda s, i=i: "x" * payload) if payload else (lambda s: None))
        if i:
            g.add_edge(f"n{i - 1}", f"n{i}")
    return g


def loop(payload: int) -> Graph:
    g = Graph("loop", variables={"i": 0})
    g.add_node("a", lambda s: __import__("graphflow").Update(
        messages=[Message(content="y" * payload)], variables={"i": s.variables["i"] + 1}))
    g.add_node("end", kind="end")
    g.add_edge("a", "a", when="state.i < state.n")
    g.add_edge("a", "end", otherwise=True)
    return g


def test_storage_grows_linearly_with_what_the_run_produces(tmp_path: Path) -> None:
    graph = loop(1024).compile()
    sizes = {}
    for steps in (200, 800):
        store = Store(tmp_path / f"s{steps}.db")
        graph.run_sync(variables={"n": steps}, store=store)
        sizes[steps] = store.size_bytes()
        store.close()
    per_step_small = sizes[200] / 200
    per_step_big = sizes[800] / 800
    # ~1 KB of message per step: the store must cost about that, not more as runs grow
    assert per_step_big < 2 * 1024
    assert per_step_big <= per_step_small * 1.1


def test_state_is_the_fold_of_deltas_with_snapshots(store: Store) -> None:
    graph = loop(10).compile()
    result = graph.run_sync(variables={"n": 450}, store=store)
    record = store.get_run(result.run_id)
    assert record.status == "completed" and record.last_step == 450
    variables, visits = store.load_variables(result.run_id, record.last_step)
    assert variables["i"] == 450 and visits == {"a": 450, "end": 1}
    snaps = store.conn.execute("SELECT step FROM snapshots WHERE run_id=?", (result.run_id,))
    assert [r[0] for r in snaps] == [-1, 199, 399]
    # the state at an earlier step folds only the deltas up to it
    assert store.load_variables(result.run_id, 250)[0]["i"] == 251
    assert store.message_count(result.run_id) == 450
    assert store.conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0] == 0


def test_fork_copies_state_before_the_step_and_resumes(store: Store) -> None:
    graph = loop(1).compile()
    first = graph.run_sync(variables={"n": 5}, store=store)
    store.fork_run(first.run_id, 3, "forked", {"run": ["a"], "wait": []})
    record = store.get_run("forked")
    assert (record.status, record.parent_run, record.forked_at) == ("ready", first.run_id, 3)
    assert store.load_variables("forked", 2)[0]["i"] == 3
    assert store.message_count("forked") == 3
    done = graph.resume_sync("forked", store=store)
    assert done.status == "completed" and done.variables["i"] == 5
    assert [m.content for m in done.messages] == [m.content for m in first.messages]
    with pytest.raises(StoreError, match="fork at a step"):
        store.fork_run(first.run_id, 99, "bad", {"run": ["a"], "wait": []})


def test_prune_by_status_age_and_count(store: Store) -> None:
    graph = chain(2).compile()
    ids = [graph.run_sync(store=store).run_id for _ in range(4)]
    waiting = Graph("w")
    waiting.add_node("h", kind="human")
    wid = waiting.compile().run_sync(store=store).run_id
    assert sorted(store.prune(keep_last=2, dry_run=True)) == sorted(ids[:3])
    assert sorted(store.prune(status=["completed"], keep_last=2)) == sorted(ids[:3])
    assert {r.run_id for r in store.list_runs()} == {ids[3], wid}
    assert store.prune(older_than=3600) == []
    assert store.prune(older_than=0) == [ids[3]]
    with pytest.raises(RunNotFound):
        store.get_run(ids[0])
    assert store.conn.execute("SELECT COUNT(*) FROM messages WHERE run_id=?", (ids[0],)).fetchone()[0] == 0


def test_lease_refuses_a_second_live_holder(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    g = Graph("w")
    g.add_node("h", kind="human")
    first = Store(path)
    run = g.compile().run_sync(store=first)
    first.acquire_lease(run.run_id)  # holds it, as a running process would
    second = Store(path)
    with pytest.raises(RunInUse, match="in use by process"):
        g.compile().resume_sync(run.run_id, input="x", store=second)
    assert second.get_run(run.run_id).status == "waiting"


def test_lease_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    g = Graph("w")
    g.add_node("h", kind="human")
    store = Store(path)
    run = g.compile().run_sync(store=store)
    proc = subprocess.run([sys.executable, "-c", (
        "import sys; from graphflow import Store; s = Store(sys.argv[1]); "
        "s.acquire_lease(sys.argv[2])"), str(path), run.run_id], check=True)  # fmt: skip
    assert proc.returncode == 0
    assert store.get_run(run.run_id).lease_owner  # left behind by the exited process
    done = g.compile().resume_sync(run.run_id, input="x", store=store)
    assert done.status == "completed"


def test_not_a_database_and_foreign_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(StoreCorrupt, match="not a usable SQLite database"):
        Store(junk)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(StoreCorrupt, match="not a graphflow run database"):
        Store(foreign)
    assert sqlite3.connect(foreign).execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]


def test_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value=? WHERE key='format_version'", (str(FORMAT_VERSION + 1),))
    with pytest.raises(StoreError, match="newer graphflow"):
        Store(path)


def test_truncated_database_is_detected_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = Store(path)
    for _ in range(3):
        loop(2000).compile().run_sync(variables={"n": 30}, store=store)
    store.size_bytes()  # checkpoint the WAL into the main file
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    for ext in ("-wal", "-shm"):
        Path(str(path) + ext).unlink(missing_ok=True)
    with pytest.raises((StoreCorrupt, StoreError)):
        s = Store(path)
        for r in s.list_runs():
            s.load_messages(r.run_id)
            s.load_variables(r.run_id, r.last_step)


def test_a_database_the_model_cache_wrote_first_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE model_cache (key TEXT PRIMARY KEY, value TEXT)")
    Store(path).close()


def test_api_keys_in_a_graph_are_not_stored(tmp_path: Path) -> None:
    g = Graph("secret")
    g.models = {"default": {"model": "m", "api_key": "sk-live-very-secret"}}
    g.add_node("a", lambda s: "hi")
    store = Store(tmp_path / "runs.db")
    g.compile().run_sync(store=store)
    store.size_bytes()
    store.close()
    for file in tmp_path.iterdir():
        assert b"sk-live-very-secret" not in file.read_bytes()


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    from graphflow.store.schema import _MIGRATIONS

    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('marker', 'graphflow-run-store')")
    dict(_MIGRATIONS)[1](conn)
    conn.execute("INSERT INTO meta VALUES ('format_version', '1')")
    conn.close()
    store = Store(path)
    assert store.conn.execute("SELECT value FROM meta WHERE key='format_version'").fetchone()[0] == str(FORMAT_VERSION)
    indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "runs_parent" in indexes
    run = chain(2).compile().run_sync(store=store)
    store.fork_run(run.run_id, 1, "child", {"run": ["n0"], "wait": []})
    assert store.child_runs(run.run_id) == [("child", 1)]


def test_damaged_step_rows_are_reported_by_the_step_listing(store: Store) -> None:
    run = chain(2).compile().run_sync(store=store)
    store.conn.execute("UPDATE steps SET nodes='[bad' WHERE run_id=?", (run.run_id,))
    with pytest.raises(StoreCorrupt, match="is damaged"):
        store.steps(run.run_id)
