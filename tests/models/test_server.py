"""ModelServer over raw HTTP: routes, wire format, faults, concurrency, shutdown."""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from graphflow.errors import DefinitionError
from graphflow.testing import Fault, ModelServer


def post(server: ModelServer, body: dict, path: str = "/v1/chat/completions", timeout: float = 5):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        return response.status, response.getheader("Content-Type"), data
    finally:
        conn.close()


def ask(text: str = "hi", **extra) -> dict:
    return {"model": "scripted", "messages": [{"role": "user", "content": text}], **extra}


def test_models_route_lists_known_and_requested_models(model_server):
    server = model_server(["x"], models=["alpha"])
    post(server, {**ask(), "model": "beta"})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/v1/models")
    listing = json.loads(conn.getresponse().read())
    conn.close()
    assert [m["id"] for m in listing["data"]] == ["alpha", "beta"]


def test_completion_wire_format(model_server):
    server = model_server(
        [{"content": "Hi!", "tool_calls": [{"name": "f", "arguments": {"x": 1}}]}]
    )
    status, content_type, data = post(server, ask())
    body = json.loads(data)
    assert status == 200 and content_type == "application/json"
    assert body["object"] == "chat.completion" and body["id"] == "chatcmpl-1"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"x": 1}'}
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_sse_stream_wire_format(model_server):
    server = model_server(["Streaming works fine."])
    status, content_type, data = post(
        server, ask(stream=True, stream_options={"include_usage": True})
    )
    assert status == 200 and content_type == "text/event-stream"
    events = [line[6:] for line in data.decode().split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Streaming works fine."
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_bad_requests_and_routes(model_server):
    server = model_server(["x"])
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("POST", "/v1/chat/completions", b"{not json", {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 400 and b"invalid request body" in response.read()
    conn.close()
    assert post(server, ask(), path="/v1/completions")[0] == 404
    assert post(server, ask(), path="/v1/embeddings")[0] == 400  # a chat body has no input


def test_exhausted_script_answers_400_with_the_reason(model_server):
    server = model_server(["only one"])
    assert post(server, ask())[0] == 200
    status, _, data = post(server, ask())
    assert status == 400 and b"used up" in data


def test_fault_queue_per_model_and_standing_fault(model_server):
    server = model_server({"replies": [], "default": "ok"})
    server.inject("429", model="a")
    server.inject(Fault.http(503, "busy"))
    assert post(server, {**ask(), "model": "b"})[0] == 503  # the model-less fault applies to b
    assert post(server, {**ask(), "model": "b"})[0] == 200
    assert post(server, {**ask(), "model": "a"})[0] == 429
    server.fail_always("502")
    assert [post(server, ask())[0] for _ in range(2)] == [502, 502]
    server.fail_always(None)
    assert post(server, ask())[0] == 200
    assert server.requests == 6 and server.requests_for("a") == 1


def test_malformed_empty_disconnect_and_truncate(model_server):
    server = model_server({"replies": [], "default": "ok"})
    server.inject("malformed", "empty")
    with pytest.raises(json.JSONDecodeError):
        json.loads(post(server, ask())[2])
    assert json.loads(post(server, ask())[2])["choices"] == []
    server.inject("disconnect")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        post(server, ask())
    server.inject("truncate")
    with pytest.raises(http.client.IncompleteRead):
        post(server, ask())


def test_fault_parsing():
    assert Fault.parse(500) == Fault.http(500)
    assert Fault.parse("500:overloaded").message == "overloaded"
    assert Fault.parse("timeout").seconds == 30 and Fault.parse("hang:2").seconds == 2
    assert Fault.parse({"kind": "latency", "seconds": 0.5}).kind == "latency"
    for bad in ("explode", "timeout:soon", {"kind": "nope"}, {"kind": "status", "colour": 1}):
        with pytest.raises(DefinitionError):
            Fault.parse(bad)


def test_latency_and_fifty_concurrent_connections(model_server):
    # Each answer waits until all fifty requests are being served at once: the requests
    # succeed only if the server holds fifty connections together (no clock to read).
    everyone = threading.Barrier(50, timeout=30)

    def meet(request):
        if request.call < 50:
            everyone.wait()
        return "ok"

    server = model_server(meet, latency=0.2)
    started = time.perf_counter()
    with ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(lambda i: post(server, ask(f"q{i}"), timeout=60), range(50)))
    assert [status for status, _, _ in replies] == [200] * 50, replies[0][2]
    assert time.perf_counter() - started >= 0.2  # the latency delays answers, never less
    server.inject(Fault.latency(0.3))
    started = time.perf_counter()
    post(server, ask())
    assert time.perf_counter() - started >= 0.45


def test_stop_is_quick_while_a_request_is_held():
    server = ModelServer(["x"]).start()
    server.fail_always("timeout:60")
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(_try_post(server)))
    worker.start()
    deadline = time.monotonic() + 30
    while server.requests < 1 and time.monotonic() < deadline:  # until the request is held
        time.sleep(0.01)
    assert server.requests == 1, "the request never reached the server"
    server.stop()
    # The held request is dropped at once; left alone it would take 60 s (the client's own
    # timeout is 30 s), so a result within 20 s can only come from the stop.
    worker.join(20)
    assert outcome and isinstance(outcome[0], Exception), outcome
    assert not isinstance(outcome[0], TimeoutError), outcome
    server.stop()  # a second stop is harmless


def _try_post(server: ModelServer) -> object:
    try:
        return post(server, ask(), timeout=30)
    except Exception as exc:
        return exc


def test_api_key_is_enforced(model_server):
    server = model_server(["x"], api_key="sk-local")
    assert post(server, ask())[0] == 401
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request(
        "POST", "/v1/chat/completions", json.dumps(ask()), {"Authorization": "Bearer sk-local"}
    )
    assert conn.getresponse().status == 200
    conn.close()


def test_script_errors_become_500_not_crashes(model_server):
    def broken(request):
        raise RuntimeError("script bug")

    server = model_server(broken)
    status, _, data = post(server, ask())
    assert status == 500 and b"script bug" in data
    assert post(server, ask())[0] == 500  # still serving


def test_reset_clears_counts_faults_and_position(model_server):
    server = model_server(["one", "two"])
    post(server, ask())
    server.inject("500")
    server.reset()
    assert server.requests == 0 and server.request_log == []
    status, _, data = post(server, ask())
    assert status == 200 and json.loads(data)["choices"][0]["message"]["content"] == "one"
