"""The Postgres store beyond the contract suite: choosing it by URL (API and CLI), its
errors as one paragraph with the fix, its schema migrations (fresh, already migrated,
newer, foreign, and two processes at once), and storage that grows with what runs
produce. The server comes from graphflow.testing.postgres (skipped without one)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from graphflow import Graph, Message
from graphflow.errors import StoreCorrupt, StoreError
from graphflow.store import MemoryStore, Store, open_store
from graphflow.store.postgres import PostgresStore
from graphflow.store.postgres import schema as pg_schema
from tests.store.test_contract import commit, new_run

GRAPH = """
graph: g
entry: ask
nodes:
  ask: {kind: human, prompt: "go?"}
  work: {kind: function, call: "pgmod:work"}
  done: {kind: end}
edges:
  - {from: ask, to: work}
  - {from: work, to: done}
"""


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "GRAPHFLOW_DB"}
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          env={**clean, **(env or {})}, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- choosing the store by URL ------------------------------------------------------


def test_open_store_chooses_postgres_by_url_and_sqlite_by_path(postgres_url: str,
                                                               tmp_path: Path) -> None:  # fmt: skip
    with_password = postgres_url.replace("postgres@", "postgres:s3cret@", 1)  # trust: accepted
    for url in (with_password, postgres_url.replace("postgresql://", "postgres://", 1)):
        store, opened = open_store(url)
        assert isinstance(store, PostgresStore) and opened
        assert "s3cret" not in repr(store) and "s3cret" not in store.where
        store.close()
    store, opened = open_store(str(tmp_path / "runs.db"))
    assert isinstance(store, Store) and opened
    store.close()
    memory = MemoryStore()
    assert open_store(memory) == (memory, False)


def test_a_graph_runs_on_a_postgres_url_given_as_store(postgres_url: str) -> None:
    g = Graph("two", variables={"n": 0})
    g.add_node("a", lambda s: "first")
    g.add_node("b", lambda s: "second")
    g.add_edge("a", "b")
    run = g.compile().run_sync("go", store=postgres_url, run_id="api")
    assert run.status == "completed"
    with PostgresStore(postgres_url) as store:
        assert [m.content for m in store.load_messages("api")] == ["go", "first", "second"]
        assert store.get_run("api").lease_owner is None


def test_without_psycopg_a_postgres_url_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match=r"pip install 'graphflow\[postgres\]'"):
        open_store("postgresql://localhost/runs")


def test_the_cli_runs_resumes_and_lists_on_a_postgres_url(postgres_url: str,
                                                          tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "g.yaml").write_text(GRAPH)
    (tmp_path / "pgmod.py").write_text("def work(state):\n    return 'worked'\n")
    first = cli("run", "g.yaml", "--run-id", "r1", "--db", postgres_url, "--no-interactive",
                "--input", "hello", cwd=tmp_path)  # fmt: skip
    assert first.returncode == 3, first.stderr  # waiting for the human
    env = {"GRAPHFLOW_DB": postgres_url}  # --db from the environment
    done = cli("resume", "r1", "--input", "yes", "-q", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    listed = cli("runs", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and '"completed"' in listed.stdout, listed.stderr
    shown = cli("show", "r1", cwd=tmp_path, env=env)
    assert shown.returncode == 0 and "worked" in shown.stdout, shown.stderr
    assert not (tmp_path / "graphflow.db").exists()  # nothing went to an SQLite file


@pytest.mark.parametrize("problem", ["server down", "unknown database", "unknown user"])
def test_cli_store_errors_are_one_paragraph_with_the_fix(problem: str, postgres_server: str,
                                                         tmp_path: Path) -> None:  # fmt: skip
    from urllib.parse import urlsplit

    parts = urlsplit(postgres_server)
    url = {"server down": f"postgresql://postgres@127.0.0.1:{closed_port()}/runs",
           "unknown database": f"postgresql://postgres@{parts.netloc.split('@')[-1]}/nope_db",
           "unknown user": f"postgresql://ghost:secret@{parts.netloc.split('@')[-1]}/postgres",
           }[problem]  # fmt: skip
    done = cli("runs", "--db", url, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and message.startswith("error:")
    assert "secret" not in message  # a password in the URL is never shown
    fix = {"server down": "Start the server, or check the host and port",
           "unknown database": "Create it first",
           "unknown user": "Check the user name and password"}[problem]  # fmt: skip
    assert fix in message, message


# ---- migrations ---------------------------------------------------------------------


#: the version a test's own migration gets: the one after graphflow's newest
NEXT = max(pg_schema.MIGRATIONS) + 1
#: graphflow's migrations, as (version, name)
OURS = [(v, name) for v, (name, _) in sorted(pg_schema.MIGRATIONS.items())]


def versions(url: str) -> list[tuple[int, str, float]]:
    return [tuple(r) for r in sql(url, "SELECT version, name, applied_at FROM graphflow_schema"
                                       " ORDER BY version")]  # fmt: skip


def test_a_fresh_database_is_migrated_and_an_already_migrated_one_is_left_as_it_is(
        postgres_url: str) -> None:  # fmt: skip
    with PostgresStore(postgres_url) as store:
        new_run(store)
        commit(store, "r1", 0, text="kept")
    applied = versions(postgres_url)
    assert [v for v, _, _ in applied] == sorted(pg_schema.MIGRATIONS)
    tables = {r[0] for r in sql(postgres_url, "SELECT tablename FROM pg_tables WHERE"
                                              " schemaname = current_schema()")}  # fmt: skip
    assert {"runs", "steps", "messages", "snapshots", "writes", "effects", "model_calls",
            "prompt_messages", "graphflow_schema"} <= tables  # fmt: skip
    with PostgresStore(postgres_url) as again:  # already migrated: nothing applied again
        assert [m.content for m in again.load_messages("r1")] == ["kept"]
    assert versions(postgres_url) == applied


def test_a_new_migration_is_applied_once_to_a_migrated_database(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    PostgresStore(postgres_url).close()
    monkeypatch.setitem(pg_schema.MIGRATIONS, NEXT, ("add a column", [
        "ALTER TABLE runs ADD COLUMN note TEXT"]))  # fmt: skip
    with PostgresStore(postgres_url) as store:
        new_run(store)
    with PostgresStore(postgres_url):
        pass
    assert [(v, n) for v, n, _ in versions(postgres_url)] == [*OURS, (NEXT, "add a column")]
    assert sql(postgres_url, "SELECT note FROM runs") == [(None,)]


def test_a_failed_migration_leaves_the_database_as_it_was(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    PostgresStore(postgres_url).close()
    monkeypatch.setitem(pg_schema.MIGRATIONS, NEXT, ("half done", [
        "ALTER TABLE runs ADD COLUMN half TEXT", "SELECT no_such_function()"]))  # fmt: skip
    with pytest.raises(StoreError):
        PostgresStore(postgres_url)
    assert [(v, n) for v, n, _ in versions(postgres_url)] == OURS
    columns = {r[0] for r in sql(postgres_url, "SELECT column_name FROM information_schema.columns"
                                               " WHERE table_name = 'runs'")}  # fmt: skip
    assert "half" not in columns


def test_a_database_migrated_by_a_newer_graphflow_is_refused(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    sql(postgres_url, "INSERT INTO graphflow_schema VALUES (99, 'from the future', 0)")
    with pytest.raises(StoreError, match=r"newer graphflow \(schema version 99"):
        PostgresStore(postgres_url)


def test_a_foreign_runs_table_is_left_untouched(postgres_url: str) -> None:
    sql(postgres_url, "CREATE TABLE runs (id INTEGER PRIMARY KEY, what TEXT)")
    with pytest.raises(StoreCorrupt, match="not a graphflow run database"):
        PostgresStore(postgres_url)
    tables = {r[0] for r in sql(postgres_url, "SELECT tablename FROM pg_tables WHERE"
                                              " schemaname = current_schema()")}  # fmt: skip
    assert tables == {"runs"}


_MIGRATE = textwrap.dedent("""
    import sys, time
    from graphflow.store.postgres import PostgresStore, schema
    schema.MIGRATIONS[max(schema.MIGRATIONS) + 1] = ("slow", [
        "CREATE TABLE slow_one (x INTEGER)", "SELECT pg_sleep(0.5)"])
    start = float(sys.argv[2])
    time.sleep(max(0.0, start - time.time()))
    PostgresStore(sys.argv[1]).close()
    print("ok")
""")


def test_two_processes_migrating_at_once_apply_each_migration_once(postgres_url: str) -> None:
    start = time.time() + 2.0  # both start migrating at this moment
    procs = [subprocess.Popen([sys.executable, "-c", _MIGRATE, postgres_url, str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]  # fmt: skip
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outputs]
    assert [v for v, _, _ in versions(postgres_url)] == [v for v, _ in OURS] + [NEXT]


# ---- storage ------------------------------------------------------------------------


def run_bytes(url: str, run_id: str) -> int:
    total = 0
    for table in ("runs", "steps", "messages", "snapshots"):
        (size,) = sql(url, f"SELECT COALESCE(SUM(pg_column_size(t.*)), 0) FROM {table} t"
                           " WHERE run_id = %s", (run_id,))[0]  # fmt: skip
        total += int(size)
    return total


def test_storage_grows_with_what_a_run_produced_not_with_its_length(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        new_run(store, messages=(Message(role="user", content="task"),))
        sizes = []
        for step in range(120):
            commit(store, "r1", step, text=f"reply {step:04d} " + "x" * 500,
                   variables={"n": step})  # fmt: skip
            if step in (19, 59, 119):
                sizes.append(run_bytes(postgres_url, "r1"))
    early = (sizes[1] - sizes[0]) / 40  # bytes per step, steps 20-59
    late = (sizes[2] - sizes[1]) / 60  # bytes per step, steps 60-119
    assert 500 < early < 1500 and abs(late - early) / early < 0.05, (early, late)


def test_a_message_holding_nul_characters_comes_back_exactly(postgres_url: str) -> None:
    # Postgres text cannot hold NUL; the store keeps such a content in the JSON beside it.
    odd = Message(role="tool", content="before\x00after", tool_call_id="c1", node="a")
    with PostgresStore(postgres_url) as store:
        new_run(store, messages=(Message(role="user", content="$content \x00"),))
        store.commit_step("r1", 0, nodes=["a"], messages=[odd], first_seq=1, variables=None,
                          frontier={"run": ["a"], "wait": []}, usage=None, run_usage=None,
                          started_at=time.time(), state=({"n": 0}, {"a": 1}))  # fmt: skip
        assert store.load_messages("r1") == [Message(role="user", content="$content \x00"), odd]
        assert list(store.load_conversation("r1")) == store.load_messages("r1")
        rows = store.message_rows("r1")
        assert rows[1]["content"] == "before\x00after" and rows[1]["tool_call_id"] == "c1"
        store.fork_run("r1", 1, "f", {"run": ["a"], "wait": []})
        assert store.load_messages("f") == store.load_messages("r1")


@pytest.mark.parametrize(("text", "fix"), [
    ('connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  '
     'password authentication failed for user "ann"', "Check the user name and password"),
    ('connection failed: connection to server at "127.0.0.1", port 5999 failed: Connection '
     'refused\n\tIs the server running on that host and accepting TCP/IP connections?',
     "Start the server, or check the host and port"),
    ('connection failed: FATAL:  database "runs" does not exist', "Create it first"),
    ("terminating connection due to administrator command", "the run stays at its last "
     "committed step"),
])  # fmt: skip
def test_server_problems_are_told_with_their_fix(text: str, fix: str) -> None:
    from graphflow.store.postgres.base import connection_problem, public_url

    where = public_url("postgresql://ann:pw@db.example/runs")
    problem = connection_problem(where, Exception(text))
    assert isinstance(problem, StoreError) and fix in str(problem)
    assert "\n" not in str(problem) and "pw" not in str(problem).replace("password", "")


def test_snapshots_of_a_database_before_version_2_are_summed_from_every_step(
        postgres_url: str) -> None:  # fmt: skip
    from tests.store.test_resume_usage import Counting, billing

    graph = billing(turns=110, more=100)
    with PostgresStore(postgres_url) as store:
        assert graph.run_sync(store=store, run_id="r").status == "waiting"
    # the run as a version-1 database stored it: snapshots without usage
    sql(postgres_url, "ALTER TABLE snapshots DROP COLUMN usage")
    sql(postgres_url, "DELETE FROM graphflow_schema WHERE version > 1")
    with PostgresStore(postgres_url) as store:
        assert [v for v, _, _ in versions(postgres_url)] == [v for v, _ in OURS]
        assert len(store.node_usage_parts("r")) == 220  # summed from every step, once
        counting = Counting(store)
        done = graph.resume_sync("r", input="yes", store=counting)
        assert done.status == "completed" and counting.parts == [220]
        assert done.usage["by_node"]["critic"]["calls"] == 210
        assert len(store.node_usage_parts("r")) == 1 + len(range(400, 421))  # snapshot 399, steps
