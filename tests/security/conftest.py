"""Fixtures for the security suite: executors of every kind, hostile inputs.

Executors that cannot run on this machine are skipped with the reason (in CI, where
everything is installed, they fail instead): see ``tests/execution/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from graphflow.execution import LocalExecutor
from graphflow.execution.dockerhost import docker_problem
from graphflow.execution.sandbox import bwrap_problem
from tests.execution.conftest import docker_image, require

__all__ = ["docker_image", "executor", "require"]

EXECUTORS = ("local", "sandbox", "docker")


def make_executor(name: str, request: pytest.FixtureRequest, **options: Any) -> Any:
    """An executor called ``name``, skipped (or failed in CI) when it cannot run here."""
    if name == "local":
        return LocalExecutor(**options)
    if name == "sandbox":
        require(bwrap_problem(), "bubblewrap sandbox")
        from graphflow.execution import SandboxExecutor

        return SandboxExecutor(**options)
    require(docker_problem(), "Docker")
    image = request.getfixturevalue("docker_image")
    from graphflow.execution.container import DockerExecutor

    run_id = f"sec-{request.node.name[:30]}-{os.getpid()}".replace("[", "-").replace("]", "")
    return DockerExecutor(image=image, run_id=run_id, **options)


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Each executor in turn: local, sandbox, docker."""
    ex = make_executor(request.param, request)
    yield ex
    ex.close()
