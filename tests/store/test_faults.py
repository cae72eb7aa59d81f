"""Store faults are errors (issue finding 8): a full disk, damaged rows and pages, dropped
tables, read-only and locked files, a foreign file and a --db under a file each give one
paragraph naming the file or run and the fix — never a traceback — and a run stopped by a
full disk resumes once there is space again."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from graphflow import Graph
from graphflow.errors import StoreCorrupt, StoreError, StoreFull
from graphflow.store import Store

GRAPH = """
graph: g
entry: ask
nodes:
  ask: {kind: human, prompt: "go?"}
  work: {kind: function, call: "faultmod:work"}
  done: {kind: end}
edges:
  - {from: ask, to: work}
  - {from: work, to: done}
"""


def graphflow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "g.yaml").write_text(GRAPH)
    (tmp_path / "faultmod.py").write_text("def work(state):\n    return 'done'\n")
    assert graphflow("run", "g.yaml", "--run-id", "r", "--db", "runs.db", "--no-interactive",
                     "--input", "hello", cwd=tmp_path).returncode == 3  # fmt: skip
    return tmp_path


def chain(n: int) -> Graph:
    g = Graph("chain", entry="n0")
    for i in range(n):
        g.add_node(f"n{i}", lambda state, i=i: "x" * 3000 + str(i))
        if i:
            g.add_edge(f"n{i - 1}", f"n{i}")
    return g


def test_a_full_disk_mid_run_names_the_cause_and_the_run_resumes_once_space_is_back(
        tmp_path: Path) -> None:  # fmt: skip
    graph = chain(40).compile()
    clean = graph.run_sync(store=tmp_path / "clean.db")
    store = Store(tmp_path / "runs.db")
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 12}")  # room for a few steps
    with pytest.raises(StoreError) as info:
        graph.run_sync(store=store, run_id="r")
    message = str(info.value)
    assert "is full" in message and "resume the run" in message
    assert "cannot rollback" not in message
    record = store.get_run("r")
    assert record.status == "running" and 0 <= record.last_step < 39
    store.conn.execute("PRAGMA max_page_count = 1073741823")  # space is back
    done = graph.resume_sync("r", store=store)
    assert done.status == "completed"
    assert [m.content for m in done.messages] == [m.content for m in clean.messages]


def test_a_reason_the_full_store_could_not_take_is_written_once_space_is_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    graph = chain(40).compile()
    store = Store(tmp_path / "runs.db")
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 12}")
    # the steps fill the file; the run row's page still has room for the reason, so the
    # full file refuses that one write here (a row in a full page could not take it)
    real_set_status = store.set_status
    refused: list[str] = []

    def no_room_for_the_reason(run_id: str, status: str, **kw: object) -> None:
        if kw.get("reason") == "store_full" and not refused:
            refused.append(run_id)
            raise StoreFull(f"{tmp_path / 'runs.db'}: the disk (or the database) is full")
        real_set_status(run_id, status, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "set_status", no_room_for_the_reason)
    with pytest.raises(StoreFull):
        graph.run_sync(store=store, run_id="r")
    assert store.get_run("r").reason is None and refused == ["r"]  # not even the reason fitted
    store.conn.execute("PRAGMA max_page_count = 1073741823")  # space is back
    chain(1).compile().run_sync(store=store, run_id="other")  # the next use of the store
    record = store.get_run("r")
    assert record.status == "running" and record.reason == "store_full"
    assert "is full" in (record.error or "") and record.lease_owner is None
    assert graph.resume_sync("r", store=store).status == "completed"


def test_a_reason_that_fits_is_recorded_at_once_and_the_lease_released(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    graph = chain(10).compile()
    store = Store(tmp_path / "runs.db")
    real_commit = store.commit_step

    def full_at_step_5(run_id: str, step: int, **kw: object) -> None:
        if step == 5:  # the step's rows do not fit; a one-row update still does
            raise StoreFull(f"{tmp_path / 'runs.db'}: the disk (or the database) is full")
        real_commit(run_id, step, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "commit_step", full_at_step_5)
    with pytest.raises(StoreFull):
        graph.run_sync(store=store, run_id="r")
    record = store.get_run("r")
    assert (record.status, record.reason, record.last_step) == ("running", "store_full", 4)
    assert record.lease_owner is None
    monkeypatch.setattr(store, "commit_step", real_commit)
    assert Store(tmp_path / "runs.db").get_run("r").reason == "store_full"  # another process
    assert graph.resume_sync("r", store=store).status == "completed"


def test_a_full_disk_at_run_creation_is_a_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "runs.db")
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreError, match="is full"):
        chain(2).compile().run_sync("y" * 100_000, store=store)


@pytest.mark.parametrize("sql", [
    "UPDATE meta SET value='three' WHERE key='format_version'",
    "UPDATE messages SET extra='{\"tool_calls\": 5}'",
    "UPDATE messages SET extra='[1]'",
    "UPDATE specs SET spec='[1]'",
    "DELETE FROM specs",
    "UPDATE runs SET frontier='5'",
    "UPDATE runs SET lease_until=1e300, lease_owner='elsewhere:1:x', status='running'",
    "DROP TABLE messages",
    "DROP TABLE steps",
    "DROP TABLE specs",
])  # fmt: skip
def test_damaged_rows_and_tables_are_clear_errors(folder: Path, sql: str) -> None:
    conn = sqlite3.connect(folder / "runs.db")
    conn.execute(sql)
    conn.commit()
    conn.close()
    for command in (["runs"], ["show", "r"], ["report", "r", "-o", "r.html"],
                    ["resume", "r", "--input", "y", "--no-interactive"]):  # fmt: skip
        proc = graphflow(*command, "--db", "runs.db", cwd=folder)
        assert "Traceback" not in proc.stderr, (command, proc.stderr)
        assert proc.returncode in (0, 1, 2, 5), (command, proc.stderr)
        if proc.returncode == 2:
            assert "runs.db" in proc.stderr or "run 'r'" in proc.stderr, (command, proc.stderr)


def test_damaged_steps_and_branch_results_are_reported_for_their_run(folder: Path) -> None:
    store = Store(folder / "runs.db")
    store.conn.execute("INSERT INTO steps (run_id, step, nodes, variables, next, usage, "
                       "started_at, seconds) VALUES ('r', 0, '\"x\"', NULL, '5', NULL, 0, 0)")
    with pytest.raises(StoreCorrupt, match="run 'r'"):
        store.steps("r")
    with pytest.raises(StoreCorrupt, match="run 'r'"):
        store.get_run("r")
    store.conn.execute("DELETE FROM steps")
    store.conn.execute("INSERT INTO writes (run_id, step, node, payload) VALUES ('r', 0, 'a', '[1]')")
    with pytest.raises(StoreCorrupt, match="branch result is damaged"):
        store.load_writes("r", 0)


def test_a_corrupted_page_is_a_clear_error(folder: Path) -> None:
    db = folder / "runs.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db.read_bytes())
    page = 4096
    data[page * 2: page * 3] = b"\xff" * page  # a b-tree page of a table
    db.write_bytes(bytes(data))
    for command in (["runs"], ["show", "r"]):
        proc = graphflow(*command, "--db", "runs.db", cwd=folder)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode in (0, 2)


def test_a_db_path_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "g.yaml").write_text("graph: g\nentry: a\nnodes: {a: {kind: end}}\n")
    proc = graphflow("run", "g.yaml", "--db", "afile/runs.db", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot be created" in proc.stderr and "afile" in proc.stderr


def test_a_foreign_sqlite_file_is_left_byte_for_byte_untouched(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(StoreCorrupt, match="left untouched"):
        Store(db)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_a_read_only_database_can_be_listed_and_shown(folder: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import os

    db = str(folder / "runs.db")
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode == os.W_OK and str(
        path).startswith(str(folder)) else real(path, mode))  # fmt: skip
    store = Store(db)
    assert store.read_only
    assert [r.run_id for r in store.list_runs()] == ["r"]
    from graphflow.show import run_as_dict

    assert run_as_dict(store, "r")["status"] == "waiting"
    with pytest.raises(StoreError, match="read-only"):
        store.set_status("r", "failed")
    store.close()


def test_a_read_only_database_one_format_old_shows_its_runs(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A format-7 file (each run's spec in its row, no ``specs`` table) that cannot be
    migrated is opened read-only: its runs are listed and shown with their graph and
    usage, instead of being called damaged."""
    import os

    from graphflow.show import run_as_dict
    from tests.store.test_resume_usage import billing
    from tests.store.test_sqlite import as_format_7

    db = tmp_path / "v7.db"
    graph = billing(turns=3, more=2)
    with Store(db) as store:
        assert graph.run_sync(store=store, run_id="r").status == "waiting"
    as_format_7(db)  # the run as format 7 stored it
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode == os.W_OK and str(
        path).startswith(str(tmp_path)) else real(path, mode))  # fmt: skip
    store = Store(db)
    assert store.read_only
    assert store.get_run("r").spec == graph.spec_record()
    assert [r.status for r in store.list_runs()] == ["waiting"]
    by_node = run_as_dict(store, "r")["usage"]["by_node"]
    assert (by_node["writer"]["calls"], by_node["critic"]["calls"]) == (3, 3)
    store.close()


@pytest.mark.parametrize("old_format", [False, True], ids=["current", "format 7"])
def test_a_database_in_a_read_only_folder_can_be_listed_and_shown(folder: Path,
                                                                   old_format: bool) -> None:  # fmt: skip
    """A file whose folder cannot be written (a backup, another user's folder) opens
    read-only even though SQLite could not create the shared-memory file a WAL file needs
    beside it: it is read as immutable when no process has it open for writing."""
    import shutil

    from tests.store.test_sqlite import as_format_7

    ro = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(folder), str(folder)]
    if not shutil.which("bwrap") or subprocess.run([*ro, "true"], capture_output=True,
                                                   timeout=30).returncode != 0:  # fmt: skip
        pytest.skip("bubblewrap cannot mount a read-only folder here")
    if old_format:
        as_format_7(folder / "runs.db")

    def gf(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*ro, sys.executable, "-m", "graphflow.cli", *args, "--db",
                               str(folder / "runs.db")], cwd=folder, capture_output=True,
                              text=True, timeout=60)  # fmt: skip

    listed, shown, resumed = gf("runs"), gf("show", "r"), gf("resume", "r", "--input", "y")
    assert (listed.returncode, shown.returncode) == (0, 0), listed.stderr + shown.stderr
    assert "r\tg\twaiting" in listed.stdout and "waiting at ask" in shown.stdout
    assert resumed.returncode == 2 and "is read-only" in resumed.stderr
    # a log left beside it (a process killed, or one writing it elsewhere) must be read
    # too, which SQLite cannot do here: it says so, not that the file is unusable
    (folder / "runs.db-wal").write_bytes(b"\0" * 32)
    refused = gf("runs")
    assert refused.returncode == 2 and "write-ahead log (runs.db-wal)" in refused.stderr
    assert "move this file away" not in refused.stderr and "Traceback" not in refused.stderr


def test_a_locked_database_says_it_is_locked(folder: Path) -> None:
    db = folder / "runs.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(30, holder.rollback)
    release.start()
    try:
        started = time.monotonic()
        with pytest.raises(StoreError) as info:
            Store(db)
        assert "is locked" in str(info.value) and "move this file away" not in str(info.value)
        assert time.monotonic() - started < 25
    finally:
        release.cancel()
        holder.rollback()
        holder.close()
