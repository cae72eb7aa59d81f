"""Who advances the server's runs: one answer per question even when two arrive at once,
errors that refuse a run reach the HTTP answer, slow watchers are cut off and catch up,
and the examples in the package's docstrings hold."""

from __future__ import annotations

import asyncio
import doctest
import importlib
from pathlib import Path

import httpx
import pytest

from graphflow import Store
from graphflow.serve import feed as feed_module
from graphflow.serve.feed import EventHub, parse_cursor
from tests.serve.conftest import snapshot, wait_status
from tests.serve.sse import parse_text


async def test_two_answers_at_once_one_is_recorded(client: httpx.AsyncClient, db: Path) -> None:
    made = await client.post("/api/runs", json={"graph": "quickstart", "input": "race"})
    run = await wait_status(client, made.json()["run_id"], "waiting")
    run_id, question = run["run_id"], run["question"]["id"]
    answers = await asyncio.gather(*(client.post(f"/api/runs/{run_id}/answer",
                                                 json={"input": text, "question": question})
                                     for text in ("yes", "no")))  # fmt: skip
    assert sorted(r.status_code for r in answers) == [202, 409], [r.text for r in answers]
    refused = next(r for r in answers if r.status_code == 409).json()["error"]
    assert refused["code"] in ("run_in_use", "not_waiting", "stale_answer")
    done = await wait_status(client, run_id, "completed")
    recorded = [m["content"] for m in done["messages"] if m["node"] == "approve"]
    winner = next(r for r in answers if r.status_code == 202)
    assert len(recorded) == 1 and recorded[0] == ("yes" if winner is answers[0] else "no")


async def test_two_servers_over_one_store_record_one_answer(client: httpx.AsyncClient, db: Path,
                                                            tmp_path: Path) -> None:  # fmt: skip
    """The same question answered at once through two servers of one database: the
    store's lease lets one through; the other is a 409, and one answer is recorded."""
    from graphflow.serve.app import create_app
    from tests.serve.conftest import BASE, HEADERS

    store = Store(db)
    other = create_app(store, poll=0.05, work_dir=str(tmp_path / "other"))
    try:
        async with other.router.lifespan_context(other), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=other), base_url=BASE, headers=HEADERS) as second:  # fmt: skip
            for _ in range(3):
                made = await client.post("/api/runs", json={"graph": "quickstart", "input": "two"})
                run = await wait_status(client, made.json()["run_id"], "waiting")
                body = {"question": run["question"]["id"]}
                answers = await asyncio.gather(
                    client.post(f"/api/runs/{run['run_id']}/answer", json={**body, "input": "yes"}),
                    second.post(f"/api/runs/{run['run_id']}/answer", json={**body, "input": "no"}))  # fmt: skip
                assert sorted(r.status_code for r in answers) == [202, 409], [r.text for r in answers]
                done = await wait_status(client, run["run_id"], "completed")
                recorded = [m["content"] for m in done["messages"] if m["node"] == "approve"]
                assert recorded == ["yes" if answers[0].status_code == 202 else "no"]
    finally:
        store.close()


async def test_a_run_refused_before_it_starts_is_an_http_error(client: httpx.AsyncClient, db: Path) -> None:
    made = await client.post("/api/runs", json={"graph": "quickstart", "run_id": "taken"})
    assert made.status_code == 201
    await wait_status(client, "taken", "waiting")
    again = await client.post("/api/runs", json={"graph": "quickstart", "run_id": "taken"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "run_id_taken"
    bad_text = await client.post("/api/runs", content=b'{"graph": "quickstart", "input": "\\udcff"}')
    assert bad_text.status_code == 400  # not UTF-8: refused before anything is stored
    assert list(snapshot(db)) == ["taken"]


async def test_a_slow_watcher_is_cut_off_and_catches_up(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from graphflow.loader import load

    store = Store(db)
    run = load("quickstart").run_sync("slow", store=store)
    hub = EventHub(store, poll=0.05)
    monkeypatch.setattr(feed_module, "MAX_QUEUED", 3)
    watcher = hub.open(run.run_id, parse_cursor(None))
    received = []
    while not watcher.queue.empty():
        item = watcher.queue.get_nowait()
        if item is not None:
            received.append(item.decode())
    assert watcher.closed and len(received) == 3  # cut off after 3, the stream ends
    last_id = [e.id for e in parse_text("".join(received)) if e.id][-1]
    monkeypatch.setattr(feed_module, "MAX_QUEUED", 5000)
    rest = hub.open(run.run_id, parse_cursor(last_id))
    items = []
    while not rest.queue.empty():
        item = rest.queue.get_nowait()
        if item is not None:
            items.append(item.decode())
    events = parse_text("".join(received) + "".join(items))
    seqs = [e.data["seq"] for e in events if e.event == "message"]
    assert seqs == list(range(store.message_count(run.run_id)))
    await hub.aclose()
    store.close()


@pytest.mark.parametrize("module", ["graphflow.serve.views", "graphflow.serve.errors", "graphflow.serve.feed",
                                    "graphflow.serve.security", "graphflow.serve.server",
                                    "graphflow.serve.app"])  # fmt: skip
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
