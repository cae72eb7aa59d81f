"""The ``code`` node kind: replies, sharing the executor, and journal replay."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from graphflow import Graph
from graphflow.context import RunContext
from graphflow.errors import DefinitionError, ExecutorUnavailable
from graphflow.execution import LocalExecutor, registry
from graphflow.kinds.base import BuildContext, NodeContext
from graphflow.kinds.code import NO_CODE_REPLY, CodeConfig, CodeKind
from graphflow.messages import Message, State, Update


def make_kind(**options: Any) -> CodeKind:
    return CodeKind("run", CodeConfig(**options), BuildContext(graph_name="test"))


class Journal:
    """A dict-backed effect journal, like the scheduler's but in memory."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}

    async def __call__(self, key: str, thunk: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self.entries:
            self.entries[key] = await thunk()
        return self.entries[key]


def context(text: str, run: RunContext, journal: Journal | None = None) -> NodeContext:
    state = State(messages=[Message(role="assistant", name="coder", content=text)])
    return NodeContext("run-1", 3, "run", state, run, effects=journal)


async def test_runs_the_last_messages_code_and_replies_like_autogen(tmp_path: Path) -> None:
    run = RunContext(work_dir=tmp_path / "work")
    update = await make_kind(executor="local").run(
        context("Try this:\n```python\nprint(6 * 7)\n```", run)
    )
    assert isinstance(update, Update)
    (reply,) = update.messages
    assert reply.role == "user" and reply.name == "run" and reply.node == "run"
    assert reply.content == "exitcode: 0 (execution succeeded)\nCode output: 42\n"
    assert update.variables == {"exit_code": 0}
    assert (tmp_path / "work").is_dir()


async def test_failure_sets_the_exit_code(tmp_path: Path) -> None:
    update = await make_kind(executor="local").run(
        context("```python\nraise SystemExit(5)\n```", RunContext(work_dir=tmp_path))
    )
    assert update.variables == {"exit_code": 5}
    assert update.messages[0].content.startswith("exitcode: 5 (execution failed)")


async def test_no_code_blocks_gets_a_helpful_reply(tmp_path: Path) -> None:
    update = await make_kind(executor="local").run(context("Just words.",
                                                           RunContext(work_dir=tmp_path)))  # fmt: skip
    assert update.messages[0].content == NO_CODE_REPLY
    assert update.variables == {"exit_code": None}


async def test_one_executor_per_run_closed_with_the_run(tmp_path: Path) -> None:
    run = RunContext(work_dir=tmp_path)
    kind, other = make_kind(executor="local"), make_kind(executor="local", timeout=5)
    await kind.run(context("```sh\necho 1\n```", run))
    await other.run(context("```sh\necho 2\n```", run))
    executors = [v for k, v in run.services.executors.items() if k.startswith("local:")]
    assert len(executors) == 1 and isinstance(executors[0], LocalExecutor)
    assert run.services.closers == [executors[0].close]


async def test_a_journaled_execution_is_not_run_again(tmp_path: Path) -> None:
    run, journal = RunContext(work_dir=tmp_path), Journal()
    text = "```python\nwith open('runs.txt', 'a') as f:\n    f.write('x')\nprint('ran')\n```"
    first = await make_kind(executor="local").run(context(text, run, journal))
    # The node re-executes after a crash: the journal replays the recorded result.
    again = await make_kind(executor="local").run(context(text, RunContext(work_dir=tmp_path),
                                                          journal))  # fmt: skip
    assert (tmp_path / "runs.txt").read_text() == "x"
    assert first.messages[0].content == again.messages[0].content
    assert list(journal.entries) == [next(iter(journal.entries))]
    assert next(iter(journal.entries)).startswith("code:")


async def test_auto_without_isolation_asks_for_local_explicitly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setitem(registry._PROBES, "sandbox", lambda: "bwrap is not installed")
    monkeypatch.setitem(registry._PROBES, "docker", lambda: "no Docker engine answers")
    with pytest.raises(ExecutorUnavailable, match="--executor local"):
        await make_kind().run(context("```python\nprint(1)\n```", RunContext(work_dir=tmp_path)))


async def test_run_option_overrides_auto(tmp_path: Path) -> None:
    run = RunContext(work_dir=tmp_path, executor="local")
    update = await make_kind().run(context("```python\nprint('x')\n```", run))
    assert update.variables == {"exit_code": 0}
    assert any(k.startswith("local:") for k in run.services.executors)


def test_bad_options_are_definition_errors() -> None:
    graph = Graph("bad", entry="run")
    graph.add_node("run", kind="code", languages=["ruby"], timeout=-1)
    graph.add_node("done", kind="end")
    graph.add_edge("run", "done")
    with pytest.raises(DefinitionError) as info:
        graph.compile()
    assert "ruby" in str(info.value)


def test_code_node_in_a_graph(tmp_path: Path) -> None:
    graph = Graph("coder", entry="writer")
    graph.add_node("writer", lambda state: "```python\nprint('from the graph')\n```")
    graph.add_node("run", kind="code", executor="local", timeout=20)
    graph.add_node("done", kind="end")
    graph.add_edge("writer", "run")
    graph.add_edge("run", "done")
    result = graph.compile().run_sync(work_dir=tmp_path)
    assert result.status == "completed"
    assert result.messages[-1].content == \
        "exitcode: 0 (execution succeeded)\nCode output: from the graph\n"  # fmt: skip


async def test_the_run_option_overrides_a_graphs_explicit_choice_and_warns_when_weaker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    # a machine without bubblewrap (every Mac): the graph asks for the sandbox
    monkeypatch.setitem(registry._PROBES, "sandbox", lambda: "bwrap is not installed")
    with pytest.raises(ExecutorUnavailable, match="pass --executor NAME"):
        await make_kind(executor="sandbox").run(
            context("```python\nprint(1)\n```", RunContext(work_dir=tmp_path)))
    run = RunContext(work_dir=tmp_path, executor="local")
    kind = make_kind(executor="sandbox")
    with caplog.at_level("WARNING", logger="graphflow"):
        update = await kind.run(context("```python\nprint('x')\n```", run))
        await kind.run(context("```python\nprint('y')\n```", run))
    assert update.variables == {"exit_code": 0}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "chose executor 'sandbox'" in warnings[0]
    assert "less isolation" in warnings[0]


def test_an_override_that_keeps_isolation_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    run = RunContext(executor="docker")
    with caplog.at_level("WARNING", logger="graphflow"):
        assert run.executor_for("sandbox", node="n") == "docker"
    assert not caplog.records
