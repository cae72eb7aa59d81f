"""The HTTP API against the ASGI app: every route, good and bad input, JSON errors, and
nothing stored changed by a refused request."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from graphflow import Store
from tests.serve.conftest import snapshot, wait_status

RUN_ROUTES = [("GET", ""), ("GET", "/calls"), ("GET", "/events"), ("GET", "/diagram.svg"),
              ("POST", "/answer"), ("POST", "/fork")]  # fmt: skip


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status and error["code"] == code, error
    assert len(error["message"]) > 20, error
    return error


async def waiting_quickstart(client: httpx.AsyncClient) -> dict:
    made = await client.post("/api/runs", json={"graph": "quickstart", "input": "hello"})
    assert made.status_code == 201, made.text
    assert set(made.json()) >= {"run_id"}
    return await wait_status(client, made.json()["run_id"], "waiting")


async def test_graphs_lists_the_bundled_graphs(client: httpx.AsyncClient) -> None:
    graphs = {g["name"]: g for g in (await client.get("/api/graphs")).json()["graphs"]}
    assert "quickstart" in graphs and graphs["quickstart"]["bundled"]
    assert "writer" in graphs["quickstart"]["description"]
    assert graphs["quickstart"]["variables"] == {"topic": "graphs"}


async def test_start_wait_answer_complete(client: httpx.AsyncClient, db: Path) -> None:
    run = await waiting_quickstart(client)
    run_id = run["run_id"]
    assert run["question"]["node"] == "approve" and run["question"]["id"].startswith("approve@")
    assert "Publish this text" in run["question"]["text"]
    assert run["messages"][0]["content"] == "hello" and run["step_rows"]
    question = run["question"]["id"]

    before = snapshot(db)
    wrong = await client.post(f"/api/runs/{run_id}/answer", json={"input": "yes", "question": "approve@1"})
    error = assert_error(wrong, 409, "stale_answer")
    assert question in error["message"] and error["waiting"] == [question]
    assert_error(await client.post(f"/api/runs/{run_id}/answer", content=b'{"input": "yes"'),
                 400, "malformed_json")  # fmt: skip
    assert_error(await client.post(f"/api/runs/{run_id}/answer", json=["yes"]), 400, "malformed_json")
    assert_error(await client.post(f"/api/runs/{run_id}/answer", json={"question": question}),
                 400, "missing_field")  # fmt: skip
    assert_error(await client.post(f"/api/runs/{run_id}/answer", json={"input": 3}), 400, "bad_field")
    assert snapshot(db) == before

    answered = await client.post(f"/api/runs/{run_id}/answer", json={"input": "yes", "question": question})
    assert answered.status_code == 202 and answered.json() == {"run_id": run_id, "question": question}
    done = await wait_status(client, run_id, "completed")
    assert done["reason"] == "published" and done["question"] is None
    assert done["messages"][-1]["content"] == "yes"

    after = snapshot(db)
    again = await client.post(f"/api/runs/{run_id}/answer", json={"input": "no", "question": question})
    assert_error(again, 409, "not_waiting")
    assert_error(await client.post(f"/api/runs/{run_id}/answer", json={"input": "no"}), 409, "not_waiting")
    assert snapshot(db) == after


@pytest.mark.parametrize(("method", "suffix"), RUN_ROUTES)
async def test_unknown_run_is_404(client: httpx.AsyncClient, db: Path, method: str, suffix: str) -> None:
    await waiting_quickstart(client)
    before = snapshot(db)
    body = {"input": "yes"} if suffix == "/answer" else {"step": 0}
    response = await client.request(method, f"/api/runs/nosuchrun{suffix}",
                                     json=body if method == "POST" else None)  # fmt: skip
    assert "nosuchrun" in assert_error(response, 404, "run_not_found")["message"]
    assert str(db.parent) not in response.text  # where the store is stays on the server
    assert snapshot(db) == before


async def test_bad_run_id_and_unknown_route(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/runs/bad%20id%21"), 400, "bad_run_id")
    assert_error(await client.get("/api/nothing"), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/api/runs"), ("PUT", "/api/graphs"),
                                              ("GET", "/api/runs/x/answer"),
                                              ("POST", "/api/runs/x/diagram.svg")])  # fmt: skip
async def test_wrong_method_is_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    error = assert_error(await client.request(method, path), 405, "method_not_allowed")
    assert method in error["message"]


async def test_start_refuses_bad_input_and_stores_nothing(client: httpx.AsyncClient, db: Path) -> None:
    bad = {
        "malformed_json": b"{graph: quickstart}",
        "missing_field": {"input": "x"},
        "bad_field": {"graph": "quickstart", "variables": [1]},
        "unknown_variable": {"graph": "quickstart", "variables": {"nope": 1}},
        "invalid_graph": {"graph": "no_such_graph"},
        "bad_run_id": {"graph": "quickstart", "run_id": "../../etc"},
    }
    for code, body in bad.items():
        response = await client.post("/api/runs", **({"content": body} if isinstance(body, bytes)
                                                     else {"json": body}))  # fmt: skip
        assert_error(response, 400, code)
    for name in ("../graphs/quickstart", "/etc/passwd", "quickstart.yaml"):
        assert_error(await client.post("/api/runs", json={"graph": name}), 400, "invalid_graph")
    assert snapshot(db) == {}


async def test_graph_text_runs_in_safe_mode(client: httpx.AsyncClient, db: Path) -> None:
    text = ("graph: hostile\nentry: a\nnodes:\n  a: {kind: function, call: 'os:system', "
            "args: {command: 'echo owned'}}\n")
    error = assert_error(await client.post("/api/runs", json={"graph": text}), 400, "invalid_graph")
    assert "safe mode" in error["message"]
    assert snapshot(db) == {}
    ok = ("graph: upper\nentry: a\nnodes:\n  a: {kind: function, call: 'nodes.tools.text:word_count',"
          " args: {text: last.content}, output: n}\n")
    made = await client.post("/api/runs", json={"graph": ok, "input": "one two three"})
    assert made.status_code == 201, made.text
    done = await wait_status(client, made.json()["run_id"], "completed")
    assert done["variables"]["n"] == 3


async def test_invalid_graph_text_lists_problems(client: httpx.AsyncClient) -> None:
    text = "graph: broken\nentry: a\nnodes:\n  a: {kind: function, call: 'nodes.tools.text:review'}\nedges:\n  - {from: a, to: b}\n"
    error = assert_error(await client.post("/api/runs", json={"graph": text}), 400, "invalid_graph")
    assert any("b" in p["what"] or "b" in p["where"] for p in error["problems"])


async def test_list_runs_with_filters(client: httpx.AsyncClient) -> None:
    run = await waiting_quickstart(client)
    counter = ("graph: counter\nentry: a\nnodes:\n  a: {kind: function, call: "
               "'nodes.tools.text:word_count', args: {text: last.content}, output: n}\n")
    other = await client.post("/api/runs", json={"graph": counter, "input": "a zebra task"})
    await wait_status(client, other.json()["run_id"], "completed")
    runs = (await client.get("/api/runs")).json()["runs"]
    assert [r["run_id"] for r in runs][-1] == run["run_id"]  # newest first
    first = next(r for r in runs if r["run_id"] == run["run_id"])
    assert set(first) >= {"run_id", "graph", "status", "question", "usage", "steps"}
    assert first["usage"]["tokens"] > 0 and first["usage"]["cost_text"]
    only = (await client.get("/api/runs", params={"status": "waiting"})).json()["runs"]
    assert [r["run_id"] for r in only] == [run["run_id"]]
    by_graph = (await client.get("/api/runs", params={"graph": "counter"})).json()["runs"]
    assert [r["graph"] for r in by_graph] == ["counter"]
    by_text = (await client.get("/api/runs", params={"text": "ZEBRA"})).json()["runs"]
    assert [r["run_id"] for r in by_text] == [other.json()["run_id"]]
    by_question = (await client.get("/api/runs", params={"text": "publish this"})).json()["runs"]
    assert [r["run_id"] for r in by_question] == [run["run_id"]]
    assert len((await client.get("/api/runs", params={"limit": 1})).json()["runs"]) == 1
    assert_error(await client.get("/api/runs", params={"status": "sleeping"}), 400, "bad_query")
    assert_error(await client.get("/api/runs", params={"limit": "many"}), 400, "bad_query")
    assert_error(await client.get("/api/runs", params={"limit": 0}), 400, "bad_query")


async def test_fork_before_a_step(client: httpx.AsyncClient, db: Path) -> None:
    run = await waiting_quickstart(client)
    run_id = run["run_id"]
    before = snapshot(db)
    for body, code in (({"step": "2"}, "bad_field"), ({"step": 99}, "bad_step"),
                       ({"step": -1}, "bad_step"), ({"step": 1, "start": "yes"}, "bad_field")):
        assert_error(await client.post(f"/api/runs/{run_id}/fork", json=body), 400, code)
    assert snapshot(db) == before
    made = await client.post(f"/api/runs/{run_id}/fork", json={"step": 1, "run_id": "fork-one"})
    assert made.status_code == 201
    assert made.json() == {"run_id": "fork-one", "forked_from": run_id, "at_step": 1}
    fork = (await client.get("/api/runs/fork-one")).json()
    assert fork["status"] == "ready" and fork["forked_at"] == 1 and fork["parent_run"] == run_id
    started = await client.post(f"/api/runs/{run_id}/fork", json={"step": 1, "start": True})
    assert started.status_code == 201
    resumed = await wait_status(client, started.json()["run_id"], "waiting")
    assert resumed["question"]["node"] == "approve"
    assert snapshot(db)[run_id] == before[run_id]  # the forked run itself is unchanged


async def test_fork_of_a_run_whose_stored_spec_is_not_a_graph(client: httpx.AsyncClient,
                                                               db: Path) -> None:  # fmt: skip
    """A stored spec that is JSON but not a whole graph (edited by hand): a JSON error
    naming the run and the fix, and no fork."""
    import sqlite3

    run_id = (await waiting_quickstart(client))["run_id"]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE specs SET spec = '{\"graph\": \"x\"}'")
    conn.close()
    before = snapshot(db)
    for body in ({"step": 1}, {"step": 0, "start": True}):
        error = assert_error(await client.post(f"/api/runs/{run_id}/fork", json=body), 500,
                             "store_corrupt")  # fmt: skip
        assert f"run {run_id!r}" in error["message"] and "'entry'" in error["message"]
        assert "backup" in error["message"] and "--graph FILE" in error["message"]
    assert snapshot(db) == before


async def test_calls_show_prompt_response_tokens_latency(client: httpx.AsyncClient) -> None:
    run = await waiting_quickstart(client)
    calls = (await client.get(f"/api/runs/{run['run_id']}/calls")).json()["calls"]
    assert len(calls) == 1
    call = calls[0]
    assert call["node"] == "draft" and call["step"] == 0 and call["seconds"] >= 0
    assert call["prompt"][0]["role"] == "system" and "hello" in json.dumps(call["prompt"])
    assert call["response"]["message"]["content"]
    assert call["usage"]["tokens"] > 0 and "cost_text" in call["usage"]


async def test_diagram_is_sanitized_svg(client: httpx.AsyncClient) -> None:
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` is not installed")
    run = await waiting_quickstart(client)
    response = await client.get(f"/api/runs/{run['run_id']}/diagram.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.lstrip().startswith("<svg") and "<script" not in response.text
    assert "approve" in response.text and "#fde68a" in response.text  # waiting node filled
    assert_error(await client.get(f"/api/runs/{run['run_id']}/diagram.svg?rankdir=XX"),
                 400, "bad_query")  # fmt: skip


async def test_no_diagram_for_a_graph_built_in_python(client: httpx.AsyncClient, db: Path) -> None:
    from graphflow import Graph

    g = Graph("py", entry="a")
    g.add_node("a", lambda state: "hi")
    store = Store(db)
    run = g.compile().run_sync(store=store)
    store.close()
    assert_error(await client.get(f"/api/runs/{run.run_id}/diagram.svg"), 422, "no_diagram")


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    assert schema["openapi"].startswith("3.")
    routes = {(r.path, m) for r in client.app.routes  # type: ignore[attr-defined]
              for m in getattr(r, "methods", None) or () if r.path.startswith("/api/runs")
              or r.path == "/api/graphs"} - {(p, "HEAD") for p in ["/api/runs", "/api/graphs"]}
    documented = {(p, m.upper()) for p, ops in schema["paths"].items() for m in ops}
    assert {(p, m) for p, m in routes if m != "HEAD"} <= documented


async def test_index_and_static_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/static/app.js"' in page.text and "http" not in page.text.replace(
        'http-equiv', '')  # nothing loaded from another site
    script = await client.get("/static/app.js")
    assert script.status_code == 200 and "innerHTML" not in script.text


async def test_listed_graphs_of_the_project_and_safe_mode(client: httpx.AsyncClient, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from graphflow.import_policy import safe_imports

    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "mine.yaml").write_text(
        "graph: mine\nentry: a\nnodes:\n  a: {kind: function, call: 'json:dumps', "
        "args: {obj: last.content}, output: out}\n")  # fmt: skip
    monkeypatch.chdir(tmp_path)
    names = [g["name"] for g in (await client.get("/api/graphs")).json()["graphs"]]
    assert "mine" in names and "quickstart" in names
    with safe_imports():  # `graphflow --safe serve`: even the project's graphs are checked
        error = assert_error(await client.post("/api/runs", json={"graph": "mine"}), 400,
                             "invalid_graph")  # fmt: skip
    assert "json:dumps" in error["message"]
    made = await client.post("/api/runs", json={"graph": "mine", "input": "x"})
    assert made.status_code == 201  # the project's own graph file is trusted like `graphflow run`
    assert (await wait_status(client, made.json()["run_id"], "completed"))["variables"]["out"] == '"x"'
