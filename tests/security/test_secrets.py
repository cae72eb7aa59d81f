"""Keys stay out of what graphflow stores and prints.

The case found: an endpoint answers 401 with a body that echoes the key (as OpenAI's
does: "Incorrect API key provided: sk-…"). The error was stored verbatim in the run and
printed by ``graphflow show``. Here a local endpoint echoes the request's key; the run
fails, and the key must be absent from the database file, ``show`` (text and JSON), the
event stream and the HTML report.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphflow import Graph, Store
from graphflow.cli import main
from graphflow.errors import ExecutionError
from graphflow.secrets import redact

# Not key-shaped on purpose: only knowing the configured key can catch it.
KEY = "Zq3-leaky-value-7781-configured"
SHAPED = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"


class EchoKey(BaseHTTPRequestHandler):
    """Answers every request 401, echoing the bearer token like OpenAI does."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}. You can "
                                                "find your API key at https://example.invalid.",
                                     "type": "invalid_request_error", "code": "invalid_api_key"}})  # fmt: skip
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoKey)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_401_echoing_the_key_is_not_stored_or_shown(tmp_path: Path, echo_endpoint: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    graph = tmp_path / "ask.yaml"
    graph.write_text(f"""graph: ask
entry: ask
models: {{model: gpt-test, base_url: "{echo_endpoint}"}}
nodes:
  ask: {{kind: agent, system_message: Answer briefly.}}
  done: {{kind: end}}
edges:
  - {{from: ask, to: done}}
""")
    db = tmp_path / "runs.db"
    runner = CliRunner()
    ran = runner.invoke(main, ["run", str(graph), "--input", "hi", "--db", str(db),
                               "--run-id", "leak", "--events", "jsonl"])  # fmt: skip
    assert ran.exit_code == 1, ran.output
    assert "Incorrect API key provided" in ran.output, "the endpoint was not reached"
    shown = runner.invoke(main, ["show", "leak", "--db", str(db)])
    as_json = runner.invoke(main, ["show", "leak", "--db", str(db), "--json"])
    assert "[redacted]" in shown.output and "[redacted]" in as_json.output
    report = tmp_path / "report.html"
    runner.invoke(main, ["report", "leak", "--db", str(db), "-o", str(report)])
    stored = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("runs.db*"))
    for where, text in [("run output and events", ran.output), ("show", shown.output),
                        ("show --json", as_json.output),
                        ("report", report.read_text() if report.exists() else "")]:  # fmt: skip
        assert KEY not in text, where
    assert KEY.encode() not in stored, "the key is in the run database"


def test_a_key_shaped_string_in_a_node_error_is_redacted(tmp_path: Path) -> None:
    """No configured key needed: a string shaped like a key is redacted on its own."""

    def call_api(state: object) -> str:
        raise RuntimeError(f"Error code: 401 - {{'error': {{'message': 'Incorrect API key "
                           f"provided: {SHAPED}', 'code': 'invalid_api_key'}}}}")  # fmt: skip

    g = Graph("shaped", entry="call")
    g.add_node("call", call_api)
    events: list[object] = []
    store = Store(str(tmp_path / "runs.db"))
    result = g.compile().run_sync(store=store, on_event=events.append)
    assert result.status == "failed"
    record = store.get_run(result.run_id)
    assert SHAPED not in (record.error or "") and "[redacted]" in (record.error or "")
    assert SHAPED not in (result.error or "")
    assert not [e for e in events if SHAPED in repr(e)]


@pytest.mark.parametrize("text", [
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc",
    "token ghp_0123456789abcdefghijABCDEFGHIJ0123 leaked",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "slack xoxb-123456789012-abcdefghijkl",
    "aws AKIAABCDEFGHIJKLMNOP",
    '{"api_key": "plain-but-assigned-123"}',
])  # fmt: skip
def test_key_shapes_are_redacted(text: str) -> None:
    out = redact(text)
    assert "[redacted]" in out
    assert not any(part in out for part in ("eyJhbGci", "ghp_0123", "github_pat_11",
                                            "xoxb-1234", "AKIAABCD", "plain-but"))  # fmt: skip


def test_config_list_keys_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = tmp_path / "OAI_CONFIG_LIST"
    listed.write_text(json.dumps([{"model": "m", "api_key": "listed-key-value-99"}]))
    monkeypatch.setenv("OAI_CONFIG_LIST", str(listed))
    assert redact("rejected listed-key-value-99") == "rejected [redacted]"
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps([{"model": "m", "api_key": "inline-key-77"}]))
    assert redact("rejected inline-key-77!") == "rejected [redacted]!"


def test_ordinary_text_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHFLOW_SECRET_PATH", "/usr/local/bin")  # a path, not a secret
    text = "Graphs make agent conversations easier to debug; see /usr/local/bin and tokens."
    assert redact(text) == text


def test_a_key_variable_a_model_config_names_is_redacted_and_never_passed(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The variable is named nothing like a secret, so only the config that names it tells."""
    from graphflow.execution.env import check_pass_env
    from graphflow.models import ModelConfig

    monkeypatch.setenv("TEAM_LLM_ACCESS", "plain-looking-credential-4412")
    assert redact("echo plain-looking-credential-4412") == "echo plain-looking-credential-4412"
    ModelConfig(model="m", base_url="http://127.0.0.1:9/v1", api_key_env="TEAM_LLM_ACCESS")
    assert redact("echo plain-looking-credential-4412") == "echo [redacted]"
    with pytest.raises(ExecutionError, match="TEAM_LLM_ACCESS"):
        check_pass_env(["TEAM_LLM_ACCESS"])


def test_a_literal_key_of_a_model_config_is_redacted() -> None:
    from graphflow.models import ModelConfig

    ModelConfig(model="m", base_url="http://127.0.0.1:9/v1", api_key="literal-key-value-5567")
    assert redact("rejected literal-key-value-5567") == "rejected [redacted]"
