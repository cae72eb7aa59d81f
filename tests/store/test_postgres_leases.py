"""The Postgres store under contention: leases that hold across processes and machines
(expiry honoured; a dead holder freed only on its own host; one winner when many take at
once), and a connection killed mid-commit, which is a clear StoreError that leaves the run
at its last committed step, resumable to the same end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from graphflow import Graph
from graphflow.errors import RunInUse, StoreError
from graphflow.store.lease import HOST, LEASE_SECONDS
from graphflow.store.postgres import PostgresStore
from tests.store.test_contract import new_run

DEAD_PID = 4_000_000  # above pid_max: no process has it


@pytest.fixture
def handles(postgres_url: str) -> Iterator[list[PostgresStore]]:
    """Handles on one database, each one process as far as leases go."""
    opened: list[PostgresStore] = []

    def open_more(n: int) -> list[PostgresStore]:
        opened.extend(PostgresStore(postgres_url) for _ in range(n))
        return opened

    open_more(8)
    yield opened
    for store in opened:
        store.close()


def test_a_lease_held_on_another_machine_holds_until_it_expires(
        handles: list[PostgresStore], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    elsewhere, here = handles[0], handles[1]
    # The holder runs on another machine, with a pid no process has on this one: being
    # on another host, it cannot be known to be gone, so only expiry frees its lease.
    elsewhere.lease_owner = f"other-machine:{DEAD_PID}:1"
    new_run(elsewhere)
    with pytest.raises(RunInUse, match="in use by process 4000000 on other-machine"):
        here.acquire_lease("r1")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + LEASE_SECONDS * 0.9)
    with pytest.raises(RunInUse):
        here.acquire_lease("r1")
    elsewhere.renew_lease("r1")  # renewed at +0.9: now valid until +1.9
    monkeypatch.setattr(time, "time", lambda: real() + LEASE_SECONDS * 1.5)
    with pytest.raises(RunInUse):
        here.acquire_lease("r1")
    monkeypatch.setattr(time, "time", lambda: real() + LEASE_SECONDS * 2)
    taken = here.acquire_lease("r1")
    assert taken.lease_owner == here.lease_owner == here.get_run("r1").lease_owner
    elsewhere.renew_lease("r1")  # no longer its lease: a renewal changes nothing
    elsewhere.release_lease("r1")
    assert here.get_run("r1").lease_owner == here.lease_owner
    with pytest.raises(RunInUse, match=f"on {HOST}"):
        elsewhere.acquire_lease("r1")


def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(
        handles: list[PostgresStore]) -> None:  # fmt: skip
    dead, here = handles[0], handles[1]
    dead.lease_owner = f"{HOST}:{DEAD_PID}:1"
    new_run(dead)
    assert here.acquire_lease("r1").lease_owner == here.lease_owner


def _race(handles: list[PostgresStore], run_id: str) -> tuple[list[str], list[str]]:
    """Every handle takes the run's lease at the same moment: (winners, refused)."""
    barrier = threading.Barrier(len(handles))
    won: list[str] = []
    refused: list[str] = []

    def take(store: PostgresStore) -> None:
        barrier.wait()
        try:
            store.acquire_lease(run_id)
            won.append(store.lease_owner)
        except RunInUse:
            refused.append(store.lease_owner)

    threads = [threading.Thread(target=take, args=(s,)) for s in handles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return won, refused


def test_of_many_takers_at_once_exactly_one_gets_the_lease(handles: list[PostgresStore]) -> None:
    for round_ in range(15):
        run_id = f"race{round_}"
        new_run(handles[0], run_id)
        handles[0].release_lease(run_id)
        won, refused = _race(handles, run_id)
        assert len(won) == 1 and len(refused) == len(handles) - 1, (round_, won)
        assert handles[1].get_run(run_id).lease_owner == won[0]


# ---- a connection killed mid-commit ------------------------------------------------


def chain(n: int, hook: dict[int, object]) -> Graph:
    g = Graph("chain", entry="n0")
    for i in range(n):
        def node(state: object, i: int = i) -> str:
            action = hook.get(i)
            if callable(action):
                action()
            return f"reply {i}"

        g.add_node(f"n{i}", node)
        if i:
            g.add_edge(f"n{i - 1}", f"n{i}")
    return g


def kill_the_next_step_commit(admin_url: str, timeout: float = 20.0) -> threading.Thread:
    """Block writes to ``steps`` from another connection; once a backend waits on that
    lock (a step commit in the middle of its transaction), terminate it, then unblock."""
    import psycopg

    blocker = psycopg.connect(admin_url)
    blocker.execute("LOCK TABLE steps IN EXCLUSIVE MODE")  # held until the commit below
    killed: list[int] = []

    def watch() -> None:
        deadline = time.time() + timeout
        with psycopg.connect(admin_url, autocommit=True) as watcher:
            while time.time() < deadline and not killed:
                rows = watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query LIKE '%%INSERT INTO steps%%'"
                ).fetchall()
                for (pid,) in rows:
                    watcher.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    killed.append(pid)
                time.sleep(0.01)
        blocker.commit()
        blocker.close()

    thread = threading.Thread(target=watch)
    thread.killed = killed  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_connection_killed_mid_commit_is_a_clear_error_and_the_run_resumes(
        postgres_url: str) -> None:  # fmt: skip
    clean = chain(8, {}).compile().run_sync("go", store=postgres_url, run_id="clean")
    hook: dict[int, object] = {}
    graph = chain(8, hook).compile()
    watcher: list[threading.Thread] = []
    hook[4] = lambda: watcher.append(kill_the_next_step_commit(postgres_url))
    store = PostgresStore(postgres_url)
    try:
        with pytest.raises(StoreError) as info:
            graph.run_sync("go", store=store, run_id="r")
        watcher[0].join(30)
        assert watcher[0].killed, "no step commit was caught waiting"  # type: ignore[attr-defined]
        message = str(info.value)
        assert "connection" in message and "was lost" in message
        assert "last committed step" in message and "resume" in message.lower()
        record = store.get_run("r")  # the same handle: the pool replaced the connection
        assert record.status == "running" and record.last_step == 3
        assert [m.content for m in store.load_messages("r")][-1] == "reply 3"
        assert store.step_row("r", 4) is None
        hook.clear()
        done = graph.resume_sync("r", store=store)
        assert done.status == "completed"
        assert [m.content for m in done.messages] == [m.content for m in clean.messages]
        assert [s["step"] for s in store.steps("r")] == list(range(8))
    finally:
        store.close()
