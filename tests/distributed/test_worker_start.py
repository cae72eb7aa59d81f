"""A worker that cannot open its store says so and exits at start (code 2, the fix named,
no password shown), instead of reporting itself ready and failing every run it takes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_worker_whose_store_cannot_be_opened_exits_at_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    pytest.importorskip("celery")
    pytest.importorskip("psycopg")
    from click.testing import CliRunner

    import graphflow.distributed
    from graphflow.cli import main

    started: list[object] = []
    monkeypatch.setattr(graphflow.distributed, "start_worker",
                        lambda app, **kw: started.append(app))  # fmt: skip
    url = f"postgresql://ann:s3cretPW@127.0.0.1:{closed_port()}/runs"
    got = CliRunner().invoke(main, ["worker", "--db", url, "--broker", "redis://127.0.0.1:1/0"])
    assert not started, "the worker started on a store it cannot open"
    assert got.exit_code == 2, got.output
    assert "Start the server" in got.output and "s3cretPW" not in got.output, got.output
