"""``graphflow serve --broker``: the server hands runs to workers. The quickstart started
through the HTTP API is run by a real worker process, answered through the API (the
answer checked, then enqueued) and finished by the worker; uploaded graph text is refused,
since a worker would run it outside the server's safe mode."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphflow.store import open_store

from .workerkit import Worker, workers

pytest.importorskip("starlette")

from graphflow.serve.app import create_app
from graphflow.serve.queue import QueueDispatcher

HEADERS = {"X-Graphflow-Request": "1"}


async def _status(client: httpx.AsyncClient, run_id: str, wanted: str,
                  running: list[Worker], timeout: float = 60) -> dict[str, Any]:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        data = (await client.get(f"/api/runs/{run_id}")).json()
        if data["status"] == wanted:
            return data
        if time.monotonic() > deadline:
            logs = "\n".join(w.log.read_text(errors="replace")[-2000:] for w in running)
            raise AssertionError(f"run {run_id} stayed {data['status']}; workers:\n{logs}")
        await asyncio.sleep(0.1)


async def test_the_server_hands_runs_to_workers_and_answers_go_through_the_queue(
        tmp_path: Path, broker: str, store_url: str) -> None:  # fmt: skip
    store, _ = open_store(store_url)
    app = create_app(store, dispatcher=QueueDispatcher(store_url, broker), poll=0.1)
    transport = httpx.ASGITransport(app=app)
    with workers(Worker(store_url, broker, cwd=tmp_path)) as running:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1:8765",
                headers=HEADERS) as client:  # fmt: skip
            made = await client.post("/api/runs", json={"graph": "quickstart", "input": "hi"})
            assert made.status_code == 201, made.text
            run_id = made.json()["run_id"]
            waiting = await _status(client, run_id, "waiting", running)
            assert waiting["question"]["id"] == "approve@5"
            answered = await client.post(f"/api/runs/{run_id}/answer",
                                         json={"input": "yes", "question": "approve@5"})
            assert answered.status_code == 202, answered.text
            done = await _status(client, run_id, "completed", running)
            assert done["reason"] == "published"
            stale = await client.post(f"/api/runs/{run_id}/answer",
                                      json={"input": "yes", "question": "approve@5"})
            assert stale.status_code == 409
            uploaded = await client.post("/api/runs", json={
                "graph": "graph: up\nentry: a\nnodes:\n  a: {kind: end}\n", "input": "x"})
            assert uploaded.status_code == 400
            assert uploaded.json()["error"]["code"] == "uploaded_graph_on_workers"
    runs = [r.run_id for r in store.list_runs()]
    assert runs == [run_id]  # the refused upload stored nothing
    store.close()
