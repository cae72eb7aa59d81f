"""The tools in nodes/tools: calculator, files, web fetch, clock and JSON query."""

from __future__ import annotations

import asyncio
import math
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from graphflow.bundled.nodes.tools.calculator import calculate
from graphflow.bundled.nodes.tools.clock import current_time
from graphflow.bundled.nodes.tools.files import list_files, read_file, write_file
from graphflow.bundled.nodes.tools.jsonquery import json_query
from graphflow.bundled.nodes.tools.web import ENV_VAR, fetch_url

from graphflow.errors import ToolError
from graphflow.tools import ToolContext, execute_tool_calls, load_tools

from .helpers import call, node_context

# -- calculator ----------------------------------------------------------------------


@pytest.mark.parametrize(("expression", "value"), [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("2 ** 10", 1024), ("7 // 2", 3), ("7 % 4", 3),
    ("-3 + +1", -2), ("sqrt(16) + abs(-2)", 6.0), ("max(1, 5, 3)", 5), ("round(pi, 2)", 3.14),
    ("factorial(5)", 120), ("1 / 4", 0.25), ("  10  ", 10),
])  # fmt: skip
def test_calculator_evaluates(expression: str, value: float) -> None:
    assert calculate(expression) == value


@pytest.mark.parametrize(("expression", "message"), [
    ("__import__('os').system('echo hacked')", "not allowed"),
    ("open('/etc/passwd').read()", "not allowed"),
    ("(1).__class__", "not allowed"),
    ("x + 1", "not allowed"),
    ("'a' * 3", "not allowed"),
    ("[1, 2]", "not allowed"),
    ("9 ** 9 ** 9", "too large"),
    ("factorial(100000)", "limited"),
    ("10 ** 5000", "digits"),
    ("1 +", "not a valid expression"),
    ("1e308 * 10", "not a finite number"),
    ("1" * 3000, "longer than"),
])  # fmt: skip
def test_calculator_refuses(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calculate(expression)


def test_calculator_error_goes_back_to_the_model() -> None:
    out = asyncio.run(execute_tool_calls([call("c", "calculate", {"expression": "1/0"})],
                                         load_tools(["calculate"])))  # fmt: skip
    assert out[0].content == "Error: tool 'calculate' raised ZeroDivisionError: division by zero"
    assert math.isclose(calculate("sin(pi / 2)"), 1.0)


# -- files ---------------------------------------------------------------------------


def test_files_round_trip_inside_the_work_dir(tmp_path: Path) -> None:
    ctx = ToolContext(work_dir=tmp_path)
    assert write_file("notes/a.txt", "hello", ctx) == "wrote 5 bytes to notes/a.txt"
    assert read_file("notes/a.txt", ctx) == "hello"
    assert list_files(".", ctx) == ["notes/", "notes/a.txt"]
    assert list_files("notes", ctx) == ["notes/a.txt"]


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "notes/../../x", "/tmp/x"])
def test_files_refuse_paths_outside_the_work_dir(tmp_path: Path, path: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    ctx = ToolContext(work_dir=work)
    with pytest.raises(ToolError, match="outside the work dir"):
        read_file(path, ctx)
    with pytest.raises(ToolError, match="outside the work dir"):
        write_file(path, "x", ctx)
    assert not (tmp_path / "outside.txt").exists()


def test_files_refuse_symlinks_that_leave(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", work / "link.txt")
    os.symlink(tmp_path, work / "up")
    ctx = ToolContext(work_dir=work)
    with pytest.raises(ToolError, match="outside"):
        read_file("link.txt", ctx)
    with pytest.raises(ToolError, match="outside"):
        write_file("up/new.txt", "x", ctx)
    assert "link.txt" not in list_files(".", ctx)


def test_files_errors_and_limits(tmp_path: Path) -> None:
    ctx = ToolContext(work_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="list_files"):
        read_file("missing.txt", ctx)
    (tmp_path / "big.txt").write_text("y" * 150_000)
    assert read_file("big.txt", ctx).endswith(
        "[truncated: the file has 150000 bytes, 100000 shown]"
    )
    with pytest.raises(PermissionError, match="work dir"):
        read_file("big.txt")
    with pytest.raises(ToolError, match="no"):
        read_file("x", ToolContext())


async def test_file_tools_get_the_run_work_dir_from_the_tool_node(tmp_path: Path) -> None:
    tools = load_tools(["files"])
    ctx = node_context(tmp_path)
    await execute_tool_calls(
        [call("w", "write_file", {"path": "a.md", "content": "# hi"})], tools, ctx
    )
    (listing,) = await execute_tool_calls([call("l", "list_files", {})], tools, ctx)
    assert listing.content == '["a.md"]' and (tmp_path / "a.md").read_text() == "# hi"
    (escape,) = await execute_tool_calls([call("e", "read_file", {"path": "../../etc/passwd"})],
                                         tools, ctx)  # fmt: skip
    assert escape.content.startswith("Error: tool 'read_file' raised ToolError: path")


# -- web -----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/redirect-out":
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.invalid/")
            self.end_headers()
            return
        body = b"<h1>hello</h1>" + b"z" * 5000
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_fetch_is_off_by_default(web_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(PermissionError, match="allow_http"):
        await fetch_url(web_server, ctx=ToolContext())
    (out,) = await execute_tool_calls([call("f", "fetch_url", {"url": web_server})],
                                      load_tools(["fetch_url"]))  # fmt: skip
    assert out.content.startswith(
        "Error: tool 'fetch_url' raised PermissionError: web access is turned off"
    )


async def test_fetch_allowed_by_option_or_environment(web_server: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv(ENV_VAR, raising=False)
    text = await fetch_url(web_server, max_bytes=100, ctx=ToolContext(options={"allow_http": True}))
    assert text.startswith("HTTP 200 text/html") and "<h1>hello</h1>" in text
    assert text.endswith("[truncated]") and len(text) < 200
    monkeypatch.setenv(ENV_VAR, "1")
    assert "hello" in await fetch_url(web_server, ctx=ToolContext())
    # The node's option wins over the environment.
    with pytest.raises(PermissionError):
        await fetch_url(web_server, ctx=ToolContext(options={"allow_http": False}))


async def test_fetch_host_allow_list_and_redirects(web_server: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv(ENV_VAR, "127.0.0.1,example.org")
    assert "hello" in await fetch_url(web_server)
    with pytest.raises(PermissionError, match="not among the allowed hosts"):
        await fetch_url("http://localhost:1/")
    with pytest.raises(PermissionError, match=r"elsewhere\.invalid"):
        await fetch_url(web_server + "/redirect-out")
    with pytest.raises(ValueError, match="not an http"):
        await fetch_url("file:///etc/passwd")


# -- clock and json ------------------------------------------------------------------


def test_current_time() -> None:
    assert re.match(r"^\w+day \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", current_time())
    assert re.search(r"[+-]\d\d:\d\d$", current_time("Asia/Tokyo"))
    with pytest.raises(ValueError, match="unknown time zone"):
        current_time("Mars/Olympus")


def test_json_query() -> None:
    doc = '{"items": [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}], "odd key": {"x": null}}'
    assert json_query(doc, "items[*].id") == [1, 2]
    assert json_query(doc, "items[0].tags[0]") == "a"
    assert json_query(doc, '["odd key"].x') is None
    assert json_query(doc, "items[-1].id") == 2
    assert json_query(doc, "")["items"][0]["id"] == 1
    with pytest.raises(ValueError, match="no key 'nope'"):
        json_query(doc, "items[0].nope")
    with pytest.raises(ValueError, match="out of range"):
        json_query(doc, "items[5]")
    with pytest.raises(ValueError, match="not valid JSON"):
        json_query("{", "a")
    with pytest.raises(ValueError, match="cannot read the path"):
        json_query(doc, "items[0](")
