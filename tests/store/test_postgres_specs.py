"""The Postgres store keeps each graph spec once (table ``specs``, by digest; schema
version 3): the runs of one graph share it, a fork names the same one, deleting a run
drops it only when no other run names it, a missing or damaged one makes only its graph's
runs damaged, a version-2 database is migrated (the digest computed by the server equals
the one computed here, also for text that is not ASCII), and runs created and deleted at
once by several processes never name a dropped spec. The server comes from
graphflow.testing.postgres (skipped without one)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from graphflow import Graph
from graphflow.errors import RunNotFound, StoreCorrupt
from graphflow.store.codec import dumps_spec, spec_digest
from graphflow.store.postgres import PostgresStore
from graphflow.store.postgres import retention as pg_retention
from graphflow.store.postgres.schema import migrate
from tests.store.test_postgres import sql
from tests.store.test_spec_table import _chain


def _specs(url: str) -> int:
    return int(sql(url, "SELECT COUNT(*) FROM specs")[0][0])


def _only(store: PostgresStore, url: str, run_id: str, graph: Any) -> None:
    """The database holds run ``run_id`` alone, reading back ``graph``'s spec, and one
    spec row."""
    assert [r.run_id for r in store.list_runs()] == [run_id]
    assert store.get_run(run_id).spec == graph.spec_record()
    assert _specs(url) == 1


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_url) as opened:
        yield opened


def test_the_runs_of_one_graph_share_its_spec(store: PostgresStore, postgres_url: str) -> None:
    graph = _chain("big", 50).compile()
    ids = [graph.run_sync(store=store).run_id for _ in range(100)]
    assert _specs(postgres_url) == 1
    rows = sql(postgres_url, "SELECT length(spec), spec_digest FROM runs")
    assert {r[0] for r in rows} == {0} and len({r[1] for r in rows}) == 1
    text = dumps_spec(graph.spec_record())
    assert rows[0][1] == spec_digest(text)
    assert sql(postgres_url, "SELECT spec FROM specs") == [(text,)]
    assert all(store.get_run(i).spec == graph.spec_record() for i in ids[:5] + ids[-5:])
    assert [r.spec for r in store.list_runs()] == [graph.spec_record()] * 100
    _chain("other", 2).compile().run_sync(store=store)
    assert _specs(postgres_url) == 2


def test_a_fork_names_the_same_spec(store: PostgresStore, postgres_url: str) -> None:
    graph = _chain("c", 3).compile()
    run = graph.run_sync(store=store)
    store.fork_run(run.run_id, 1, "fork", {"run": ["n0"], "wait": []})
    assert _specs(postgres_url) == 1
    assert len(set(sql(postgres_url, "SELECT spec_digest FROM runs"))) == 1
    assert store.get_run("fork").spec == graph.spec_record()
    assert graph.resume_sync("fork", store=store).status == "completed"


def test_deleting_a_run_drops_its_spec_only_when_no_run_names_it(
        store: PostgresStore, postgres_url: str) -> None:  # fmt: skip
    graph = _chain("c", 3).compile()
    first, second = (graph.run_sync(store=store).run_id for _ in range(2))
    other = _chain("other", 2).compile().run_sync(store=store).run_id
    store.delete_run(first)
    assert _specs(postgres_url) == 2
    assert store.get_run(second).spec == graph.spec_record()  # still whole
    store.delete_run(second)
    assert _specs(postgres_url) == 1
    assert store.prune(keep_last=0) == [other]
    assert _specs(postgres_url) == 0


def test_a_run_whose_spec_is_missing_is_reported_damaged(store: PostgresStore,
                                                         postgres_url: str) -> None:  # fmt: skip
    _chain("lost", 2).compile().run_sync(store=store, run_id="lost")
    _chain("lost", 2).compile().run_sync(store=store, run_id="lost2")
    kept = _chain("kept", 2).compile()
    kept.run_sync(store=store, run_id="kept")
    with pytest.raises(Exception, match="still referenced"):  # the server keeps it
        sql(postgres_url, "DELETE FROM specs")
    # as a database whose constraint was dropped (or restored in part) may be
    sql(postgres_url, "ALTER TABLE runs DROP CONSTRAINT runs_spec_digest_fkey")
    sql(postgres_url, "DELETE FROM specs WHERE digest=(SELECT spec_digest FROM runs"
                      " WHERE run_id='lost')")  # fmt: skip
    for run_id in ("lost", "lost2"):
        with pytest.raises(StoreCorrupt, match=rf"run '{run_id}': its graph spec .* is missing"):
            store.get_run(run_id)
    listed = {r.run_id: r.status for r in store.list_runs()}
    assert listed == {"lost": "damaged", "lost2": "damaged", "kept": "completed"}
    assert store.get_run("kept").spec == kept.spec_record()
    store.delete_run("lost")  # a damaged run can still be deleted
    assert sorted(r.run_id for r in store.list_runs()) == ["kept", "lost2"]
    lost = _chain("lost", 2).compile()
    lost.run_sync(store=store)  # the next run of the graph adds the row again
    assert store.get_run("lost2").spec == lost.spec_record()


def test_a_damaged_spec_damages_only_its_graph_and_its_next_run_restores_it(
        store: PostgresStore, postgres_url: str) -> None:  # fmt: skip
    graph = _chain("c", 3).compile()
    first = graph.run_sync(store=store, run_id="first").run_id
    _chain("other", 2).compile().run_sync(store=store, run_id="other")
    sql(postgres_url, "UPDATE specs SET spec='{broken' WHERE digest=(SELECT spec_digest FROM"
                      " runs WHERE run_id='first')")  # fmt: skip
    with pytest.raises(StoreCorrupt, match=r"run 'first': its graph spec .* is damaged"):
        store.get_run(first)
    assert {r.run_id: r.status for r in store.list_runs()} == {"first": "damaged",
                                                               "other": "completed"}  # fmt: skip
    second = graph.run_sync(store=store).run_id  # writes the row of its digest again
    assert [store.get_run(i).spec for i in (first, second)] == [graph.spec_record()] * 2
    assert _specs(postgres_url) == 2


def test_a_run_that_lost_its_spec_digest_is_reported_damaged(store: PostgresStore,
                                                             postgres_url: str) -> None:  # fmt: skip
    _chain("lost", 2).compile().run_sync(store=store, run_id="lost")
    _chain("kept", 2).compile().run_sync(store=store, run_id="kept")
    sql(postgres_url, "UPDATE runs SET spec_digest=NULL WHERE run_id='lost'")
    with pytest.raises(StoreCorrupt, match=r"run 'lost': it names no graph spec"):
        store.get_run("lost")
    assert {r.run_id: r.status for r in store.list_runs()} == {"lost": "damaged",
                                                               "kept": "completed"}  # fmt: skip


# ---- migration 3 ----------------------------------------------------------------------


def _old_run(url: str, run_id: str, graph: Graph, spec_text: str) -> None:
    """A run as a version-2 store created it: the spec's text in its own row."""
    now = time.time()
    sql(url, "INSERT INTO runs (run_id, graph, source, spec, topology, status, last_step,"
             " frontier, usage, created_at, updated_at) VALUES (%s,%s,NULL,%s,%s,'running',-1,"
             " %s,'{}',%s,%s)", (run_id, graph.name, spec_text, graph.topology,
                                 json.dumps({"run": [graph.entry], "wait": []}), now, now))
    sql(url, "INSERT INTO snapshots (run_id, step, variables, visits, usage)"
             " VALUES (%s,-1,'{}','{}','{}')", (run_id,))  # fmt: skip


def test_a_version_2_database_is_migrated(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert migrate(conn, "the test database", target=2) == [1, 2]
    big, odd = _chain("big", 30).compile(), _chain("grüße", 2).compile()
    big_text = dumps_spec(big.spec_record())
    # text that is not ASCII as such (not as \u escapes): the server's digest of its
    # UTF-8 bytes must equal Python's, or the runs would name specs nobody can find
    odd_text = json.dumps({**odd.spec_record(), "about": "naïve ünïcödé — €, 𝄞, 日本"},
                          ensure_ascii=False)  # fmt: skip
    assert not odd_text.isascii()
    for run_id, graph, text in (("b1", big, big_text), ("o1", odd, odd_text),
                                ("b2", big, big_text)):  # fmt: skip
        _old_run(postgres_url, run_id, graph, text)
    with PostgresStore(postgres_url) as store:
        assert [v for (v,) in sql(postgres_url, "SELECT version FROM graphflow_schema"
                                                " ORDER BY version")] == [1, 2, 3]  # fmt: skip
        assert dict(sql(postgres_url, "SELECT digest, spec FROM specs")) == {
            spec_digest(big_text): big_text, spec_digest(odd_text): odd_text}  # fmt: skip
        assert sql(postgres_url, "SELECT run_id, spec, spec_digest FROM runs ORDER BY run_id") == [
            ("b1", "", spec_digest(big_text)), ("b2", "", spec_digest(big_text)),
            ("o1", "", spec_digest(odd_text))]  # fmt: skip
        assert store.get_run("b1").spec == store.get_run("b2").spec == big.spec_record()
        assert store.get_run("o1").spec == json.loads(odd_text)
        assert {r.run_id: r.spec for r in store.list_runs()} == {
            "b1": big.spec_record(), "b2": big.spec_record(), "o1": json.loads(odd_text)}
        assert big.resume_sync("b1", store=store).status == "completed"
        assert big.run_sync(store=store).status == "completed"  # shares the migrated row
        assert _specs(postgres_url) == 2


def test_migration_3_may_run_again(postgres_url: str) -> None:
    """Its statements hold on a database that has its tables but lost its version row (a
    version rolled back by hand): nothing is moved twice."""
    graph = _chain("c", 3).compile()
    with PostgresStore(postgres_url) as store:
        graph.run_sync(store=store, run_id="r")
    sql(postgres_url, "DELETE FROM graphflow_schema WHERE version = 3")
    with PostgresStore(postgres_url) as store:
        assert store.get_run("r").spec == graph.spec_record() and _specs(postgres_url) == 1


# ---- runs created and deleted at once -----------------------------------------------


def _paused(real: Callable[..., Any], held: threading.Event,
            go: threading.Event) -> Callable[..., Any]:  # fmt: skip
    """``real``, that pauses its first call (once done) inside its caller's transaction
    until ``go``."""
    calls = []

    def pausing(*args: Any) -> Any:
        result = real(*args)
        calls.append(1)
        if len(calls) == 1:
            held.set()
            assert go.wait(30)
        return result

    return pausing


def _start(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


def _waits_on_a_lock(url: str, thread: threading.Thread, waiters: int = 1) -> bool:
    """Whether ``waiters`` backends of the database wait on a lock (polled for up to
    10 s), while ``thread`` is still running."""
    deadline = time.time() + 10
    while time.time() < deadline and thread.is_alive():
        if sql(url, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'")[0][0] >= waiters:  # fmt: skip
            return thread.is_alive()
        time.sleep(0.02)
    return False


@pytest.fixture
def two(postgres_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Two handles on one database: two processes."""
    with PostgresStore(postgres_url) as one, PostgresStore(postgres_url) as other:
        yield one, other


@pytest.fixture
def blocker(postgres_url: str) -> Iterator[Callable[[str], None]]:
    """``block(run_id)`` holds, uncommitted, the snapshot row a new run ``run_id`` writes
    last: its create_run statement waits there until the test ends the blocker's
    transaction (``block.release()``)."""
    import psycopg

    conn = psycopg.connect(postgres_url)

    def block(run_id: str) -> None:
        conn.execute("INSERT INTO snapshots (run_id, step, variables, visits) VALUES"
                     " (%s, -1, '{}', '{}')", (run_id,))  # fmt: skip

    block.release = conn.rollback  # type: ignore[attr-defined]
    yield block
    conn.rollback()
    conn.close()


def test_the_last_run_of_a_graph_deleted_while_a_run_is_created_is_told_apart(
        two: tuple[PostgresStore, PostgresStore], postgres_url: str,
        blocker: Any) -> None:  # fmt: skip
    """A new run's statement that found the spec row and has not locked it yet (the lock
    comes with its foreign key check, at its end) does not stop the last run of the graph
    from being deleted with the row: its check then fails, and it runs again, adding the
    row."""
    writer, deleter = two
    graph = _chain("c", 3).compile()
    graph.run_sync(store=writer, run_id="old")
    blocker("new")
    creating, done = _start(lambda: graph.run_sync(store=writer, run_id="new"))
    assert _waits_on_a_lock(postgres_url, creating)
    deleter.delete_run("old")  # nothing holds the row yet: dropped
    assert _specs(postgres_url) == 0 and creating.is_alive()
    blocker.release()
    creating.join(30)
    assert done[0].status == "completed"
    _only(writer, postgres_url, "new", graph)


def test_a_run_deleted_while_a_fork_of_it_is_written_leaves_the_spec(
        two: tuple[PostgresStore, PostgresStore], postgres_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A fork holds the spec row from its put_spec to its commit: the last run of the
    graph, deleted meanwhile, waits for it, then sees the fork name the spec."""
    writer, deleter = two
    graph = _chain("c", 3).compile()
    graph.run_sync(store=writer, run_id="old")
    held, go = threading.Event(), threading.Event()
    monkeypatch.setattr(pg_retention, "put_spec", _paused(pg_retention.put_spec, held, go))
    forking, _ = _start(lambda: writer.fork_run("old", 1, "fork", {"run": ["n0"], "wait": []}))
    assert held.wait(30)  # the fork's transaction holds the spec, uncommitted
    deleting, _ = _start(lambda: deleter.delete_run("old"))
    assert _waits_on_a_lock(postgres_url, deleting)
    go.set()
    forking.join(30), deleting.join(30)
    _only(writer, postgres_url, "fork", graph)
    assert graph.resume_sync("fork", store=writer).status == "completed"


@pytest.mark.parametrize("pause_after", ["lock_spec", "drop_spec"])
def test_a_run_created_while_the_last_run_of_its_graph_is_deleted_keeps_its_spec(
        pause_after: str, two: tuple[PostgresStore, PostgresStore], postgres_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The deleter locks the row first (and may drop it): a writer arriving meanwhile
    waits, then finds the row gone and adds it again."""
    writer, deleter = two
    graph = _chain("c", 3).compile()
    graph.run_sync(store=writer, run_id="old")
    held, go = threading.Event(), threading.Event()
    monkeypatch.setattr(pg_retention, pause_after,
                        _paused(getattr(pg_retention, pause_after), held, go))  # fmt: skip
    deleting, _ = _start(lambda: deleter.delete_run("old"))
    assert held.wait(30)
    creating, done = _start(lambda: graph.run_sync(store=writer, run_id="new"))
    assert _waits_on_a_lock(postgres_url, creating)
    go.set()
    creating.join(30), deleting.join(30)
    assert done[0].status == "completed"
    _only(writer, postgres_url, "new", graph)


def test_two_processes_creating_the_first_runs_of_a_graph_both_succeed(
        two: tuple[PostgresStore, PostgresStore], postgres_url: str,
        blocker: Any) -> None:  # fmt: skip
    """The first adds the row and has not committed; the second waits for it, then finds
    it committed."""
    first, second = two
    graph = _chain("c", 3).compile()
    blocker("one")
    one, ones = _start(lambda: graph.run_sync(store=first, run_id="one"))
    assert _waits_on_a_lock(postgres_url, one)
    other, others = _start(lambda: graph.run_sync(store=second, run_id="other"))
    assert _waits_on_a_lock(postgres_url, other, waiters=2)
    blocker.release()
    one.join(30), other.join(30)
    assert [ones[0].status, others[0].status] == ["completed", "completed"]
    assert [first.get_run(i).spec for i in ("one", "other")] == [graph.spec_record()] * 2
    assert _specs(postgres_url) == 1


def test_a_repeatable_read_default_does_not_reach_the_store(postgres_url: str,
                                                            postgres_server: str) -> None:  # fmt: skip
    """A database whose default isolation is REPEATABLE READ: a deleter that waited for the
    spec row still sees the run committed meanwhile, and keeps the spec (at that level its
    check used a snapshot from before the wait, and the foreign key refused the delete)."""
    name = postgres_url.rsplit("/", 1)[1]
    sql(postgres_server, f"ALTER DATABASE {name} SET default_transaction_isolation = "
                         "'repeatable read'")  # fmt: skip
    import psycopg

    spec = {"name": "g", "entry": "a"}
    kw: dict[str, Any] = {"graph": "g", "spec": spec, "topology": "t",
                          "frontier": {"run": ["a"], "wait": []}, "variables": {}}  # fmt: skip
    with PostgresStore(postgres_url) as store, PostgresStore(postgres_url) as other:
        store.create_run("A", **kw)
        holder = psycopg.connect(postgres_url)  # a fork in progress holds the spec row
        holder.execute("SELECT 1 FROM specs FOR KEY SHARE")
        failed: list[BaseException] = []

        def delete() -> None:
            try:
                store.delete_run("A")
            except BaseException as exc:  # reported below
                failed.append(exc)

        deleter = threading.Thread(target=delete)
        deleter.start()
        assert _waits_on_a_lock(postgres_url, deleter), "the deleter never waited for the row"
        other.create_run("B", **kw)  # a run of the graph commits while the deleter waits
        holder.commit()
        holder.close()
        deleter.join(10)
        assert failed == []
        assert _specs(postgres_url) == 1 and other.get_run("B").spec == spec


def test_a_run_deleted_while_a_fork_reads_it_waits_for_the_whole_copy(
        two: tuple[PostgresStore, PostgresStore], postgres_url: str) -> None:  # fmt: skip
    """The fork reads its source in its transaction, holding the source's spec row and
    run row: a deleter waits for it to commit, and the fork has the source's state."""
    writer, deleter = two
    graph = _chain("c", 3).compile()
    graph.run_sync(store=writer, run_id="old")
    held, go = threading.Event(), threading.Event()
    writer._state_at = _paused(writer._state_at, held, go)  # type: ignore[method-assign]
    forking, _ = _start(lambda: writer.fork_run("old", 2, "fork", {"run": ["n0"], "wait": []}))
    assert held.wait(30)  # the fork has read the source's row, not yet its state
    deleting, _ = _start(lambda: deleter.delete_run("old"))
    assert _waits_on_a_lock(postgres_url, deleting)
    go.set()
    forking.join(30), deleting.join(30)
    assert [r.run_id for r in deleter.list_runs()] == ["fork"]
    assert deleter.load_variables("fork", 1)[1] == {"n0": 1, "n1": 1}  # its two steps
    assert graph.resume_sync("fork", store=writer).status == "completed"


def test_a_run_deleted_before_a_fork_locks_it_is_not_found(
        two: tuple[PostgresStore, PostgresStore], postgres_url: str) -> None:  # fmt: skip
    """The deletion commits between the fork's first look at the source and its
    transaction: RunNotFound, and the spec row the fork held again is dropped with it."""
    writer, deleter = two
    _chain("c", 3).compile().run_sync(store=writer, run_id="old")
    looked = writer.get_run

    def then_deleted(run_id: str) -> Any:
        found = looked(run_id)
        deleter.delete_run(run_id)
        return found

    writer.get_run = then_deleted  # type: ignore[method-assign]
    with pytest.raises(RunNotFound, match="'old'"):
        writer.fork_run("old", 1, "fork", {"run": ["n0"], "wait": []})
    assert deleter.list_runs() == [] and _specs(postgres_url) == 0


def test_a_failed_migration_says_nothing_changed(postgres_url: str) -> None:
    """Migration 3 failing on the server (here a `specs` table of someone else's in the
    way) is one paragraph saying the migration failed and nothing changed, not the
    generic "resume the run" of a failed write; the database stays at version 2."""
    import psycopg

    from graphflow.errors import StoreError

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        migrate(conn, "db", target=2)
        conn.execute("CREATE TABLE specs (digest TEXT PRIMARY KEY)")
    with pytest.raises(StoreError, match=r"migrating the database to graphflow's schema "
                                         r"version 3 failed .*nothing was changed") as caught:
        PostgresStore(postgres_url)
    assert "resume the run" not in str(caught.value)
    assert sql(postgres_url, "SELECT max(version) FROM graphflow_schema") == [(2,)]
