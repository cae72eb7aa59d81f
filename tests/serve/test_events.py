"""Run events as Server-Sent Events: read from the store, in order, resumable with
Last-Event-ID, live for runs this server runs and for runs other processes advance."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from graphflow import Store
from graphflow.loader import load
from graphflow.serve.feed import Cursor, parse_cursor
from tests.serve.conftest import HEADERS, LiveServer, wait_status
from tests.serve.sse import SSE, parse, parse_text


def check_order(events: list[SSE], messages: int, steps: int) -> None:
    """Every message and step exactly once, each step after its messages, ids increasing."""
    logged = [e for e in events if e.event in ("message", "step")]
    assert [e.data["seq"] for e in logged if e.event == "message"] == list(range(messages))
    assert [e.data["step"] for e in logged if e.event == "step"] == list(range(steps))
    cursors = [parse_cursor(e.id) for e in logged]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    last_step = -2
    for e in logged:
        if e.event == "message":
            assert e.data["step"] > last_step  # no message of a step already closed
        else:
            last_step = e.data["step"]


async def completed_run(client: httpx.AsyncClient) -> dict:
    made = (await client.post("/api/runs", json={"graph": "quickstart", "input": "hi"})).json()
    await wait_status(client, made["run_id"], "waiting")
    await client.post(f"/api/runs/{made['run_id']}/answer", json={"input": "yes"})
    return await wait_status(client, made["run_id"], "completed")


async def test_a_completed_run_streams_all_in_order_then_ends(client: httpx.AsyncClient) -> None:
    run = await completed_run(client)
    response = await client.get(f"/api/runs/{run['run_id']}/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_text(response.text)
    check_order(events, len(run["messages"]), len(run["step_rows"]))
    assert [e.data["content"] for e in events if e.event == "message"] == [m["content"] for m in run["messages"]]
    assert events[-2].event == "run" and events[-2].data["status"] == "completed"
    assert events[-1].event == "end" and events[-1].data["status"] == "completed"


async def test_last_event_id_resumes_exactly_after_it(client: httpx.AsyncClient) -> None:
    run = await completed_run(client)
    url = f"/api/runs/{run['run_id']}/events"
    everything = [e for e in parse_text((await client.get(url)).text) if e.id]
    for cut in range(len(everything)):
        rest = parse_text((await client.get(url, headers={"Last-Event-ID": everything[cut].id})).text)
        logged = [e for e in rest if e.id]
        assert [e.id for e in logged] == [e.id for e in everything[cut + 1:]]
        assert rest[-1].event == "end"
    after = everything[3].id
    by_query = [e.id for e in parse_text((await client.get(url, params={"after": after})).text) if e.id]
    assert by_query == [e.id for e in everything[4:]]


async def test_a_bad_last_event_id_is_400(client: httpx.AsyncClient) -> None:
    run = await completed_run(client)
    response = await client.get(f"/api/runs/{run['run_id']}/events", headers={"Last-Event-ID": "7"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_event_id"
    assert "mMsN" in response.json()["error"]["message"]


def test_cursor_round_trip() -> None:
    assert parse_cursor(str(Cursor(12, 3))) == Cursor(12, 3)
    with pytest.raises(ValueError, match="not an event id"):
        parse_cursor("m1s")


def stream_until(url: str, stop: str, out: list[SSE], headers: dict | None = None,
                 timeout: float = 30.0) -> None:  # fmt: skip
    """Read ``url``'s events into ``out`` until an event ``stop`` (or the stream ends)."""
    with httpx.Client(timeout=timeout) as c, c.stream("GET", url, headers=headers or {}) as r:
        assert r.status_code == 200
        for event in parse(r.iter_lines()):
            out.append(event)
            if event.event == stop:
                return


def test_live_events_of_a_run_the_server_runs(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, headers=HEADERS) as c:
        run_id = c.post("/api/runs", json={"graph": "quickstart", "input": "live"}).json()["run_id"]
        seen: list[SSE] = []
        watcher = threading.Thread(target=stream_until, args=(f"{live.url}/api/runs/{run_id}/events",
                                                              "end", seen))  # fmt: skip
        watcher.start()
        deadline = time.monotonic() + 20
        while not any(e.event == "run" and e.data["status"] == "waiting" for e in seen):
            assert time.monotonic() < deadline, seen
            time.sleep(0.05)
        question = next(e.data["question"]["id"] for e in seen if e.event == "run" and e.data["question"])
        assert c.post(f"/api/runs/{run_id}/answer", json={"input": "yes", "question": question}).status_code == 202
        watcher.join(30)
        assert not watcher.is_alive()
        run = c.get(f"/api/runs/{run_id}").json()
    check_order(seen, len(run["messages"]), len(run["step_rows"]))
    statuses = [e.data["status"] for e in seen if e.event == "run"]
    assert "waiting" in statuses and statuses[-1] == "completed" and seen[-1].event == "end"


def test_live_events_of_a_run_another_process_advances(live: LiveServer, db: Path) -> None:
    """A run advanced through another connection to the store (as another process
    would): the server only reads the store, and its watchers see every step."""
    graph = load("quickstart")
    other = Store(db)
    try:
        first = graph.run_sync("elsewhere", store=other)
        assert first.status == "waiting"
        seen: list[SSE] = []
        url = f"{live.url}/api/runs/{first.run_id}/events"
        watcher = threading.Thread(target=stream_until, args=(url, "end", seen))
        watcher.start()
        time.sleep(0.3)
        graph.resume_sync(first.run_id, input="no", store=other)
        watcher.join(30)
        assert not watcher.is_alive()
        count, steps = other.message_count(first.run_id), len(other.steps(first.run_id))
    finally:
        other.close()
    check_order(seen, count, steps)
    assert seen[-1].event == "end" and seen[-1].data["status"] == "completed"


def test_streamed_tokens_reach_watchers_before_the_message(live: LiveServer) -> None:
    text = ("graph: streaming\nentry: ask\nnodes:\n"
            "  ask: {kind: human, prompt: 'go?', variable: go}\n"
            "  talk: {kind: agent, system_message: 'say something', stream: true}\n"
            "edges:\n  - {from: ask, to: talk}\n")  # fmt: skip
    with httpx.Client(base_url=live.url, headers=HEADERS) as c:
        made = c.post("/api/runs", json={"graph": text, "input": "hello there"})
        assert made.status_code == 201, made.text
        run_id = made.json()["run_id"]
        seen: list[SSE] = []
        watcher = threading.Thread(target=stream_until, args=(f"{live.url}/api/runs/{run_id}/events",
                                                              "end", seen))  # fmt: skip
        watcher.start()
        deadline = time.monotonic() + 20
        while not any(e.event == "run" and e.data["status"] == "waiting" for e in seen):
            assert time.monotonic() < deadline, seen
            time.sleep(0.05)
        assert c.post(f"/api/runs/{run_id}/answer", json={"input": "go"}).status_code == 202
        watcher.join(30)
    tokens = [e for e in seen if e.event == "token"]
    assert tokens and {t.data["node"] for t in tokens} == {"talk"}
    said = next(e for e in seen if e.event == "message" and e.data["node"] == "talk")
    assert seen.index(tokens[-1]) < seen.index(said)
    assert "".join(t.data["text"] for t in tokens).strip() == said.data["content"].strip()
    assert all(t.id is None for t in tokens)  # live only: never an event id


def test_watchers_that_vanish_leave_nothing_behind(live: LiveServer) -> None:
    """60 event streams of one waiting run: a third reset the connection right after the
    request, the rest after reading a little; the server keeps no watcher, no feed and no
    poller for them (the run is still waiting: nothing else would end them)."""
    import socket
    import struct

    with httpx.Client(base_url=live.url, headers=HEADERS) as c:
        run_id = c.post("/api/runs", json={"graph": "quickstart", "input": "x"}).json()["run_id"]
        wait_until = time.monotonic() + 20
        while c.get(f"/api/runs/{run_id}").json()["status"] != "waiting":
            assert time.monotonic() < wait_until
            time.sleep(0.05)
    host, port = live.url.rsplit("/", 1)[1].split(":")
    request = f"GET /api/runs/{run_id}/events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    reset = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close with a reset
    kept = []
    for i in range(60):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(request)
        if i % 3 == 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
            sock.close()
        else:
            kept.append(sock)
    hub = live.app.state.hub
    deadline = time.monotonic() + 20
    while not (run_id in hub.feeds and len(hub.feeds[run_id].watchers) >= 1):
        assert time.monotonic() < deadline, "no watcher joined"
        time.sleep(0.02)
    for sock in kept:
        sock.recv(64)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
        sock.close()
    deadline = time.monotonic() + 20
    while hub.feeds:
        assert time.monotonic() < deadline, {k: len(f.watchers) for k, f in hub.feeds.items()}
        time.sleep(0.05)
