"""Choosing executors by name, and what happens when one is unavailable."""

from __future__ import annotations

import pytest

from graphflow.errors import ExecutionError, ExecutorUnavailable
from graphflow.execution import (
    LocalExecutor,
    SandboxExecutor,
    available,
    available_executors,
    get_executor,
    registry,
    resolve_auto,
    unavailable_reason,
)
from graphflow.execution.sandbox import bwrap_problem, parse_size


@pytest.fixture
def no_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend neither bwrap nor Docker works on this machine."""
    monkeypatch.setitem(registry._PROBES, "sandbox", lambda: "bwrap is not installed")
    monkeypatch.setitem(registry._PROBES, "docker", lambda: "no Docker engine answers")


def test_local_is_always_available() -> None:
    assert available("local") and unavailable_reason("local") is None
    assert "local" in available_executors()
    assert isinstance(get_executor("local"), LocalExecutor)


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ExecutionError, match="choose one of: auto, local, sandbox, docker"):
        get_executor("jupyter")


def test_options_an_executor_does_not_take_are_ignored() -> None:
    executor = get_executor("local", image="ignored", env={"A": "1"}, run_id="r")
    assert isinstance(executor, LocalExecutor) and executor.extra_env == {"A": "1"}


@pytest.mark.usefixtures("no_isolation")
def test_unavailable_executor_names_the_available_ones() -> None:
    with pytest.raises(ExecutorUnavailable) as info:
        get_executor("sandbox")
    message = str(info.value)
    assert "bwrap is not installed" in message and "Available here: local" in message
    assert available_executors() == ["local"]


@pytest.mark.usefixtures("no_isolation")
def test_auto_never_falls_back_to_local() -> None:
    with pytest.raises(ExecutorUnavailable, match="pass `--executor local`"):
        get_executor("auto")
    assert not available("auto")
    assert "Install bubblewrap" in (unavailable_reason("auto") or "")


def test_auto_prefers_the_sandbox_then_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry._PROBES, "sandbox", lambda: None)
    monkeypatch.setitem(registry._PROBES, "docker", lambda: None)
    assert resolve_auto() == "sandbox"
    monkeypatch.setitem(registry._PROBES, "sandbox", lambda: "missing")
    assert resolve_auto() == "docker"


def test_missing_bwrap_is_reported_clearly() -> None:
    problem = bwrap_problem("graphflow-no-such-bwrap")
    assert problem is not None and "apt-get install bubblewrap" in problem
    with pytest.raises(ExecutorUnavailable, match="not installed"):
        SandboxExecutor(bwrap="graphflow-no-such-bwrap")


def test_parse_size() -> None:
    assert parse_size("1g") == 1024**3 and parse_size("64k") == 65536 and parse_size(10) == 10
    assert parse_size("512MiB") == 512 * 1024**2
    with pytest.raises(ExecutionError, match="512m"):
        parse_size("lots")
