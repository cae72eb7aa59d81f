"""Fixtures of the server tests: the app over a fresh SQLite store, an httpx client on
its ASGI transport, a real uvicorn server on a free loopback port, and helpers that wait
for a run and read what the store holds."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphflow import Store

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from graphflow.serve.app import create_app

HEADERS = {"X-Graphflow-Request": "1"}
BASE = "http://127.0.0.1:8765"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture
async def client(db: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app (over a store at ``db``), its lifespan running."""
    store = Store(db)
    app = create_app(store, poll=0.05, work_dir=str(tmp_path / "work"))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=transport, base_url=BASE, headers=HEADERS) as c:  # fmt: skip
        c.app = app  # type: ignore[attr-defined]
        yield c
    store.close()


async def wait_status(client: httpx.AsyncClient, run_id: str, *statuses: str,
                      timeout: float = 20.0) -> dict[str, Any]:  # fmt: skip
    """The run once its status is one of ``statuses`` (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        data = (await client.get(f"/api/runs/{run_id}")).json()
        if data["status"] in statuses:
            return data
        assert time.monotonic() < deadline, f"run {run_id} stayed {data['status']}"
        await asyncio.sleep(0.05)


def snapshot(db: Path) -> dict[str, Any]:
    """Everything stored about every run (read through a second connection)."""
    store = Store(db)
    try:
        out = {}
        for record in store.list_runs():
            out[record.run_id] = (record, store.message_rows(record.run_id),
                                  store.steps(record.run_id))  # fmt: skip
        return out
    finally:
        store.close()


@dataclass
class LiveServer:
    url: str
    app: Any
    store: Store


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def run_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its URL."""
    import uvicorn

    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@pytest.fixture
def live(db: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A real uvicorn server of the app over the store at ``db``."""
    store = Store(db)
    app = create_app(store, poll=0.05, keepalive=1.0, work_dir=str(tmp_path / "work"))
    try:
        for url in run_server(app):
            yield LiveServer(url, app, store)
    finally:
        store.close()
