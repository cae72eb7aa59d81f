"""A store opened read-only while another process, allowed to write, changes the file:
it migrates a read-only file of the previous format (the reader reads on at the new one),
or writes a file the reader opened immutable (the reader opens it again, never reading
stale or "malformed" pages)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from graphflow import Graph, Store
from graphflow.errors import RunNotFound, StoreError
from graphflow.messages import Message
from graphflow.show import run_as_dict
from graphflow.store.sqlite.base import unchanging
from tests.store.test_sqlite import as_format_7

ROOT = Path(__file__).resolve().parents[2]

#: A process allowed to write the file: ``add PREFIX COUNT`` runs the graph COUNT times
#: (run ids PREFIX0000, …), ``delete RUN`` deletes a run, ``close`` closes the store and
#: exits; it answers ``ok`` to each line. Opening the store migrates an older file.
WRITER = """
import sys
from graphflow import Store
from tests.store.test_read_only_readers import graph
compiled = graph().compile()
store = Store(sys.argv[1])
print("ok", flush=True)
for line in sys.stdin:
    verb, *args = line.split()
    if verb == "add":
        for k in range(int(args[1])):
            compiled.run_sync(f"task {args[0]}{k}", store=store, run_id=f"{args[0]}{k:04d}")
    elif verb == "delete":
        store.delete_run(args[0])
    else:
        store.close()
    print("ok", flush=True)
    if verb == "close":
        break
"""


class Process:
    """A child process that answers each line given with one line."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
        self.first = self._answer()

    def ask(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def _answer(self) -> str:
        assert self.proc.stdout is not None
        answer = self.proc.stdout.readline()
        if not answer:
            assert self.proc.stderr is not None
            raise AssertionError(f"the process ended: {self.proc.stderr.read()}")
        return answer.strip()

    def end(self) -> None:
        """Close its input (it ends when it reads no more), kill it if it does not."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def processes() -> Iterator[Callable[[list[str]], Process]]:
    started: list[Process] = []

    def start(argv: list[str]) -> Process:
        started.append(Process(argv))
        return started[-1]

    yield start
    for process in started:
        process.end()


def write(path: Path, *lines: str) -> None:
    """Open the store at ``path`` in another process, do ``lines`` there, close it."""
    writer = Process([sys.executable, "-c", WRITER, str(path)])
    try:
        for line in (*lines, "close"):
            assert writer.ask(line) == "ok"
    finally:
        writer.end()


def say_hi(state: Any) -> str:
    return "hi"


def graph() -> Graph:
    """The graph of every run here (a node that says "hi"), for this process and the
    writers."""
    made = Graph("g", entry="a")
    made.add_node("a", say_hi)
    return made


def new_file(path: Path, runs: int) -> dict[str, Any]:
    """A file of ``runs`` completed runs (``r0000``, …); the graph's spec."""
    compiled = graph().compile()
    with Store(path) as store:
        for k in range(runs):
            compiled.run_sync(f"task r{k}", store=store, run_id=f"r{k:04d}")
        return store.get_run("r0000").spec


def cannot_write(monkeypatch: pytest.MonkeyPatch, where: Path) -> None:
    """This process may not write ``where`` (a file, or a folder and what is in it), as
    for another user; SQLite itself still could."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode == os.W_OK and str(
        path).startswith(str(where)) else real(path, mode))  # fmt: skip


def assert_reads(store: Store, run_id: str, spec: dict[str, Any]) -> None:
    """Every way of reading one run reads it whole."""
    record = store.get_run(run_id)
    assert (record.status, record.spec) == ("completed", spec)
    task = f"task {run_id[0]}{int(run_id[1:])}"
    assert [m.content for m in store.load_messages(run_id)] == [task, "hi"]
    assert [m.content for m in store.load_conversation(run_id)] == [task, "hi"]
    assert [row["content"] for row in store.message_rows(run_id)] == [task, "hi"]
    assert [row["step"] for row in store.steps(run_id)] == [0]
    assert run_as_dict(store, run_id)["status"] == "completed"


# ---- a read-only file of the previous format, migrated by another process ---------------


@pytest.mark.parametrize("unwritable", ["file", "folder"])
def test_a_read_only_format_7_reader_reads_on_after_another_process_migrates_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unwritable: str) -> None:  # fmt: skip
    """Another process migrates the file (format 7 to 8: each run's spec moves into
    ``specs``, its row keeps an empty one): the reader, which read it as format 7, reads
    the runs whole at format 8 — not every run "damaged" until it is opened again. The
    file alone cannot be written (read-only connection) or its folder (immutable)."""
    path = tmp_path / "runs.db"
    spec = new_file(path, 3)
    as_format_7(path)
    cannot_write(monkeypatch, path if unwritable == "file" else tmp_path)
    assert unchanging(path) == (unwritable == "folder")  # opened immutable
    reader = Store(path)
    assert reader.read_only
    assert [r.status for r in reader.list_runs()] == ["completed"] * 3
    assert_reads(reader, "r0001", spec)

    write(path, "add n 1")  # migrates the file, then runs the graph once more
    listed = reader.list_runs()
    assert [(r.run_id, r.status, r.error) for r in listed] == [
        ("n0000", "completed", None), ("r0002", "completed", None),
        ("r0001", "completed", None), ("r0000", "completed", None)]  # fmt: skip
    for run_id in ("r0000", "r0001", "n0000"):
        assert_reads(reader, run_id, spec)
    with pytest.raises(StoreError, match="read-only"):
        reader.set_status("r0000", "failed")
    reader.close()


def test_a_migration_between_choosing_the_query_and_running_it_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The format-7 query is chosen, then the migration commits before it runs: its rows
    come in the new shape, which the store notices after the query and queries again."""
    path = tmp_path / "runs.db"
    spec = new_file(path, 2)
    as_format_7(path)
    cannot_write(monkeypatch, path)
    reader = Store(path)
    query = reader._rows
    migrated: list[str] = []

    def migrating_first(sql: str, params: Any) -> list[dict[str, Any]]:
        if not migrated:
            migrated.append(sql)
            write(path)  # the other process opens (migrates) the file
        return query(sql, params)

    monkeypatch.setattr(reader, "_rows", migrating_first)
    assert [(r.status, r.error) for r in reader.list_runs()] == [("completed", None)] * 2
    assert "specs" not in migrated[0]  # the query was the format-7 one
    assert reader.get_run("r0001").spec == spec
    reader.close()


# ---- a file opened immutable, written by another process ----------------------------------


@pytest.mark.parametrize("writer_stays", [False, True], ids=["writer gone", "writer open"])
def test_an_immutable_reader_reads_what_another_process_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_stays: bool,
        processes: Callable[[list[str]], Process]) -> None:  # fmt: skip
    """A file in a folder this process cannot write, no log beside it: opened immutable.
    Another process (that may write the folder) grows the file and deletes a run: the
    reader lists and reads the new runs, the deleted one is gone, nothing is called
    damaged — whether that process closed the file (no log: immutable again) or still
    has it open (its -wal beside it: read-only, SQLite keeping it current)."""
    path = tmp_path / "runs.db"
    spec = new_file(path, 50)
    cannot_write(monkeypatch, tmp_path)
    assert unchanging(path)  # opened immutable
    reader = Store(path)
    assert reader.read_only
    assert len(reader.list_runs()) == 50

    lines = ("add n 300", "delete r0001")
    if writer_stays:
        writer = processes([sys.executable, "-c", WRITER, str(path)])
        assert all(writer.ask(line) == "ok" for line in lines)
        assert Path(f"{path}-wal").exists()
    else:
        write(path, *lines)
        assert not Path(f"{path}-wal").exists()
    for _ in range(2):  # the first read opens the file again, the second reads on
        listed = reader.list_runs()
        assert len(listed) == 349 and {r.status for r in listed} == {"completed"}
        assert len(reader.find_runs("n")) == 300 and reader.message_count("n0299") == 2
    for run_id in ("n0299", "r0000", "r0049"):
        assert_reads(reader, run_id, spec)
    with pytest.raises(RunNotFound):
        reader.get_run("r0001")

    if writer_stays:  # and once more while it stays open, then as it closes
        assert writer.ask("add m 5") == "ok"
        assert len(reader.list_runs()) == 354
        assert writer.ask("close") == "ok"
    write(path, "add k 5")
    assert len(reader.list_runs()) == 349 + 5 + 5 * writer_stays
    assert_reads(reader, "k0004", spec)
    reader.close()


def read_only_mount(folder: Path) -> list[str]:
    """The command prefix that runs a process where ``folder`` (made here) is mounted
    read-only; skips the test where bubblewrap cannot."""
    folder.mkdir()
    ro = ["bwrap", "--die-with-parent", "--dev-bind", "/", "/", "--ro-bind", str(folder),
          str(folder)]  # fmt: skip
    if not shutil.which("bwrap") or subprocess.run([*ro, "true"], capture_output=True,
                                                   timeout=30).returncode != 0:  # fmt: skip
        pytest.skip("bubblewrap cannot mount a read-only folder here")
    return ro


READER = """
import json, sys
from graphflow import Store
store = Store(sys.argv[1])
print(json.dumps(store.read_only), flush=True)
for line in sys.stdin:
    try:
        runs = store.list_runs()
        got = store.get_run(line.strip())
        texts = [m.content for m in store.load_messages(got.run_id)]
        print(json.dumps([len(runs), sorted({r.status for r in runs}), got.status, texts]),
              flush=True)
    except Exception as exc:
        print(json.dumps(f"{type(exc).__name__}: {exc}"), flush=True)
store.close()
"""


def test_a_reader_in_a_read_only_folder_reads_what_another_user_writes(
        tmp_path: Path, processes: Callable[[list[str]], Process]) -> None:
    """The reader runs where the folder is mounted read-only (as for a user who may not
    write it); the writer, outside, writes the file: closed between two reads (the reader
    opens it immutable again), kept open (its -wal and -shm beside it, which SQLite reads
    without writing the folder), then closed. A -wal alone (no -shm), which SQLite cannot
    read there, says so and what to do — never that the file is damaged."""
    folder = tmp_path / "ro"
    ro = read_only_mount(folder)
    path = folder / "runs.db"
    new_file(path, 20)
    reader = processes([*ro, sys.executable, "-c", READER, str(path)])
    assert reader.first == "true"  # read-only

    def read(run_id: str) -> Any:
        return json.loads(reader.ask(run_id))

    assert read("r0019") == [20, ["completed"], "completed", ["task r19", "hi"]]
    write(path, "add n 200", "delete r0001")
    assert read("n0199") == [219, ["completed"], "completed", ["task n199", "hi"]]
    writer = processes([sys.executable, "-c", WRITER, str(path)])
    assert writer.ask("add m 100") == "ok" and Path(f"{path}-shm").exists()
    assert read("m0099") == [319, ["completed"], "completed", ["task m99", "hi"]]
    assert writer.ask("add p 3") == "ok" and writer.ask("close") == "ok"
    assert read("p0002") == [322, ["completed"], "completed", ["task p2", "hi"]]
    assert "RunNotFound" in read("r0001")

    # a log that SQLite cannot share here (no -shm): the reader says what to do
    reader.end()  # (its connection kept the writer's log beside the file)
    write(path, "add q 1")
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    fresh = processes([*ro, sys.executable, "-c", READER, str(path)])
    assert json.loads(fresh.ask("q0000"))[0] == 323
    Path(f"{path}-wal").write_bytes(b"\0" * 32)
    refused = json.loads(fresh.ask("q0000"))
    assert "write-ahead log (runs.db-wal)" in refused and "recover" not in refused
    Path(f"{path}-wal").unlink()
    assert json.loads(fresh.ask("q0000")) == [323, ["completed"], "completed",
                                              ["task q0", "hi"]]  # fmt: skip


def test_a_conversation_read_after_close_in_a_read_only_folder(tmp_path: Path) -> None:
    """A conversation's first messages, read once the store is closed through a
    connection of their own, are read as the store read the file (immutable) in a folder
    that cannot be written — not reported as messages that cannot be read."""
    folder = tmp_path / "ro"
    ro = read_only_mount(folder)
    with Store(folder / "runs.db") as store:
        store.create_run("long", graph="g", spec=graph().compile().spec_record(),
                         topology="t", frontier={"run": ["a"], "wait": []}, variables={},
                         messages=[Message(role="user", content=f"m{i}") for i in range(40)])
    script = ("import sys; from graphflow import Store; store = Store(sys.argv[1]);"
              " convo = store.load_conversation('long'); store.close();"
              " print(store.read_only, [m.content for m in convo][:3], len(convo))")  # fmt: skip
    done = subprocess.run([*ro, sys.executable, "-c", script, str(folder / "runs.db")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert done.stdout.strip() == "True ['m0', 'm1', 'm2'] 40", done.stderr


def test_a_cursor_on_an_immutable_reader_outlives_its_reopening(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Opening the file again leaves the connection it replaces to the statements and
    cursors still using it (another thread's, here one kept across two reopenings):
    closing it under them crashed the process or raised on their next row."""
    path = tmp_path / "runs.db"
    new_file(path, 20)
    cannot_write(monkeypatch, tmp_path)
    reader = Store(path)
    cursor = reader.conn.execute("SELECT run_id FROM runs ORDER BY run_id")
    first = cursor.fetchone()
    for prefix in ("m", "n"):
        write(path, f"add {prefix} 3")
        assert len(reader.list_runs()) in (23, 26)  # opened again
    assert [first[0], *(r[0] for r in cursor.fetchall())] == [f"r{k:04d}" for k in range(20)]
    reader.close()


def test_an_immutable_reader_stays_on_its_file_after_a_chdir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A store opened by a relative path keeps reading that file when the process changes
    its working folder and the file changes (it would open another folder's file)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    new_file(tmp_path / "a" / "runs.db", 5)
    new_file(tmp_path / "b" / "runs.db", 2)
    real = os.access  # as cannot_write, for relative paths too
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK and str(
        Path(p).resolve()).startswith(str(tmp_path)) else real(p, mode))  # fmt: skip
    monkeypatch.chdir(tmp_path / "a")
    reader = Store("runs.db")
    assert reader.read_only and unchanging(Path("runs.db"))  # opened immutable
    assert len(reader.list_runs()) == 5
    monkeypatch.chdir(tmp_path / "b")
    write(tmp_path / "a" / "runs.db", "add m 1")
    assert len(reader.list_runs()) == 6
    reader.close()


def test_an_immutable_reader_whose_file_is_deleted_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The file a store opened immutable is deleted: its next read says the file is gone
    and what to do (it raised a bare FileNotFoundError)."""
    path = tmp_path / "runs.db"
    new_file(path, 3)
    cannot_write(monkeypatch, tmp_path)
    reader = Store(path)
    assert len(reader.list_runs()) == 3
    path.unlink()
    with pytest.raises(StoreError, match="is gone since this store opened it"):
        reader.list_runs()
    reader.close()
