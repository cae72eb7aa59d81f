"""One answer per question through the queue: the first ``graphflow resume RUN --input …
--broker`` to enqueue an answer claims the question in the store, so a second one sent
before a worker applied the first is refused at once (StaleAnswer, exit code 5) instead
of being enqueued and silently dropped by the worker; a claim whose message could not be
sent is withdrawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.distributed import BrokerUnavailable, advance, enqueue_resume
from graphflow.errors import StaleAnswer
from graphflow.loader import load
from graphflow.store import open_store

from .workerkit import chain_graph, graphflow, node_env

pytest.importorskip("celery")


@pytest.fixture
def waiting(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run "r" of a graph waiting at its human checkpoint, in ``store_url``."""
    for key, value in node_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    graph = load(chain_graph(tmp_path, steps=1, human=True))
    store, _ = open_store(store_url)
    try:
        assert graph.run_sync("go", store=store, run_id="r").status == "waiting"
    finally:
        store.close()
    return store_url


def test_a_second_answer_to_a_question_with_one_on_its_way_is_refused(
        waiting: str, broker: str, tmp_path: Path) -> None:  # fmt: skip
    first = enqueue_resume("r", input="yes", store=waiting, broker=broker)
    with pytest.raises(StaleAnswer) as info:
        enqueue_resume("r", input="no", store=waiting, broker=broker)
    assert info.value.question == first and "on its way" in str(info.value)
    loser = graphflow("resume", "r", "--input", "no", "--db", waiting, "--broker", broker,
                      cwd=tmp_path)  # fmt: skip
    assert loser.returncode == 5, loser.stderr
    assert first in loser.stderr and "not recorded" in loser.stderr, loser.stderr
    # the worker applies the answer that won; its claim goes with the step it answers
    store, _ = open_store(waiting)
    try:
        assert advance(store, "r", answers="yes", question=first).status == "completed"
        answers = [m.content for m in store.load_messages("r") if m.role == "user"]
        assert answers[-1] == "yes" and "no" not in answers
        assert store.effect_results("r") == []
    finally:
        store.close()


def test_a_claim_whose_message_was_not_sent_is_withdrawn(waiting: str, broker: str) -> None:
    with pytest.raises(BrokerUnavailable):
        enqueue_resume("r", input="no", store=waiting, broker="redis://127.0.0.1:1/0")
    assert enqueue_resume("r", input="yes", store=waiting, broker=broker).startswith("ask@")


def test_an_answer_a_worker_refused_gives_its_question_back(waiting: str, broker: str,
                                                            tmp_path: Path) -> None:  # fmt: skip
    other = tmp_path / "other"
    other.mkdir()
    older = load(chain_graph(other, steps=2, human=True))  # another topology
    first = enqueue_resume("r", input="yes", store=waiting, broker=broker)
    store, _ = open_store(waiting)
    try:
        refused = advance(store, "r", answers="yes", question=first, graphs={"chain": older})
        assert refused.outcome == "refused" and refused.status == "waiting"
    finally:
        store.close()
    assert enqueue_resume("r", input="yes", store=waiting, broker=broker) == first
