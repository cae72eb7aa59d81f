"""The server's guard: loopback hosts without a token, the token on every request,
cross-site requests refused, security headers, no secret sent to the browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from graphflow import Store
from graphflow.serve.app import create_app
from graphflow.serve.server import ServeRefused, check_bind
from tests.serve.conftest import BASE, HEADERS, snapshot, wait_status

TOKEN = "t0ken-for-tests-0123456789abcdef"


@pytest.fixture
async def guarded(db: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with a token, carrying no credentials of its own."""
    store = Store(db)
    app = create_app(store, token=TOKEN, poll=0.05, work_dir=str(tmp_path / "work"))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=transport, base_url="http://203.0.113.7:8765") as c:  # fmt: skip
        yield c
    store.close()


def code_of(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


async def test_without_a_token_only_loopback_hosts_are_answered(client: httpx.AsyncClient) -> None:
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "127.0.0.1"):
        assert (await client.get("/api/runs", headers={"Host": host})).status_code == 200
    for host in ("evil.example:8765", "attacker.test", "192.0.2.1:8765"):
        response = await client.get("/api/runs", headers={"Host": host})
        assert response.status_code == 403 and code_of(response) == "host_refused"
        assert "--token" in response.json()["error"]["message"]


async def test_state_changing_requests_need_the_custom_header(client: httpx.AsyncClient, db: Path) -> None:
    plain = httpx.AsyncClient(transport=client._transport, base_url=BASE)  # no X-Graphflow-Request
    async with plain:
        response = await plain.post("/api/runs", json={"graph": "quickstart"})
        assert response.status_code == 403 and code_of(response) == "csrf_header_missing"
        assert (await plain.get("/api/runs")).status_code == 200  # reading needs no header
    assert snapshot(db) == {}


async def test_cross_site_origins_are_refused(client: httpx.AsyncClient, db: Path) -> None:
    for origin in ("http://evil.example", "null", "http://127.0.0.1:9999"):
        response = await client.post("/api/runs", json={"graph": "quickstart"},
                                     headers={"Origin": origin})  # fmt: skip
        assert response.status_code == 403 and code_of(response) == "cross_site_refused"
    assert snapshot(db) == {}
    same = await client.post("/api/runs", json={"graph": "quickstart"}, headers={"Origin": BASE})
    assert same.status_code == 201


async def test_a_token_is_checked_on_every_request(guarded: httpx.AsyncClient, db: Path) -> None:
    for path in ("/", "/static/app.js", "/api/runs", "/api/graphs", "/api/openapi.json"):
        response = await guarded.get(path)
        assert response.status_code == 401 and code_of(response) == "unauthorized", path
    wrong = await guarded.get("/api/runs", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert (await guarded.get("/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200
    refused = await guarded.post("/api/runs", json={"graph": "quickstart"}, headers=HEADERS)
    assert refused.status_code == 401
    assert snapshot(db) == {}
    # A script with the token in Authorization needs no custom header (browsers never add it).
    made = await guarded.post("/api/runs", json={"graph": "quickstart"},
                              headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert made.status_code == 201


async def test_the_browser_logs_in_once_and_never_sees_the_token(guarded: httpx.AsyncClient) -> None:
    login = await guarded.get(f"/?token={TOKEN}")
    assert login.status_code == 303 and login.headers["location"] == "/"
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert guarded.cookies["graphflow_token"] == TOKEN
    guarded.cookies.clear()
    assert (await guarded.get(f"/?token=wrong{TOKEN}")).status_code == 401
    guarded.cookies.set("graphflow_token", TOKEN)
    page = await guarded.get("/")
    assert page.status_code == 200 and TOKEN not in page.text
    made = await guarded.post("/api/runs", json={"graph": "quickstart", "input": f"my {TOKEN}"},
                              headers=HEADERS)  # fmt: skip
    assert made.status_code == 201
    run_id = made.json()["run_id"]
    without_header = await guarded.post("/api/runs", json={"graph": "quickstart"})
    assert without_header.status_code == 403  # a cookie alone does not let a POST through
    seen = ""
    for path in ("/api/runs", f"/api/runs/{run_id}", f"/api/runs/{run_id}/calls"):
        seen += (await guarded.get(path)).text
    assert TOKEN not in seen and "[redacted]" in seen


async def test_keys_in_runs_are_redacted(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"
    monkeypatch.setenv("MY_SERVICE_API_KEY", "hunter2-very-secret-value")
    made = await client.post("/api/runs", json={
        "graph": "quickstart", "input": f"use {secret} and hunter2-very-secret-value"})
    run = await wait_status(client, made.json()["run_id"], "waiting")
    texts = [(await client.get(p)).text for p in (
        f"/api/runs/{run['run_id']}", f"/api/runs/{run['run_id']}/calls", "/api/runs?text=use")]
    for text in texts:
        assert secret not in text and "hunter2-very-secret-value" not in text
    assert "[redacted]" in texts[0] and "[redacted]" in texts[1]


async def test_security_headers(client: httpx.AsyncClient) -> None:
    for path in ("/", "/api/runs", "/api/nothing"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert (await client.get("/api/runs")).headers["cache-control"] == "no-store"


def test_binding_beyond_loopback_needs_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", TOKEN)
    for host in ("0.0.0.0", "192.0.2.10", "::"):
        with pytest.raises(ServeRefused, match="--token"):
            check_bind(host, None)
    with pytest.raises(ServeRefused, match="shorter than 16"):
        check_bind("0.0.0.0", "short")


def test_cli_refuses_an_open_bind_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from graphflow.cli import main

    monkeypatch.delenv("GRAPHFLOW_SERVE_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--db", ":memory:"])
    assert result.exit_code == 2 and "--token" in result.output


def test_missing_dependencies_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from graphflow.cli import main
    from graphflow.serve import require_serve_dependencies

    monkeypatch.setitem(sys.modules, "starlette", None)
    with pytest.raises(ImportError, match=r"pip install 'graphflow\[serve\]'"):
        require_serve_dependencies()
    result = CliRunner().invoke(main, ["serve", "--db", ":memory:"])
    assert result.exit_code == 1 and "pip install 'graphflow[serve]'" in result.output


async def test_the_login_redirect_stays_on_this_server(guarded: httpx.AsyncClient) -> None:
    """``//other.host/?token=…`` must not send the browser to another site after setting
    the cookie, and a path with a line break must not break the answer's headers."""
    for path, expected in (("//evil.example/x", "/evil.example/x"), ("/\\evil.example", "/%5Cevil.example"),
                           ("/runs%0d%0aSet-Cookie:%20a=b", "/runs%0D%0ASet-Cookie%3A%20a%3Db")):  # fmt: skip
        url = httpx.URL(BASE.replace("127.0.0.1", "203.0.113.7"))
        login = await guarded.get(url.copy_with(raw_path=f"{path}?token={TOKEN}&tab=2".encode()))
        assert login.status_code == 303, login.text
        assert login.headers["location"] == f"{expected}?tab=2"
        assert "a=b" not in login.headers.get("set-cookie", "")


async def test_passwords_in_endpoint_addresses_are_hidden(client: httpx.AsyncClient, db: Path) -> None:
    """A model endpoint given as http://user:password@host (a trusted graph may) names
    its password in the run's models, its error and its calls: none reaches the API."""
    from graphflow.compiler import compile_spec
    from graphflow.runs import start
    from graphflow.spec import loads_spec

    text = ("graph: pw\nentry: s\nmodels: {model: x, base_url: 'http://app:s3cret-pass@127.0.0.1:9/v1', "
            "max_retries: 0, timeout: 2}\nnodes:\n  s: {kind: agent, system_message: hi}\n")  # fmt: skip
    store = Store(db)
    try:
        result = await start(compile_spec(loads_spec(text, source=None, fmt="yaml")), "x", store=store)
    finally:
        store.close()
    assert result.status == "failed"
    for path in (f"/api/runs/{result.run_id}", f"/api/runs/{result.run_id}/calls", "/api/runs"):
        answer = await client.get(path)
        assert answer.status_code == 200 and "s3cret-pass" not in answer.text, answer.text
    assert "app:[redacted]@127.0.0.1" in (await client.get(f"/api/runs/{result.run_id}")).text
