"""Log records under graphflow.* from every layer; event listeners that raise are logged
and never fail a run; sync function nodes run off the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import pytest

from graphflow import Graph, Store, events
from graphflow.context import RunContext
from graphflow.models import ModelConfig
from graphflow.report import write_report


def test_a_run_logs_from_every_layer_at_debug(caplog, model_server, tmp_path: Path) -> None:
    server = model_server(["```python\nprint(6 * 7)\n```"])
    g = Graph("logged", entry="write")
    g.add_node("write", kind="agent", is_termination_msg=None)
    g.add_node("run", kind="code", executor="local")
    g.add_node("count", "nodes.tools.text:word_count", args={"text": "last.content"})
    g.add_edge("write", "run")
    g.add_edge("run", "count")
    caplog.set_level(logging.DEBUG, logger="graphflow")
    with Store(tmp_path / "runs.db") as store:
        config = ModelConfig(model="m", base_url=server.base_url)
        result = g.compile().run_sync("go", store=store, work_dir=tmp_path,
                                      context=RunContext.with_models(config))  # fmt: skip
        assert result.status == "completed", result.error
        write_report(store, result.run_id, tmp_path / "r.html", graph=g.compile())
    names = {r.name for r in caplog.records}
    for layer in ("graphflow.scheduler", "graphflow.agents.modelcalls", "graphflow.models.client",
                  "graphflow.execution.base", "graphflow.kinds.builtin", "graphflow.compiler",
                  "graphflow.store.sqlite.steps", "graphflow.imports", "graphflow.report.write"):
        assert layer in names, (layer, sorted(names))
    started = [r.getMessage() for r in caplog.records if r.name == "graphflow.scheduler"]
    assert f"run {result.run_id} of graph 'logged' started at step 0" in started
    assert any(m.startswith(f"run {result.run_id} completed after 3 steps") for m in started)
    chosen = [r.getMessage() for r in caplog.records if r.name == "graphflow.agents.modelcalls"]
    assert any(f"m at {server.base_url}" in m for m in chosen)


def test_a_listener_that_raises_is_logged_and_the_run_completes(caplog) -> None:
    g = Graph("listened", entry="a")
    g.add_node("a", lambda state: "hi")
    g.add_node("b", lambda state: "there")
    g.add_edge("a", "b")
    seen: list[str] = []

    def listener(event: events.Event) -> None:
        seen.append(event.type)
        raise RuntimeError("bug in the listener")

    with caplog.at_level(logging.DEBUG, logger="graphflow.events"):
        result = g.compile().run_sync("go", on_event=listener)
    assert result.status == "completed" and result.error is None
    assert "finished" in seen  # it kept being called
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "bug in the listener" in errors[0].getMessage()
    assert errors[0].exc_info is not None  # its traceback, once


def test_a_streaming_listener_that_raises_does_not_fail_the_model_call(caplog) -> None:
    g = Graph("streamed", entry="a")
    g.add_node("a", kind="agent", stream=True, is_termination_msg=None)
    g.models = {"scripted": ["one two three"]}

    def listener(event: events.Event) -> None:
        if isinstance(event, events.TokenEvent):
            raise ValueError("cannot print")

    result = g.compile().run_sync("go", on_event=listener)
    assert result.status == "completed" and result.last.content == "one two three"


def test_sync_function_nodes_run_off_the_event_loop() -> None:
    g = Graph("parallel", entry="start")
    g.add_node("start", lambda state: None)
    threads: dict[str, str] = {}

    def slow(name: str):
        def body(state):
            threads[name] = threading.current_thread().name
            time.sleep(0.4)
            return name
        return body

    g.add_node("a", slow("a"))
    g.add_node("b", slow("b"))
    g.add_edge("start", "a")
    g.add_edge("start", "b")

    async def main() -> tuple[float, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        began = time.perf_counter()
        await g.compile().run()
        task.cancel()
        return time.perf_counter() - began, ticks

    seconds, ticks = asyncio.run(main())
    assert seconds < 0.75  # the two sleeps overlapped
    assert ticks >= 10  # the loop kept serving other work meanwhile
    assert threads["a"] != threading.current_thread().name


def test_thread_false_runs_a_function_on_the_loop() -> None:
    g = Graph("on-loop", entry="a")
    names: list[str] = []
    g.add_node("a", lambda state: names.append(threading.current_thread().name), thread=False)
    g.compile().run_sync()
    assert names == [threading.current_thread().name]


@pytest.mark.parametrize("record_calls", [True, False])
def test_each_model_call_is_kept_with_the_run_unless_turned_off(tmp_path, record_calls) -> None:
    g = Graph("kept", entry="a")
    g.add_node("a", kind="agent", system_message="Be brief.", is_termination_msg=None)
    g.add_node("b", kind="agent", is_termination_msg=None)
    g.add_edge("a", "b")
    g.models = {"scripted": ["first answer", "second answer"]}
    with Store(tmp_path / "runs.db") as store:
        context = RunContext(record_calls=record_calls)
        result = g.compile().run_sync("hello", store=store, context=context)
        calls = store.model_calls(result.run_id)
    if not record_calls:
        assert calls == []
        return
    assert [(c["step"], c["node"]) for c in calls] == [(0, "a"), (1, "b")]
    assert calls[0]["prompt"] == [{"role": "system", "content": "Be brief."},
                                  {"role": "user", "name": "user", "content": "hello"}]  # fmt: skip
    assert calls[0]["response"]["message"]["content"] == "first answer"
    assert calls[1]["prompt"][-1]["content"] == "first answer"
    assert calls[0]["usage"]["prompt_tokens"] > 0 and calls[0]["seconds"] >= 0
    assert calls[0]["model"] == "scripted:default"
