"""A Redis server for tests of distributed execution: the one CI names, or one started
here on a free loopback port.

- ``GRAPHFLOW_TEST_REDIS`` (``redis://127.0.0.1:PORT/0``) names a running server: tests
  use it;
- else :class:`RedisServer` starts ``redis-server`` in a temporary directory on a free
  port of 127.0.0.1 (append-only file on, so that a restart keeps the queue), for the
  test session;
- else the tests that need Redis skip, saying why (in CI, ``GRAPHFLOW_CI=1``, they
  fail: CI installs ``redis-server``).

The pytest fixture :func:`redis_url` does this once per session; import it into a
``conftest.py`` (``from graphflow.testing.redis import redis_url``). Tests that stop and
restart the broker start a :class:`RedisServer` of their own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["ENV", "RedisServer", "redis_server_path", "redis_url"]

#: The variable naming a running Redis server for tests.
ENV = "GRAPHFLOW_TEST_REDIS"


def redis_server_path() -> str | None:
    """The ``redis-server`` program, or ``None`` when it is not installed."""
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.path.exists(p)),
        None)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` on 127.0.0.1 in its own directory, started, killed and restarted
    on the same port.

    Args:
        folder: where its append-only file lives (default: a new temporary directory).
        port: the port (default: a free one).

    Raises:
        FileNotFoundError: ``redis-server`` is not installed.
    """

    def __init__(self, folder: str | Path | None = None, port: int | None = None) -> None:
        program = redis_server_path()
        if program is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install "
                                    "redis-server)")  # fmt: skip
        self.program = program
        self.folder = Path(folder or tempfile.mkdtemp(prefix="graphflow-redis-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait until it answers PING."""
        self.proc = subprocess.Popen(
            [self.program, "--bind", "127.0.0.1", "--port", str(self.port), "--dir",
             str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def ping(self) -> bool:
        """Whether the server answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server (a broker crash) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        """Start it again on the same port, with the data of its append-only file."""
        self.kill()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its directory."""
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a Redis server for the session (see the module docs); skips the test
    when there is none."""
    named = os.environ.get(ENV)
    if named:
        yield named
        return
    try:
        server = RedisServer().start()
    except (FileNotFoundError, RuntimeError) as exc:
        reason = (f"no Redis for distributed tests: set {ENV}=redis://HOST:PORT/0 or install "
                  f"redis-server ({exc})")  # fmt: skip
        if os.environ.get("GRAPHFLOW_CI") == "1":  # CI installs it: missing is a failure
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)
    try:
        yield server.url
    finally:
        with contextlib.suppress(Exception):
            server.close()
