"""The store contract of a fork racing a deletion: another process deleting the source
while ``fork_run`` reads it. The fork copies a source that exists when it commits (every
message and variable before its step), or fails with RunNotFound naming the source;
never a fork with no messages whose parent is gone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from graphflow.errors import RunNotFound, StoreError
from graphflow.store import RunStore
from tests.store.factories import StoreFactory
from tests.store.test_contract import commit, new_run

#: how long the fork waits, in its read, for the other process's deletion (seconds); a
#: store that holds the source meanwhile makes the deleter wait longer than this
DELETION_WAIT = 0.5


class _Deleter:
    """Deletes ``run_id`` through another handle, on a thread of its own (the other
    process), the first time :meth:`during` wraps a call: the fork waits for it to end
    or to block on the fork's locks."""

    def __init__(self, other: RunStore, run_id: str) -> None:
        self.other, self.run_id = other, run_id
        self.thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def _delete(self) -> None:
        try:
            self.other.delete_run(self.run_id)
        except BaseException as exc:  # reported by the test, not lost on the thread
            self.errors.append(exc)

    def during(self, read: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            out = read(*args, **kwargs)
            if self.thread is None:
                self.thread = threading.Thread(target=self._delete, daemon=True)
                self.thread.start()
                self.thread.join(DELETION_WAIT)
            return out

        return wrapped

    def finish(self) -> None:
        if self.thread is not None:
            self.thread.join(30)
            assert not self.thread.is_alive(), "the deletion never ended"
        assert not self.errors, self.errors


@pytest.mark.parametrize("read", ["get_run", "step_row", "load_variables"])
def test_a_fork_copies_a_source_deleted_meanwhile_whole_or_not_at_all(
        read: str, factory: StoreFactory) -> None:  # fmt: skip
    store, other = factory.open(), factory.open()
    new_run(store, "src")
    for step in range(3):
        commit(store, "src", step, text=f"m{step}", variables={"n": step + 1},
               frontier={"run": [f"after{step}"], "wait": []})  # fmt: skip
    deleter = _Deleter(other, "src")
    setattr(store, read, deleter.during(getattr(store, read)))  # the deletion after this read
    try:
        store.fork_run("src", 2, "fork", {"run": ["a"], "wait": []})
    except RunNotFound as exc:
        assert exc.run_id == "src" and "'src'" in str(exc)
        with pytest.raises(RunNotFound):
            other.get_run("fork")
    else:
        fork = other.get_run("fork")
        assert (fork.parent_run, fork.forked_at, fork.last_step) == ("src", 2, 1)
        assert fork.frontier["run"] == ["after1"]
        assert [m.content for m in other.load_messages("fork")] == ["m0", "m1"]
        assert other.load_variables("fork", 1) == ({"n": 2}, {"a": 2})
    deleter.finish()
    if deleter.thread is not None:  # (a store whose fork reads otherwise just forks)
        with pytest.raises(RunNotFound):  # the deletion happened all the same
            other.get_run("src")


def test_a_fork_of_a_fork_before_its_fork_point_names_the_parent(factory: StoreFactory) -> None:
    """A fork keeps the state from the step it was forked at on; forking it earlier is
    forking its parent, which the error says (it used to read as a damaged database)."""
    store = factory.open()
    new_run(store, "src")
    for step in range(4):
        commit(store, "src", step, variables={"n": step + 1})
    store.fork_run("src", 3, "f1", {"run": ["a"], "wait": []})
    with pytest.raises(StoreError, match=r"forked from run 'src' at step 3.*fork run 'src' "
                                         r"at step 1 instead \(graphflow fork src --at 1\)"):
        store.fork_run("f1", 1, "f2", {"run": ["a"], "wait": []})
    with pytest.raises(RunNotFound):
        store.get_run("f2")
    store.fork_run("f1", 3, "f3", {"run": ["a"], "wait": []})  # at its fork point: its own
    assert store.load_variables("f3", 2)[0] == {"n": 3}


def test_a_fork_of_a_fork_at_its_fork_point_starts_where_it_started(
        factory: StoreFactory) -> None:  # fmt: skip
    """Forking a fork at the step it was forked at, after it ran on: the new run starts
    from the frontier the fork was made with (it took the fork's head instead, pairing
    the fork point's variables with a later node)."""
    store = factory.open()
    new_run(store, "src")
    for step in range(4):
        commit(store, "src", step, variables={"n": step + 1},
               frontier={"run": [f"after{step}"], "wait": []})  # fmt: skip
    store.fork_run("src", 2, "f1", {"run": ["a"], "wait": []})
    for step in range(2, 5):
        commit(store, "f1", step, variables={"n": 10 + step},
               frontier={"run": [f"f1after{step}"], "wait": []})  # fmt: skip
    assert store.get_run("f1").frontier["run"] == ["f1after4"]
    store.fork_run("f1", 2, "f2", {"run": ["a"], "wait": []})
    fork = store.get_run("f2")
    assert fork.frontier["run"] == ["after1"] and (fork.parent_run, fork.forked_at) == ("f1", 2)
    assert store.load_variables("f2", 1)[0] == {"n": 2}
    store.fork_run("f1", 3, "f3", {"run": ["a"], "wait": []})  # after its fork point: its step
    assert store.get_run("f3").frontier["run"] == ["f1after2"]
