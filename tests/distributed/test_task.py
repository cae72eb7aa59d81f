"""The task in one process (Celery's eager mode, no broker): what each delivery of
"advance run R" does — nothing for an ended or waiting run, a stale answer dropped, a
refusal recorded, a lost commit tried again from the run's head."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from graphflow.distributed import ADVANCE_TASK, advance, make_app
from graphflow.distributed import app as app_module
from graphflow.errors import StoreError
from graphflow.loader import load
from graphflow.resuming import question_ids
from graphflow.scheduler.entry import create_run
from graphflow.store import Store

from .workerkit import chain_graph, effects, node_env

pytest.importorskip("celery")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in node_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _submitted(store: Store, graph_file: Path, run_id: str) -> None:
    create_run(load(graph_file), store=store, run_id=run_id)
    store.set_status(run_id, "ready", reason="submitted: waits for a worker")


class LosesACommit:
    """A store whose first commit of step ``step`` fails (the connection lost mid-commit)."""

    def __init__(self, store: Store, step: int) -> None:
        self._store, self._step, self.failed = store, step, 0

    def commit_step(self, run_id: str, step: int, **kwargs: Any) -> None:
        if step == self._step and not self.failed:
            self.failed += 1
            raise StoreError("the connection to the store was lost mid-commit")
        self._store.commit_step(run_id, step, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_commit_lost_is_tried_again_from_the_run_s_head(folder: Path) -> None:
    graph = chain_graph(folder, steps=5)
    db = str(folder / "runs.db")
    store = Store(db)
    _submitted(store, graph, "r")
    flaky = LosesACommit(store, step=2)
    app = make_app("memory://", db)
    app.conf.task_always_eager = True
    app_module._STORES[db] = flaky  # type: ignore[assignment]
    try:
        app.tasks[ADVANCE_TASK].apply(args=["r"]).get()
    finally:
        app_module._STORES.pop(db, None)
    assert flaky.failed == 1
    assert store.get_run("r").status == "completed"
    # step 2 ran again (it was in flight), the committed steps did not
    assert [node for node, _, _ in effects(folder, "r")] == ["s0", "s1", "s2", "s2", "s3", "s4"]
    assert [m.content for m in store.load_messages("r")] == [f"s{i}:0:{i + 1}" for i in range(5)]


def test_each_delivery_does_only_what_is_left(folder: Path) -> None:
    graph = chain_graph(folder, steps=2, human=True)
    store = Store(folder / "runs.db")
    assert advance(store, "nope").outcome == "not found"
    _submitted(store, graph, "r")
    done = advance(store, "r")
    assert (done.outcome, done.status) == ("advanced", "waiting")
    again = advance(store, "r")  # a duplicate delivery of the first message
    assert (again.outcome, again.status) == ("nothing to do", "waiting")
    stale = advance(store, "r", answers="yes", question="ask@0")
    assert (stale.outcome, stale.status) == ("stale answer", "waiting")
    answered = advance(store, "r", answers="yes", question="ask@2")
    assert (answered.outcome, answered.status) == ("advanced", "completed")
    late = advance(store, "r", answers="yes", question="ask@2")
    assert (late.outcome, late.status) == ("nothing to do", "completed")
    assert len(effects(folder, "r")) == 3


def test_a_refusal_keeps_a_waiting_run_waiting(folder: Path) -> None:
    graph = chain_graph(folder, steps=2, human=True)
    other = folder / "other"
    other.mkdir()
    older = load(chain_graph(other, steps=1, human=True))
    store = Store(folder / "runs.db")
    _submitted(store, graph, "r")
    assert advance(store, "r").status == "waiting"
    refused = advance(store, "r", answers="yes", question="ask@2", graphs={"chain": older})
    assert refused.outcome == "refused"
    record = store.get_run("r")
    assert record.status == "waiting" and question_ids(record) == {"ask": "ask@2"}
    assert "refused by worker" in (record.reason or "") and older.topology in record.reason
    assert advance(store, "r", answers="yes", question="ask@2").status == "completed"


def test_without_celery_the_commands_name_the_install(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from click.testing import CliRunner

    from graphflow.cli import main

    monkeypatch.setitem(sys.modules, "celery", None)  # as if not installed
    graph = chain_graph(tmp_path, steps=1)
    for args in (["submit", str(graph)], ["worker"], ["resume", "r"]):
        db = ["--db", str(tmp_path / "runs.db"), "--broker", "redis://127.0.0.1:1/0"]
        if args[0] == "resume":
            _submitted(Store(tmp_path / "runs.db"), graph, "r")
        got = CliRunner().invoke(main, [*args, *db])
        assert got.exit_code == 2, got.output
        assert "pip install 'graphflow[workers]'" in got.output
        assert "Traceback" not in got.output
    assert Store(tmp_path / "runs.db").list_runs()[0].status == "ready"


def test_no_broker_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from graphflow.cli import main

    monkeypatch.delenv("GRAPHFLOW_BROKER", raising=False)
    got = CliRunner().invoke(main, ["submit", str(chain_graph(tmp_path, steps=1))])
    assert got.exit_code == 2 and "no broker: pass --broker" in got.output


def test_an_empty_broker_resumes_here(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from graphflow.cli import main

    graph = chain_graph(folder, steps=1, human=True)
    store = Store(folder / "runs.db")
    _submitted(store, graph, "r")
    assert advance(store, "r").status == "waiting"
    monkeypatch.setenv("GRAPHFLOW_BROKER", "redis://127.0.0.1:1/0")  # nothing listens there
    got = CliRunner().invoke(main, ["resume", "r", "--input", "yes", "--broker", "",
                                    "--db", str(folder / "runs.db"), "-q"])  # fmt: skip
    assert got.exit_code == 0, got.output
    assert store.get_run("r").status == "completed"
