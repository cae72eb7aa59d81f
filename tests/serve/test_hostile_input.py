"""Hostile and odd input to the HTTP API: bodies a JSON parser chokes on, values JSON
cannot carry back, graph text that reaches for files of the server, ids already taken.
Each is a clear JSON error (never a 500), and nothing stored is changed."""

from __future__ import annotations

import math
from pathlib import Path

import httpx

from graphflow import Store
from tests.serve.conftest import snapshot
from tests.serve.test_api import assert_error, waiting_quickstart


async def test_deeply_nested_json_is_malformed_not_a_crash(client: httpx.AsyncClient, db: Path) -> None:
    before = snapshot(db)
    for body in ("[" * 100_000 + "]" * 100_000,
                 '{"graph": "quickstart", "variables": {"topic": ' + "[" * 100_000 + "]" * 100_000 + "}}"):  # fmt: skip
        error = assert_error(await client.post("/api/runs", content=body), 400, "malformed_json")
        assert "nested" in error["message"]
    assert snapshot(db) == before


async def test_nan_and_infinity_are_refused(client: httpx.AsyncClient, db: Path) -> None:
    before = snapshot(db)
    for value in ("NaN", "Infinity", "-Infinity", "1e400"):
        body = '{"graph": "quickstart", "input": "x", "variables": {"topic": ' + value + "}}"
        error = assert_error(await client.post("/api/runs", content=body), 400, "malformed_json")
        assert "finite" in error["message"]
    assert snapshot(db) == before


async def test_a_run_holding_non_finite_numbers_can_still_be_read(client: httpx.AsyncClient, db: Path) -> None:
    """A run started from Python may hold NaN or infinity; its page must not fail."""
    from graphflow import load
    from graphflow.runs import start

    store = Store(db)
    try:
        result = await start(load("quickstart"), "x", store=store, variables={"topic": math.inf})
    finally:
        store.close()
    response = await client.get(f"/api/runs/{result.run_id}")
    assert response.status_code == 200, response.text
    assert response.json()["variables"]["topic"] == "Infinity"


async def test_forking_into_a_taken_run_id_is_409(client: httpx.AsyncClient, db: Path) -> None:
    first = await waiting_quickstart(client)
    second = await waiting_quickstart(client)
    before = snapshot(db)
    response = await client.post(f"/api/runs/{first['run_id']}/fork",
                                 json={"step": 1, "run_id": second["run_id"]})  # fmt: skip
    error = assert_error(response, 409, "run_id_taken")
    assert second["run_id"] in error["message"]
    assert snapshot(db) == before


async def test_two_starts_with_one_run_id_at_once(client: httpx.AsyncClient, db: Path) -> None:
    """One is created; the other is 409 run_id_taken, and its message does not name where
    the store is."""
    import asyncio

    body = {"graph": "quickstart", "input": "x", "run_id": "same-id"}
    answers = await asyncio.gather(*(client.post("/api/runs", json=body) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        error = assert_error(refused, 409, "run_id_taken")
        assert str(db) not in error["message"]


def _graph_text(node: str) -> str:
    return f"graph: probe\nentry: s\nnodes:\n  s:\n{node}"


async def test_graph_text_cannot_reach_files_of_the_server(client: httpx.AsyncClient, db: Path,
                                                           tmp_path: Path) -> None:  # fmt: skip
    """Graph text sent over HTTP names other graphs and catalog entries by their listed
    names only: a path would let it read files of the server (or tell which exist)."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("db_password: hunter2-hunter2\n", encoding="utf-8")
    before = snapshot(db)
    refs = [str(secret), "/etc/passwd", "../../../../etc/hostname", str(tmp_path / "absent.yaml")]
    nodes = [*(f"    kind: subgraph\n    graph: {ref}\n" for ref in refs),
             *(f"    kind: agent\n    nested: {{graph: {ref}}}\n" for ref in refs),
             f"    use: {secret.with_suffix('')}\n", "    use: ../../../../etc/hostname\n",
             f"    kind: subgraph\n    graph:\n      graph: inner\n      entry: t\n      nodes:\n"
             f"        t: {{kind: subgraph, graph: {secret}}}\n"]  # fmt: skip
    for node in nodes:
        response = await client.post("/api/runs", json={"graph": _graph_text(node), "input": "x"})
        error = assert_error(response, 400, "invalid_graph")
        assert "path" in error["message"] and "GET /api/graphs" in error["message"], error
        assert "mapping" not in response.text and "db_password" not in response.text
    assert snapshot(db) == before


async def test_graph_text_may_name_listed_graphs_and_inline_ones(client: httpx.AsyncClient) -> None:
    for node in ("    kind: subgraph\n    graph: quickstart\n",
                 "    kind: subgraph\n    graph:\n      graph: inner\n      entry: t\n"
                 "      nodes:\n        t: {kind: end}\n"):  # fmt: skip
        text = _graph_text(node) + "  done: {kind: end}\nedges:\n  - {from: s, to: done}\n"
        response = await client.post("/api/runs", json={"graph": text, "input": "x"})
        assert response.status_code == 201, response.text


async def test_graph_text_cannot_send_keys_elsewhere_or_read_model_files(
        client: httpx.AsyncClient, db: Path, tmp_path: Path) -> None:  # fmt: skip
    """Graph text sent over HTTP uses the models the server is configured with: it may
    not point them at an endpoint of its choosing (the server's key, or any variable it
    names in api_key_env, would be sent there), nor load scripts or config lists from
    files of the server."""
    replies = tmp_path / "replies.yaml"
    replies.write_text("- hunter2-hunter2\n", encoding="utf-8")
    before = snapshot(db)
    sections = ["{model: x, base_url: 'http://127.0.0.1:9/v1'}",
                "{model: x, api_key_env: HOME}",
                "[{model: x}, {model: y, base_url: 'http://127.0.0.1:9/v1'}]",
                "{main: {model: x, base_url: 'http://127.0.0.1:9/v1'}}",
                f"{{scripted: {replies}}}", f"{{oai_config_list: {replies}}}"]  # fmt: skip
    for section in sections:
        text = f"models: {section}\n" + _graph_text("    kind: agent\n    system_message: hi\n")
        response = await client.post("/api/runs", json={"graph": text, "input": "x"})
        error = assert_error(response, 400, "invalid_graph")
        assert "models" in error["message"] and "hunter2" not in response.text, error
    text = _graph_text("    kind: agent\n    system_message: hi\n    model: {base_url: 'http://127.0.0.1:9/v1'}\n")
    assert_error(await client.post("/api/runs", json={"graph": text}), 400, "invalid_graph")
    assert snapshot(db) == before


async def test_graph_text_may_script_its_model_inline(client: httpx.AsyncClient) -> None:
    text = ("models: {scripted: {replies: [fine]}}\n"
            + _graph_text("    kind: agent\n    system_message: hi\n"))  # fmt: skip
    response = await client.post("/api/runs", json={"graph": text, "input": "x"})
    assert response.status_code == 201, response.text


async def test_errors_redact_secrets_in_every_field(client: httpx.AsyncClient, tmp_path: Path,
                                                    monkeypatch) -> None:  # fmt: skip
    """An error's details (an invalid graph's problems), not only its message, go
    through redaction: here a listed graph names a variable holding a key, not JSON."""
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-9f8e7d6c5b4a3210")
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "mine.yaml").write_text(
        "graph: mine\nentry: s\nmodels: {oai_config_list: MY_SERVICE_TOKEN}\n"
        "nodes:\n  s: {kind: agent, system_message: hi}\n", encoding="utf-8")  # fmt: skip
    monkeypatch.chdir(tmp_path)
    response = await client.post("/api/runs", json={"graph": "mine", "input": "x"})
    assert response.status_code == 400, response.text
    assert "MY_SERVICE_TOKEN" in response.text
    assert "tok-9f8e7d6c5b4a3210" not in response.text


def test_graph_text_with_exploding_aliases_is_refused_quickly() -> None:
    """A few hundred bytes of YAML aliases that expand to 9**9 values are refused by the
    spec loader's limit before anything walks them (the server would hang)."""
    import threading

    from graphflow.errors import DefinitionError
    from graphflow.serve.graphs import resolve_graph

    lines = ["graph: g", "entry: s", "variables:", "  l0: &l0 [" + ",".join(["lol"] * 9) + "]"]
    lines += [f"  l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    lines += ["models: {base_url: 'http://127.0.0.1:9/v1'}", "nodes:", "  s: {kind: end}"]
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            resolve_graph("\n".join(lines) + "\n")
        except DefinitionError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "resolving the graph text did not finish in 10 s"
    assert outcome and "too big" in str(outcome[0])


async def test_a_big_graph_text_does_not_stall_the_server(client: httpx.AsyncClient) -> None:
    """Compiling graph text (here about a second's worth) happens off the event loop:
    a request that comes meanwhile is answered before it is done."""
    import asyncio
    import json

    n = 3000
    nodes: dict = {f"n{i}": {"kind": "function", "call": "nodes.tools.text:word_count",
                             "args": {"text": "state.t"}, "output": "w"} for i in range(n)}  # fmt: skip
    nodes[f"n{n}"] = {"kind": "end"}
    text = json.dumps({"graph": "big", "entry": "n0", "variables": {"t": "x"}, "nodes": nodes,
                       "edges": [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(n)]})  # fmt: skip
    done: list[str] = []

    async def start() -> None:
        await client.post("/api/runs", json={"graph": text})
        done.append("start")

    async def look() -> None:
        await asyncio.sleep(0.05)
        assert (await client.get("/api/graphs")).status_code == 200
        done.append("look")

    await asyncio.gather(start(), look())
    assert done == ["look", "start"]


async def test_the_schema_names_the_refusals_of_every_post(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    for path in ("/api/runs", "/api/runs/{run_id}/answer", "/api/runs/{run_id}/fork"):
        assert {"400", "403", "409", "413"} <= set(paths[path]["post"]["responses"]), path


async def test_a_key_streamed_in_pieces_is_redacted(monkeypatch) -> None:
    """Streamed tokens are redacted as the text they make up, not piece by piece: a key
    (or a value the server was told is secret) split across tokens never reaches a
    watcher whole, and the pieces still add up to the redacted text."""
    import json

    from graphflow.events import StepFinished, TokenEvent
    from graphflow.secrets import register_secret
    from graphflow.serve.feed import EventHub, RunFeed, Watcher
    from graphflow.store import MemoryStore

    register_secret("correct-horse-battery-staple")
    hub = EventHub(MemoryStore())
    feed = hub.feeds["r1"] = RunFeed(hub.store, "r1")
    watcher = Watcher()
    feed.watchers.add(watcher)
    pieces = ["Your key is sk-abc", "defghijklmn", "opqrstuvwx and the word is correct-", "horse-",
              "battery-staple", ". Done"]  # fmt: skip
    for piece in pieces:
        hub.publish(TokenEvent(run_id="r1", step=0, node="draft", text=piece))
    hub.publish(StepFinished(run_id="r1", step=0))
    sent = []
    while not watcher.queue.empty():
        data = watcher.queue.get_nowait()
        assert data is not None
        sent.append(json.loads(data.decode().split("data: ", 1)[1]))
    text = "".join(t["text"] for t in sent)
    for secret in ("sk-abcdefghijklmnopqrstuvwx", "correct-horse-battery-staple"):
        assert secret not in text and secret[:8] not in text.replace("[redacted]", "")
    assert text.startswith("Your key is [redacted] and the word is [redacted]")
