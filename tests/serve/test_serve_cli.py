"""``graphflow serve`` at the command line: what it says when it cannot listen, and
the address it prints."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


def test_a_port_in_use_is_a_clear_error_not_a_silent_exit(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from graphflow.cli import main

    monkeypatch.delenv("GRAPHFLOW_SERVE_TOKEN", raising=False)
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = CliRunner().invoke(main, ["serve", "--port", str(port), "--db",
                                           str(tmp_path / "runs.db")])  # fmt: skip
    finally:
        taken.close()
    assert result.exit_code == 2, result.output
    assert f"127.0.0.1:{port}" in result.output and "--port" in result.output
    assert "Ctrl-C stops" not in result.output  # it never said it was serving


def test_the_start_line_keeps_a_hidden_password_visible_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store address in the start-up line shows ``[redacted]``, not an empty password
    (rich took the brackets for markup)."""
    from graphflow.cli import serving

    printed: list[str] = []

    def run_server(db: str, **kwargs: object) -> None:
        kwargs["on_ready"]("127.0.0.1", 8765)  # type: ignore[operator]

    monkeypatch.setattr("graphflow.serve.server.serve", run_server)
    monkeypatch.setattr(serving, "console", lambda stderr=False: _Recorder(printed))
    result = CliRunner().invoke(serving.serve, ["--db", "postgresql://app:s3cret@db/runs"])
    assert result.exit_code == 0, result.output
    assert "postgresql://app:[redacted]@db/runs" in "".join(printed), printed


class _Recorder:
    def __init__(self, out: list[str]) -> None:
        self.out = out

    def print(self, text: str, **kwargs: object) -> None:
        import io

        from rich.console import Console

        buffer = io.StringIO()
        Console(file=buffer, width=300).print(text, **kwargs)  # type: ignore[arg-type]
        self.out.append(buffer.getvalue())
