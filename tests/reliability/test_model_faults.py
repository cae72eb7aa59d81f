"""Model faults, through the loopback OpenAI-compatible server and the real ``openai``
client: 429 storms, 500s, timeouts, truncated and malformed answers, empty choices,
dropped connections, and a model that calls a tool that does not exist.

A run with an agent either completes (a retry on the same endpoint, or the fallback
config) or stops with status ``failed`` and an error that names each model and its base
URL — and stays resumable: once the fault is gone, ``resume`` completes it with the
transcript an undisturbed run has, without repeating committed tool calls.

More random fault storms on demand::

    GRAPHFLOW_FAULT_SCENARIOS=200 pytest -s tests/reliability/test_model_faults.py
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from graphflow import Graph, RunResult, Store
from graphflow.context import RunContext
from graphflow.models import ModelClient, ModelSet, ScriptRequest
from graphflow.testing import FAST_RETRY, Fault, ModelServer, server_config

SCENARIOS = int(os.environ.get("GRAPHFLOW_FAULT_SCENARIOS", "6"))
SEED = int(os.environ.get("GRAPHFLOW_FAULT_SEED", "11"))
TASK = "Record apples and pears."

#: One of each fault the server can inject that a request can meet.
FAULTS = ["429", "500:overloaded", "503", "timeout:2", "truncate", "malformed", "empty",
          "disconnect"]  # fmt: skip


@dataclass
class Model:
    """The scripted model behind the server: answers from the conversation alone (so a
    resumed run gets the same answers), counts tool executions, and can be told to fail
    every request made after the first tool results (a fault in the middle of a run)."""

    fault: Fault | None = None
    recorded: list[str] = field(default_factory=list)

    def answer(self, request: ScriptRequest) -> Any:
        results = [m for m in request.messages if m.get("role") == "tool"]
        if results and self.fault is not None:
            return self.fault
        if not results:
            return {"tool_calls": [
                {"id": "t1", "name": "record", "arguments": {"item": "apples"}},
                {"id": "t2", "name": "teleport", "arguments": {"to": "the moon"}}]}  # fmt: skip
        if len(results) == 2:
            return {"tool_calls": [{"id": "t3", "name": "record", "arguments": {"item": "pears"}}]}
        return "Recorded apples and pears. TERMINATE"

    def record(self, item: str) -> str:
        """Record an item in the ledger.

        Args:
            item: what to record.
        """
        self.recorded.append(item)
        return f"recorded {item}"


def build(model: Model, *, stream: bool = False) -> Any:
    g = Graph("faulty", entry="clerk")
    g.add_node("clerk", kind="agent", system_message="Record every item with the record tool.",
               tools=[model.record], stream=stream)  # fmt: skip
    g.add_node("ledger", kind="tool", tools=[model.record])
    g.add_node("done", kind="end")
    g.add_edge("clerk", "ledger", when="last.tool_calls")
    g.add_edge("clerk", "done", otherwise=True)
    g.add_edge("ledger", "clerk")
    return g.compile()


def models(server: ModelServer, *, fallback: bool = True, timeout: float = 0.3) -> ModelSet:
    """Primary and backup on the server, millisecond backoff, two retries each."""
    configs = [server_config(server, "primary", timeout=timeout)]
    if fallback:
        configs.append(server_config(server, "backup", timeout=timeout))
    return ModelSet({"default": ModelClient(configs, retry=FAST_RETRY, cache_seed=None)})


async def go(graph: Any, store: Store, server: ModelServer, *, run_id: str | None = None,
             fallback: bool = True) -> RunResult:  # fmt: skip
    """Run (or, with ``run_id``, resume) ``graph``, closing its model clients after."""
    context = RunContext.with_models(models(server, fallback=fallback))
    try:
        if run_id is not None:
            return await graph.resume(run_id, store=store, context=context)
        return await graph.run(TASK, store=store, context=context)
    finally:
        await context.services.aclose()


def said(result: RunResult) -> list[tuple[Any, ...]]:
    return [(m.node, m.role, m.content, m.tool_call_id,
             [c["id"] for c in m.tool_calls or ()]) for m in result.messages]  # fmt: skip


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[Model, ModelServer, Store, list[tuple[Any, ...]]]]:
    """A model, its server, a store, and the transcript of an undisturbed run."""
    model = Model()
    with ModelServer(script=model.answer) as server:
        store = Store(tmp_path / "runs.db")
        clean = asyncio.run(go(build(model), store, server))
        assert clean.status == "completed", clean.error
        model.recorded.clear()
        server.reset()
        yield model, server, store, said(clean)
        store.close()


Rig = tuple[Model, ModelServer, Store, list[tuple[Any, ...]]]


async def test_a_tool_the_model_invented_is_answered_with_an_error_not_a_crash(
    rig: Rig,
) -> None:
    model, server, store, expected = rig
    result = await go(build(model), store, server)
    assert result.status == "completed" and said(result) == expected
    teleport = next(m for m in result.messages if m.tool_call_id == "t2")
    assert teleport.content == "Error: unknown tool 'teleport'. Available tools: record."
    assert model.recorded == ["apples", "pears"] and server.requests_for("backup") == 0


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fault", FAULTS)
async def test_one_fault_is_absorbed_by_a_retry(rig: Rig, fault: str, stream: bool) -> None:
    model, server, store, expected = rig
    server.inject(fault)
    result = await go(build(model, stream=stream), store, server)
    assert result.status == "completed", result.error
    assert said(result) == expected
    assert server.requests_for("primary") == 4 and server.requests_for("backup") == 0


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_failing_endpoint_falls_back_to_the_next_config(rig: Rig, fault: str) -> None:
    model, server, store, expected = rig
    server.fail_always(fault, model="primary")
    result = await go(build(model), store, server)
    assert result.status == "completed", result.error
    assert said(result) == expected
    assert server.requests_for("backup") == 3 and model.recorded == ["apples", "pears"]


@pytest.mark.parametrize("fault", FAULTS)
async def test_when_every_endpoint_fails_the_run_fails_clearly_and_resumes(
    rig: Rig, fault: str
) -> None:
    model, server, store, expected = rig
    model.fault = Fault.parse(fault)
    graph = build(model)
    failed = await go(graph, store, server)
    assert failed.status == "failed" and failed.reason == "error in node 'clerk'"
    assert failed.error is not None and "Traceback" not in failed.error
    for name in ("primary", "backup"):
        assert f"{name} at {server.base_url}" in failed.error, failed.error
    record = store.get_run(failed.run_id)
    assert record.status == "failed" and record.last_step == 1, "committed steps are kept"
    assert len(store.load_messages(failed.run_id)) == 4  # the task, a call, two results

    model.fault = None
    done = await go(graph, store, server, run_id=failed.run_id)
    assert done.status == "completed", done.error
    assert said(done) == expected
    assert model.recorded == ["apples", "pears"], "a committed tool call ran again"


def storm(rng: random.Random) -> list[str]:
    """A random burst of faults, mostly rate limits."""
    kinds = ["429"] * 6 + ["500:overloaded", "503", "timeout:2", "truncate", "malformed",
                           "empty", "disconnect"]  # fmt: skip
    return [rng.choice(kinds) for _ in range(rng.randint(0, 16))]


async def test_random_fault_storms_end_completed_or_failed_then_resume(
    tmp_path: Path, rig: Rig
) -> None:
    model, server, _store, expected = rig
    rng = random.Random(SEED)
    failures = resumes = injected = 0
    for scenario in range(SCENARIOS):
        store = Store(tmp_path / f"storm{scenario}.db")
        server.reset()
        model.recorded.clear()
        faults = storm(rng)
        injected += len(faults)
        server.inject(*faults)
        fallback = rng.random() < 0.7
        graph = build(model, stream=rng.random() < 0.5)
        result = await go(graph, store, server, fallback=fallback)
        while result.status == "failed":
            failures += 1
            assert result.error and f"primary at {server.base_url}" in result.error
            assert not fallback or f"backup at {server.base_url}" in result.error
            assert resumes < 10 * SCENARIOS, "the run never completes"
            resumes += 1
            result = await go(graph, store, server, run_id=result.run_id, fallback=fallback)
        assert result.status == "completed", result.error
        assert said(result) == expected, f"scenario {scenario}: {faults}"
        assert model.recorded == ["apples", "pears"], f"scenario {scenario}: {model.recorded}"
        store.close()
    print(
        f"\n{SCENARIOS} fault storms, {injected} faults injected, {failures} runs failed "
        f"cleanly, {resumes} resumes; every run completed with the undisturbed transcript"
    )


def gf(*args: str, cwd: Path) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


GRAPH_FILE = """
graph: cli_faults
entry: writer
models:
  - {model: primary, base_url: "%(url)s", max_retries: 0, timeout: 5}
  - {model: backup, base_url: "%(url)s", max_retries: 0, timeout: 5}
nodes:
  writer: {kind: agent, system_message: Answer in one line.}
  done: {kind: end}
edges:
  - {from: writer, to: done}
"""


def test_the_command_line_reports_a_failed_model_and_resumes_once_it_is_back(
    tmp_path: Path,
) -> None:
    with ModelServer(script=lambda request: "Back in business.") as server:
        (tmp_path / "g.yaml").write_text(GRAPH_FILE % {"url": server.base_url})
        db = str(tmp_path / "runs.db")
        server.fail_always("503")
        first = gf("run", "g.yaml", "-i", "Hello?", "--db", db, "--run-id", "r", cwd=tmp_path)
        assert first.returncode == 1, first.stderr
        out = first.stdout + first.stderr
        assert "Traceback" not in out and "failed" in out
        for name in ("primary", "backup"):
            assert f"{name} at {server.base_url}: HTTP 503" in out, out
        server.fail_always(None)
        again = gf("resume", "r", "--db", db, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert "Back in business." in again.stdout
    store = Store(db)
    assert store.get_run("r").status == "completed"
    assert [m.content for m in store.load_messages("r")] == ["Hello?", "Back in business."]
    store.close()
