"""OpenTelemetry spans of a run, read from an in-memory exporter: the run, its steps and
nodes, model calls (GenAI semantic conventions), tool calls and code runs."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

from graphflow import Graph
from graphflow.context import RunContext
from graphflow.models import ModelConfig, ScriptedModel

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # set once per process, as applications do
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    return _EXPORTER


def by_name(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name]


def tool_graph() -> Graph:
    g = Graph("traced", entry="solver")
    g.add_node("solver", kind="agent", tools=["calculate"], is_termination_msg=None)
    g.add_node("run_tools", kind="tool", tools=["calculate"])
    g.add_node("done", kind="end")
    g.add_edge("solver", "run_tools", when="len(last.tool_calls) > 0")
    g.add_edge("solver", "done", otherwise=True)
    g.add_edge("run_tools", "solver")
    return g


def test_a_runs_spans_nest_run_step_node_and_calls(spans: InMemorySpanExporter) -> None:
    call = {"tool_calls": [{"name": "calculate", "arguments": {"expression": "6 * 7"}}]}
    model = ScriptedModel([call, "The answer is 42."])
    result = tool_graph().compile().run_sync("6 * 7?", context=RunContext.with_models(model))
    assert result.status == "completed"
    finished = spans.get_finished_spans()
    (run,) = by_name(finished, "graphflow.run")
    assert run.attributes["graphflow.run_id"] == result.run_id
    assert run.attributes["graphflow.status"] == "completed"
    steps = by_name(finished, "graphflow.step")
    assert [s.attributes["graphflow.step"] for s in steps] == [0, 1, 2, 3]
    assert all(s.parent.span_id == run.context.span_id for s in steps)
    nodes = by_name(finished, "graphflow.node")
    assert [n.attributes["graphflow.node"] for n in nodes] == ["solver", "run_tools", "solver",
                                                               "done"]  # fmt: skip
    step_ids = {s.context.span_id for s in steps}
    assert all(n.parent.span_id in step_ids for n in nodes)
    chats = by_name(finished, "chat scripted")
    assert len(chats) == 2
    first = chats[0].attributes
    assert first["gen_ai.operation.name"] == "chat" and first["graphflow.node"] == "solver"
    assert first["gen_ai.usage.input_tokens"] > 0 and first["gen_ai.usage.output_tokens"] > 0
    assert list(first["gen_ai.response.finish_reasons"]) == ["tool_calls"]
    assert chats[0].parent.span_id == nodes[0].context.span_id
    assert chats[0].kind == trace.SpanKind.CLIENT
    (tool,) = by_name(finished, "execute_tool calculate")
    assert tool.attributes["gen_ai.tool.name"] == "calculate"
    assert tool.parent.span_id == nodes[1].context.span_id


def test_a_model_call_span_names_the_endpoint_and_a_failure_is_an_error(spans, model_server):
    server = model_server(["from the server"])
    g = Graph("one", entry="a")
    g.add_node("a", kind="agent", is_termination_msg=None)
    config = ModelConfig(model="served", base_url=server.base_url, max_retries=0)
    g.compile().run_sync("hi", context=RunContext.with_models(config))
    (chat,) = by_name(spans.get_finished_spans(), "chat served")
    attrs = chat.attributes
    assert attrs["gen_ai.request.model"] == "served" and attrs["gen_ai.response.model"] == "served"
    assert attrs["gen_ai.provider.name"] == "openai" and attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == server.port
    spans.clear()
    server.fail_always("503")
    failed = g.compile().run_sync("hi", context=RunContext.with_models(config))
    assert failed.status == "failed"
    (chat,) = by_name(spans.get_finished_spans(), "chat served")
    assert chat.status.status_code == StatusCode.ERROR
    (node,) = by_name(spans.get_finished_spans(), "graphflow.node")
    assert node.status.status_code == StatusCode.ERROR


def test_code_runs_have_spans(spans: InMemorySpanExporter, tmp_path) -> None:
    g = Graph("code", entry="run")
    g.add_node("run", kind="code", executor="local")
    result = g.compile().run_sync("```python\nprint(6 * 7)\n```", work_dir=tmp_path)
    assert result.variables["exit_code"] == 0
    (code,) = by_name(spans.get_finished_spans(), "graphflow.code")
    assert code.attributes["graphflow.executor"] == "local"
    assert code.attributes["graphflow.exit_code"] == 0
    assert code.attributes["graphflow.language"] == "python"


def test_without_opentelemetry_tracing_costs_nothing(monkeypatch) -> None:
    import sys

    from graphflow import tracing

    tracing.tracer.cache_clear()
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    try:
        assert tracing.tracer() is None
        with tracing.span("x", {"a": 1}) as opened:
            assert opened is None
        g = Graph("plain", entry="a")
        g.add_node("a", lambda state: "hi")
        assert g.compile().run_sync().status == "completed"
    finally:
        tracing.tracer.cache_clear()
