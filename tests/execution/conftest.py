"""Fixtures for the executor tests.

Tests that need bubblewrap or a Docker engine skip, with the reason, on machines that
lack them — except in CI (``GRAPHFLOW_CI=1``), where a missing requirement fails the
test: CI installs and starts everything (``.ci/services.sh start``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphflow.execution.dockerhost import DEFAULT_IMAGE, docker_problem
from graphflow.execution.sandbox import bwrap_problem

IN_CI = os.environ.get("GRAPHFLOW_CI") == "1"
REPO = Path(__file__).resolve().parents[2]


def require(problem: str | None, what: str) -> None:
    """Skip (or, in CI, fail) when ``problem`` says a requirement is missing."""
    if problem is None:
        return
    message = f"{what} unavailable: {problem}"
    if IN_CI:
        pytest.fail(f"required in CI (GRAPHFLOW_CI=1): {message}")
    pytest.skip(message)


@pytest.fixture
def needs_bwrap() -> None:
    """The test needs a working bubblewrap sandbox."""
    require(bwrap_problem(), "bubblewrap sandbox")


@pytest.fixture(scope="session")
def docker_image() -> str:
    """A Docker engine that answers and the executor's image (built offline if missing)."""
    problem = docker_problem()
    image = os.environ.get("GRAPHFLOW_DOCKER_IMAGE", DEFAULT_IMAGE)
    if problem is None:
        import docker

        client = docker.from_env()
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            build = subprocess.run(["bash", str(REPO / ".ci" / "docker-image.sh"), image],
                                   capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
            if build.returncode != 0:
                problem = f"image {image} is missing and building it failed: {build.stderr[-500:]}"
        finally:
            client.close()
    require(problem, "Docker")
    return image


@pytest.fixture
def listening_port() -> Iterator[tuple[int, list[Any]]]:
    """A TCP server on 127.0.0.1 of the test's machine; the list collects connections."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted: list[Any] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except OSError:
                continue
            accepted.append(addr)
            conn.sendall(b"hello from the host\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    server.close()


@pytest.fixture
def host_tmp_secret() -> Iterator[Path]:
    """A file in the host's /tmp that sandboxed code must not see."""
    path = Path("/tmp") / f"graphflow-secret-{os.getpid()}-{threading.get_ident()}.txt"
    path.write_text("host secret")
    yield path
    path.unlink(missing_ok=True)
