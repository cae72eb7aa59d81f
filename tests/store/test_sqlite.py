"""What only the SQLite store does: its file (size, snapshots, damage, formats and
migrations, sharing the file with the model cache) and leases across processes. The
contract every store keeps is in test_contract.py."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphflow import Graph, Message, Store, StoreCorrupt, StoreError
from graphflow.render.overlay import RunOverlay
from graphflow.store.sqlite.schema import APPLICATION_ID, FORMAT_VERSION


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "runs.db")
    yield s
    s.close()


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
    from graphflow.models import ResponseCache

    path = tmp_path / "runs.db"
    with ResponseCache(path) as cache:
        cache.put("k", {"message": {"content": "hi"}}, model="m")
    Store(path).close()
    with ResponseCache(path) as cache:
        assert cache.get("k") == {"message": {"content": "hi"}}
    # the cache claims only a new file: in someone else's database the store still refuses
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    with ResponseCache(foreign) as cache:
        cache.put("k", {}, model="m")
    with pytest.raises(StoreCorrupt, match="not a graphflow run database"):
        Store(foreign)


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
    from graphflow.store.sqlite.schema import _MIGRATIONS

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
    assert store.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    run = chain(2).compile().run_sync(store=store)
    store.fork_run(run.run_id, 1, "child", {"run": ["n0"], "wait": []})
    assert [tuple(c) for c in store.child_runs(run.run_id)] == [("child", 1, None, None)]


def test_damaged_step_rows_are_reported_by_the_step_listing(store: Store) -> None:
    run = chain(2).compile().run_sync(store=store)
    store.conn.execute("UPDATE steps SET nodes='[bad' WHERE run_id=?", (run.run_id,))
    with pytest.raises(StoreCorrupt, match="is damaged"):
        store.steps(run.run_id)


def test_damaged_branch_writes_and_effects_are_reported_for_their_run(store: Store) -> None:
    run = chain(1).compile().run_sync(store=store)
    store.save_writes(run.run_id, 1, {"n0": {"variables": {}}})
    store.put_effect(run.run_id, 1, "n0", "k", {"ok": True})
    store.conn.execute("UPDATE writes SET payload='{bad' WHERE run_id=?", (run.run_id,))
    store.conn.execute("UPDATE effects SET result='{bad' WHERE run_id=?", (run.run_id,))
    with pytest.raises(StoreCorrupt, match=f"run '{run.run_id}': its stored branch result is damaged"):
        store.load_writes(run.run_id, 1)
    with pytest.raises(StoreCorrupt, match=f"run '{run.run_id}': its stored effect is damaged"):
        store.get_effect(run.run_id, 1, "n0", "k")


def _failing_and_nested(store: Store) -> tuple[str, str]:
    def boom(state: object) -> str:
        raise RuntimeError("boom")

    bad = Graph("bad", entry="split")  # a parallel step whose second node fails
    bad.add_node("split", lambda s: None)
    bad.add_node("ok", lambda s: "fine")
    bad.add_node("breaks", boom)
    bad.add_edge("split", "ok")
    bad.add_edge("split", "breaks")
    failed = bad.compile().run_sync(store=store)
    inner = Graph("inner")
    inner.add_node("reply", lambda s: "inner says hi")
    outer = Graph("outer")
    outer.add_node("sub", kind="subgraph", graph=inner.compile())
    nested = outer.compile().run_sync("hi", store=store)
    return failed.run_id, nested.run_id


def as_format_7(path: Path, *then: str) -> None:
    """Turn the current database at ``path`` back into format 7 (each run's spec in its
    row, no ``specs`` table: what migration 8 changes), then run the statements ``then``
    (an older format's changes, a damage)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in ("UPDATE runs SET spec=(SELECT spec FROM specs WHERE digest=spec_digest)",
                      "DROP INDEX runs_spec", "ALTER TABLE runs DROP COLUMN spec_digest",
                      "DROP TABLE specs", "UPDATE meta SET value='7' WHERE key='format_version'",
                      *then):  # fmt: skip
        conn.execute(statement)
    conn.close()


def test_a_version_2_database_gets_the_failed_node_and_parent_link_columns(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    store = Store(path)
    failed_id, nested_id = _failing_and_nested(store)
    store.close()
    # the same runs as a format-2 database stored them: no columns, prose and id conventions
    as_format_7(path,
                *(f"ALTER TABLE runs DROP COLUMN {column}" for column in
                  ("failed_node", "failed_step", "parent_node", "parent_visit", "models")),
                "DROP TABLE model_calls", "DROP TABLE prompt_messages",  # format 4's
                "ALTER TABLE snapshots DROP COLUMN usage",  # format 7's
                "UPDATE meta SET value='2' WHERE key='format_version'",
                "PRAGMA application_id = 0")  # fmt: skip
    store = Store(path)
    failed = store.get_run(failed_id)
    assert (failed.failed_node, failed.failed_step, failed.reason) == ("breaks", 1,
                                                                       "error in node 'breaks'")  # fmt: skip
    assert [tuple(c) for c in store.child_runs(nested_id)] == [(f"{nested_id}.sub.0", None, "sub", 0)]
    assert list(RunOverlay.from_store(store, failed_id).failed) == ["breaks"]
    assert RunOverlay.from_store(store, nested_id).child("sub").visits == {"reply": 1}
    store.close()


def test_readers_use_the_columns_not_the_reason_or_the_run_id(store: Store) -> None:
    failed_id, nested_id = _failing_and_nested(store)
    child_id = f"{nested_id}.sub.0"
    store.conn.execute("UPDATE runs SET reason='it broke' WHERE run_id=?", (failed_id,))
    store.conn.execute("UPDATE runs SET run_id='renamed' WHERE run_id=?", (child_id,))
    for table in ("steps", "messages", "snapshots"):
        store.conn.execute(f"UPDATE {table} SET run_id='renamed' WHERE run_id=?", (child_id,))
    assert list(RunOverlay.from_store(store, failed_id).failed) == ["breaks"]
    overlay = RunOverlay.from_store(store, nested_id)
    assert overlay.child("sub").run_id == "renamed" and overlay.child("sub").visits == {"reply": 1}


def _schema(conn: sqlite3.Connection) -> dict[str, object]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"
                                         " ORDER BY name")]  # fmt: skip
    return {
        "columns": {t: conn.execute(f"PRAGMA table_info({t})").fetchall() for t in tables},
        "indexes": sorted(r[0] for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")),
        "application_id": conn.execute("PRAGMA application_id").fetchone()[0],
        "meta": conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall(),
    }


def test_a_new_database_has_the_schema_the_migrations_build(tmp_path: Path) -> None:
    from graphflow.store.sqlite.schema import _MIGRATIONS

    old = tmp_path / "v1.db"
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('marker', 'graphflow-run-store')")
    dict(_MIGRATIONS)[1](conn)
    conn.execute("INSERT INTO meta VALUES ('format_version', '1')")
    conn.close()
    Store(old).close()
    Store(tmp_path / "new.db").close()
    migrated, fresh = (sqlite3.connect(tmp_path / name) for name in ("v1.db", "new.db"))
    assert _schema(migrated) == _schema(fresh)
    assert _schema(fresh)["meta"] == [("format_version", str(FORMAT_VERSION)),
                                      ("marker", "graphflow-run-store")]  # fmt: skip


def test_a_resume_reads_the_run_row_once(store: Store) -> None:
    g = Graph("ask")
    g.add_node("ask", kind="human", prompt="?")
    g.add_node("greet", lambda s: "hi")
    g.add_edge("ask", "greet")
    graph = g.compile()
    run = graph.run_sync(store=store)
    reads: list[str] = []
    store.conn.set_trace_callback(
        lambda sql: reads.append(sql) if sql.startswith("SELECT") and "FROM runs" in sql else None)
    assert graph.resume_sync(run.run_id, input="x", store=store).status == "completed"
    store.conn.set_trace_callback(None)
    assert len(reads) == 1  # under the lease, in the lease's transaction


def test_an_in_memory_database_reads_the_conversations_it_lent_before_closing() -> None:
    from graphflow import Update

    g = Graph("talk", variables={"i": 0})
    g.add_node("talk", lambda s: Update(messages=[Message(content=f"m{s.variables['i']}")],
                                        variables={"i": s.variables["i"] + 1}))  # fmt: skip
    g.add_node("ask", kind="human", prompt="more?")
    g.add_edge("talk", "talk", when="state.i < 40")
    g.add_edge("talk", "ask", otherwise=True)
    graph = g.compile()
    store = Store(":memory:")
    waiting = graph.run_sync(store=store)
    done = graph.resume_sync(waiting.run_id, input="no", store=store)
    assert not done.messages.loaded  # type: ignore[attr-defined]
    store.close()
    assert done.messages.loaded  # type: ignore[attr-defined]
    assert [m.content for m in done.messages][:2] == ["m0", "m1"] and len(done.messages) == 41


def test_a_version_6_database_gets_usage_in_its_snapshots(tmp_path: Path) -> None:
    from tests.store.test_resume_usage import Counting, billing

    path = tmp_path / "v6.db"
    graph = billing(turns=260, more=100)
    with Store(path) as store:
        assert graph.run_sync(store=store, run_id="r").status == "waiting"
    # the run as a format-6 database stored it: snapshots without usage
    as_format_7(path, "ALTER TABLE snapshots DROP COLUMN usage",
                "UPDATE meta SET value='6' WHERE key='format_version'")  # fmt: skip
    with Store(path) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM snapshots WHERE usage IS NULL"
                                  ).fetchone()[0] == 3  # steps -1, 199 and 399  # fmt: skip
        assert len(store.node_usage_parts("r")) == 520  # summed from every step, once
        counting = Counting(store)
        done = graph.resume_sync("r", input="yes", store=counting)
        assert done.status == "completed" and counting.parts == [520]
        assert done.usage["by_node"]["writer"]["calls"] == 360
        # the snapshot at step 599 keeps the totals the resume carried on from
        assert len(store.node_usage_parts("r")) == 1 + len(range(600, 721))  # steps 600..720
        totals = store.node_usage_parts("r")[0]  # writer at steps 0, 2 … 518, 521 … 599
        assert (totals["writer"]["calls"], totals["critic"]["calls"]) == (300, 299)


def test_a_new_database_keeps_its_schema_in_the_file_itself(tmp_path: Path) -> None:
    """Made, its schema is checkpointed out of the write-ahead log: the file alone (as a
    copy without its -wal file would be) holds every table, and the log starts empty."""
    store = Store(tmp_path / "runs.db")
    try:
        (tmp_path / "copy.db").write_bytes((tmp_path / "runs.db").read_bytes())
        copy = sqlite3.connect(tmp_path / "copy.db")
        tables = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        copy.close()
        assert {"runs", "steps", "messages", "snapshots", "specs"} <= tables
    finally:
        store.close()


def test_a_new_database_starts_its_log_over_before_the_first_run(tmp_path: Path) -> None:
    """The log starts over (a new checkpoint sequence and salt in its header, which SQLite
    syncs) while the database is made, not in the first run's first commit."""
    path = tmp_path / "runs.db"
    store = Store(path)
    try:
        header = Path(f"{path}-wal").read_bytes()[12:24]  # checkpoint sequence, salts
        chain(3).compile().run_sync(store=store)
        assert Path(f"{path}-wal").read_bytes()[12:24] == header
    finally:
        store.close()
