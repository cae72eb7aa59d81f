"""Choosing an executor by name: ``local``, ``sandbox``, ``docker`` or ``auto``.

``auto`` picks the safest executor that works here: ``sandbox`` when bubblewrap works
(Linux), else ``docker`` when a Docker engine answers (Linux, macOS and Windows with
Docker Desktop; its image is checked when the executor is created, with a hint on how to
build it). It never falls back to ``local``: running model-written code unsandboxed must
be asked for by name — ``--executor local`` on the command line, ``RunContext(executor=
"local")`` in Python — and the refusal says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphflow.errors import ExecutionError, ExecutorUnavailable
from graphflow.execution.base import CodeExecutor

__all__ = ["EXECUTOR_NAMES", "ISOLATION", "available", "available_executors", "get_executor",
           "resolve_auto", "unavailable_reason", "weakens_isolation"]  # fmt: skip

EXECUTOR_NAMES = ("local", "sandbox", "docker")
#: How isolated code is under each executor (``auto`` is never ``local``).
ISOLATION = {"local": 0, "sandbox": 2, "docker": 2, "auto": 2}
_OVERRIDE = ("pass --executor NAME (graphflow run/resume) or RunContext(executor=NAME) to "
             "choose another for this run")  # fmt: skip


def weakens_isolation(chosen: str, override: str) -> bool:
    """Whether running code under ``override`` instead of ``chosen`` isolates it less.

    Example:
        >>> weakens_isolation("sandbox", "local"), weakens_isolation("sandbox", "docker")
        (True, False)
    """
    return ISOLATION.get(override, 0) < ISOLATION.get(chosen, 0)


def _local_problem() -> str | None:
    return None


def _sandbox_problem() -> str | None:
    from graphflow.execution.sandbox import bwrap_problem

    return bwrap_problem()


def _docker_problem() -> str | None:
    from graphflow.execution.dockerhost import docker_problem

    return docker_problem()


_PROBES: dict[str, Callable[[], str | None]] = {
    "local": _local_problem,
    "sandbox": _sandbox_problem,
    "docker": _docker_problem,
}


def _check_name(name: str) -> None:
    if name not in _PROBES and name != "auto":
        raise ExecutionError(
            f"unknown executor {name!r}; choose one of: auto, {', '.join(EXECUTOR_NAMES)}"
        )


def unavailable_reason(name: str) -> str | None:
    """Why executor ``name`` cannot run here, or ``None`` when it can.

    Example:
        >>> unavailable_reason("local") is None
        True
    """
    _check_name(name)
    if name == "auto":
        try:
            resolve_auto()
        except ExecutorUnavailable as exc:
            return str(exc)
        return None
    return _PROBES[name]()


def available(name: str) -> bool:
    """Whether executor ``name`` can run on this machine.

    Example:
        >>> available("local")
        True
    """
    return unavailable_reason(name) is None


def available_executors() -> list[str]:
    """The names of the executors that work here, safest first.

    Example:
        >>> "local" in available_executors()
        True
    """
    return [name for name in ("sandbox", "docker", "local") if available(name)]


def resolve_auto() -> str:
    """The executor ``auto`` stands for here: ``sandbox``, else ``docker``.

    Raises:
        ExecutorUnavailable: neither works; says how to install one, or to choose
            ``local`` explicitly.
    """
    reasons = {}
    for name in ("sandbox", "docker"):
        problem = _PROBES[name]()
        if problem is None:
            return name
        reasons[name] = problem
    raise ExecutorUnavailable(
        "no isolated code executor works here (sandbox: "
        + reasons["sandbox"]
        + "; docker: "
        + reasons["docker"]
        + "). Install bubblewrap (Linux: apt-get install bubblewrap) or start a Docker "
        "engine (macOS, Windows: Docker Desktop), or, if running the code unsandboxed on "
        "this machine is acceptable, pass `--executor local` (graphflow run/resume; "
        "RunContext(executor=\"local\") in Python)"
    )


def get_executor(name: str = "auto", **options: Any) -> CodeExecutor:
    """Create the executor called ``name`` with its ``options``.

    Args:
        name: ``local``, ``sandbox``, ``docker`` or ``auto`` (see the module docstring).
        **options: passed to the executor's constructor (``memory``, ``image``,
            ``run_id``, ``env`` …); options an executor does not take are ignored.

    Raises:
        ExecutionError: the name is unknown.
        ExecutorUnavailable: the executor cannot run here; names those that can.

    Example:
        >>> get_executor("local").name
        'local'
    """
    _check_name(name)
    if name == "auto":
        name = resolve_auto()
    problem = _PROBES[name]()
    if problem is not None:
        others = [n for n in available_executors() if n != name]
        raise ExecutorUnavailable(
            f"executor {name!r} is unavailable: {problem}. Available here: "
            + (", ".join(others) if others else "none") + f"; {_OVERRIDE}"
        )
    cls = _executor_class(name)
    accepted = _accepted_options(cls)
    executor: CodeExecutor = cls(
        **{k: v for k, v in options.items() if k in accepted and v is not None}
    )
    return executor


def _executor_class(name: str) -> Any:
    if name == "local":
        from graphflow.execution.local import LocalExecutor

        return LocalExecutor
    if name == "sandbox":
        from graphflow.execution.sandbox import SandboxExecutor

        return SandboxExecutor
    from graphflow.execution.container import DockerExecutor

    return DockerExecutor


def _accepted_options(cls: Any) -> set[str]:
    import inspect

    return set(inspect.signature(cls.__init__).parameters) - {"self"}
