"""Talking to the Docker engine: the lazily imported SDK, availability, images and
the labels that tie a container to a run.

Every container the ``docker`` executor starts carries these labels:

- ``graphflow.executor=docker``
- ``graphflow.run=<run id>`` — a resumed run finds the container of its run;
- ``graphflow.host=<hostname>`` and ``graphflow.pid=<pid>`` — the process that owns it,
  so a container left behind by a crashed process can be recognised and removed.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from graphflow.errors import ExecutorUnavailable

__all__ = [
    "BUILD_HINT",
    "DEFAULT_IMAGE",
    "LABEL",
    "docker_client",
    "docker_problem",
    "ensure_image",
    "owner_labels",
    "process_alive",
    "remove_stale_containers",
]

DEFAULT_IMAGE = "graphflow-python:local"
LABEL = "graphflow.executor"
BUILD_HINT = ("build it without a registry with `bash .ci/docker-image.sh {image}` from the "
              "graphflow source tree, or point GRAPHFLOW_DOCKER_IMAGE (or the node's `image:`) "
              "at an image that has python3")  # fmt: skip


def _sdk() -> Any:
    try:
        import docker
    except ImportError:
        raise ExecutorUnavailable(
            "the docker executor needs the Docker SDK for Python: pip install docker"
        ) from None
    return docker


def docker_client(timeout: float = 30.0) -> Any:
    """A connected ``docker.DockerClient`` (from ``DOCKER_HOST`` or the local socket).

    Raises:
        ExecutorUnavailable: the SDK is missing or no Docker engine answers.
    """
    docker = _sdk()
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except Exception as exc:
        raise ExecutorUnavailable(
            f"no Docker engine answers ({type(exc).__name__}: {exc}); start the Docker "
            "daemon (as root: `dockerd &`, or `bash .ci/services.sh start` in the graphflow "
            "source tree), or choose another executor"
        ) from None
    return client


def docker_problem() -> str | None:
    """Why the docker executor cannot run here, or ``None`` (the image is not checked).

    Example:
        >>> docker_problem() is None or isinstance(docker_problem(), str)
        True
    """
    try:
        docker_client(timeout=5).close()
    except ExecutorUnavailable as exc:
        return str(exc)
    return None


def ensure_image(client: Any, image: str, *, pull: bool = True) -> None:
    """Make sure ``image`` exists locally, pulling it if allowed.

    Raises:
        ExecutorUnavailable: it is missing and cannot be pulled; says how to build it.
    """
    docker = _sdk()
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:
        raise ExecutorUnavailable(f"the Docker engine could not look up image {image!r}: {exc}"
                                  ) from None  # fmt: skip
    reason = "pulling is disabled"
    if pull:
        try:
            client.images.pull(image)
            return
        except Exception as exc:
            reason = f"pulling failed: {str(exc).splitlines()[0][:200]}"
    raise ExecutorUnavailable(
        f"Docker image {image!r} is not available ({reason}); " + BUILD_HINT.format(image=image)
    )


def owner_labels(run_id: str, work_dir: str) -> dict[str, str]:
    """The labels of a container owned by this process for ``run_id``."""
    return {LABEL: "docker", "graphflow.run": run_id, "graphflow.host": socket.gethostname(),
            "graphflow.pid": str(os.getpid()), "graphflow.work_dir": work_dir}  # fmt: skip


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owned_by_dead_process(labels: dict[str, str]) -> bool:
    if labels.get("graphflow.host") != socket.gethostname():
        return False  # another machine's container: its owner cannot be checked from here
    try:
        pid = int(labels.get("graphflow.pid", ""))
    except ValueError:
        return True
    return pid != os.getpid() and not process_alive(pid)


def remove_stale_containers(client: Any, *, run_id: str | None = None) -> list[str]:
    """Remove graphflow containers left behind by crashed processes.

    A container is stale when the process that created it (same host) no longer
    exists, or — with ``run_id`` — when it belongs to that run but to another process
    (only one process may advance a run, so the old one's container is dead weight).

    Returns:
        The ids of the removed containers.

    Example:
        >>> remove_stale_containers(docker_client())  # doctest: +SKIP
        []
    """
    removed: list[str] = []
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=docker"}):
        labels = container.labels or {}
        mine = labels.get("graphflow.pid") == str(os.getpid()) and \
            labels.get("graphflow.host") == socket.gethostname()  # fmt: skip
        same_run = run_id is not None and labels.get("graphflow.run") == run_id
        if _owned_by_dead_process(labels) or (same_run and not mine):
            with contextlib.suppress(Exception):
                container.remove(force=True)
                removed.append(container.id)
    return removed
