"""The dev-model-server command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from graphflow.messages import Message
from graphflow.models import ModelClient, ModelConfig
from graphflow.testing.cli import dev_model_server


def test_help_documents_every_option():
    result = CliRunner().invoke(dev_model_server, ["--help"])
    assert result.exit_code == 0
    for option in ("--port", "--script", "--latency", "--host", "--api-key"):
        assert option in result.output


def test_bad_script_is_a_clean_error(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("replies:\n  - {text: no such key}\n")
    result = CliRunner().invoke(dev_model_server, ["--script", str(bad)])
    assert result.exit_code == 1
    assert "unknown reply keys" in result.output and "Traceback" not in result.output


def test_serves_a_script_until_terminated(tmp_path: Path):
    script = tmp_path / "replies.yaml"
    script.write_text("- Served from the command line.\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from graphflow.testing.cli import dev_model_server as c; c()",
            "--port",
            "0",
            "--script",
            str(script),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = process.stdout.readline()
        assert "serving a scripted OpenAI-compatible model at http://127.0.0.1:" in first
        base_url = first.rsplit(" ", 1)[-1].strip()
        client = ModelClient(ModelConfig(model="scripted", base_url=base_url, timeout=5))
        answer = client.complete_sync([Message(role="user", content="hi")], cache_seed=None)
        assert answer.text == "Served from the command line."
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped after 1 requests" in out
