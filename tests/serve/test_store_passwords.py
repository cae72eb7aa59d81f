"""The password of a store or broker address never shows in what ``graphflow serve``
prints or answers: in the user part (even holding an ``@``) or as a ``password=``
parameter; and the redaction marker itself shows (it is not taken for console markup)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphflow.serve.errors import hide_passwords


@pytest.mark.parametrize("text", [
    "cannot reach postgresql://ann:s3cretPW@db/runs",
    "cannot reach postgresql://ann:s3cret@PW9x@db/runs now",
    "postgresql://ann@db/runs?password=s3cretPW",
    "error: postgresql://ann@db/runs?sslmode=require&password=s3cretPW&x=1: boom",
    "redis://:s3cretPW@127.0.0.1:6379/0",
])  # fmt: skip
def test_hide_passwords_hides_every_form(text: str) -> None:
    shown = hide_passwords(text)
    assert "s3cret" not in shown and "PW9x" not in shown and "[redacted]" in shown, shown


def test_the_serve_banner_shows_the_store_without_its_password(postgres_url: str,
                                                               tmp_path: Path) -> None:  # fmt: skip
    url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:s3cretPW@")
    env = {k: v for k, v in os.environ.items() if k not in ("GRAPHFLOW_DB", "GRAPHFLOW_BROKER")}
    server = subprocess.Popen([sys.executable, "-m", "graphflow.cli", "serve", "--db", url,
                               "--port", "0"], cwd=tmp_path, env=env, stderr=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert server.stderr is not None
        deadline, line = time.time() + 30, ""
        while time.time() < deadline and "graphflow serve:" not in line:
            line = server.stderr.readline()
        assert "graphflow serve: runs of" in line, line
        assert "s3cretPW" not in line and "postgres:[redacted]@" in line, line
    finally:
        server.terminate()
        server.wait(10)
