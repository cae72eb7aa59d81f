"""The agent kind: reply message, usage, templates, streaming, models, tools, errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from graphflow import DefinitionError, Graph, Store
from graphflow import events as ev
from graphflow.context import RunContext
from graphflow.models import ScriptedModel


def one_agent(models: Any = None, **options: Any) -> Graph:
    g = Graph("solo", entry="helper")
    g.add_node("helper", kind="agent", **options)
    g.models = models
    return g


def test_reply_has_name_node_and_usage_and_emits_a_usage_event() -> None:
    events: list[ev.Event] = []
    g = one_agent({"scripted": ["Hello there."]}, name="Helper Bot")
    result = g.compile().run_sync("hi", on_event=events.append)
    reply = result.last
    assert (reply.role, reply.name, reply.node, reply.content) == (
        "assistant", "Helper Bot", "helper", "Hello there.")  # fmt: skip
    assert result.usage["calls"] == 1 and result.usage["completion_tokens"] > 0
    assert result.usage["by_node"]["helper"]["calls"] == 1
    usage_events = [e for e in events if isinstance(e, ev.UsageEvent)]
    assert len(usage_events) == 1 and usage_events[0].node == "helper"
    assert usage_events[0].usage["prompt_tokens"] == result.usage["prompt_tokens"]


def test_system_message_is_a_template_over_run_variables() -> None:
    model = ScriptedModel(["ok"])
    g = one_agent(system_message="You write about {topic} for {audience.name}.")
    g.variables = {"topic": "graphs", "audience": {"name": "students"}}
    g.compile().run_sync("go", context=RunContext.with_models(model))
    assert model.requests[0][0] == {"role": "system",
                                    "content": "You write about graphs for students."}  # fmt: skip


def test_missing_template_variable_fails_the_run_with_a_clear_reason() -> None:
    g = one_agent({"scripted": ["ok"]}, system_message="About {topic}.")
    result = g.compile().run_sync("go")
    assert result.status == "failed"
    assert "unknown variable 'topic'" in (result.error or "")


def test_streaming_emits_tokens_that_add_up_to_the_reply() -> None:
    events: list[ev.Event] = []
    g = one_agent({"scripted": ["one two three four"]}, stream=True)
    result = g.compile().run_sync("go", on_event=events.append)
    tokens = [e.text for e in events if isinstance(e, ev.TokenEvent)]
    assert len(tokens) == 4 and "".join(tokens) == result.last.content


def test_offline_model_is_used_and_announced_once_per_run(caplog: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name in ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL"):
        monkeypatch.delenv(name, raising=False)
    g = Graph("two", entry="a")
    g.add_node("a", kind="agent", is_termination_msg=None)
    g.add_node("b", kind="agent", is_termination_msg=None)
    g.add_edge("a", "b")
    with caplog.at_level(logging.WARNING, logger="graphflow"):
        result = g.compile().run_sync("Plan a trip")
    notices = [r for r in caplog.records if "no model configured" in r.getMessage()]
    assert len(notices) == 1
    assert result.messages[1].content.startswith("[offline model]")


def test_run_options_override_the_graph_models(model_server: Any) -> None:
    server = model_server(["from the server"])
    g = one_agent({"scripted": ["from the script"]})
    context = RunContext(model="served", base_url=server.base_url)
    result = g.compile().run_sync("hi", context=context)
    assert result.last.content == "from the server"
    assert server.requests == 1 and server.request_log[0]["model"] == "served"


def test_named_models_and_inline_configs() -> None:
    g = Graph("pair", entry="a")
    g.add_node("a", kind="agent", model="cheap")
    g.add_node("b", kind="agent", model={"scripted": ["inline"]})
    g.add_edge("a", "b")
    g.models = {"default": {"scripted": ["default"]}, "cheap": {"scripted": ["cheap"]}}
    result = g.compile().run_sync("go")
    assert [m.content for m in result.messages[1:]] == ["cheap", "inline"]


def test_unknown_model_name_and_bad_options_are_compile_errors() -> None:
    g = Graph("bad", entry="a")
    g.add_node("a", kind="agent", model="nope", is_termination_msg="endswith(last.content,")
    g.add_node("b", kind="agent", temprature=0.2)
    g.add_node("c", kind="agent", system_message="unbalanced {brace", code_execution="cloud")
    g.add_edge("a", "b").add_edge("b", "c")
    g.models = {"default": {"scripted": ["x"]}}
    with pytest.raises(DefinitionError) as info:
        g.compile()
    text = str(info.value)
    assert "unknown model 'nope'" in text
    assert "is_termination_msg" in text
    assert "unknown option 'temprature'" in text
    assert "malformed template" in text
    assert "unknown executor 'cloud'" in text


def test_agent_without_model_replies_default_auto_reply_and_output_variable() -> None:
    g = one_agent(model=False, default_auto_reply="noted", output="said")
    result = g.compile().run_sync("hello")
    assert result.last.content == "noted" and result.variables["said"] == "noted"
    assert result.usage == {}


def test_postprocess_and_silent_agents() -> None:
    g = Graph("post", entry="a")
    g.add_node("a", kind="agent", postprocess=lambda m: m.text.upper())
    g.add_node("b", kind="agent", message=False, output="verdict")
    g.add_edge("a", "b")
    g.models = {"scripted": ["shout", "APPROVED"]}
    result = g.compile().run_sync("go")
    assert [m.content for m in result.messages] == ["go", "SHOUT"]
    assert result.variables["verdict"] == "APPROVED"


def test_tool_calls_come_back_on_the_message_and_a_tool_node_runs_them() -> None:
    call = {"tool_calls": [{"name": "calculate", "arguments": {"expression": "6 * 7"}}]}
    g = Graph("tools", entry="solver")
    g.add_node("solver", kind="agent", tools=["calculate"], is_termination_msg=None)
    g.add_node("run_tools", kind="tool", tools=["calculate"])
    g.add_node("done", kind="end")
    g.add_edge("solver", "run_tools", when="len(last.tool_calls) > 0")
    g.add_edge("solver", "done", otherwise=True)
    g.add_edge("run_tools", "solver")
    model = ScriptedModel([call, "The answer is 42."])
    result = g.compile().run_sync("What is 6 * 7?", context=RunContext.with_models(model))
    asked, answered = result.messages[1], result.messages[2]
    assert asked.tool_calls and asked.tool_calls[0]["function"]["name"] == "calculate"
    assert answered.role == "tool" and answered.content == "42"
    assert result.last.content == "The answer is 42."
    assert model.requests[1][-1] == {"role": "tool", "tool_call_id": "call_0_0", "content": "42"}


def test_tools_are_offered_as_openai_schemas(model_server: Any) -> None:
    server = model_server(["fine"])
    g = one_agent({"model": "m", "base_url": server.base_url}, tools=["calculate"])
    g.compile().run_sync("hi")
    tools = server.request_log[0]["tools"]
    assert tools[0]["type"] == "function" and tools[0]["function"]["name"] == "calculate"


def test_unknown_tool_is_a_compile_error() -> None:
    with pytest.raises(DefinitionError, match="no tool named 'nonexistent_tool'"):
        one_agent({"scripted": ["x"]}, tools=["nonexistent_tool"]).compile()


def test_code_execution_replies_with_exit_code_and_output(tmp_path: Path) -> None:
    g = one_agent(model=False, code_execution="local")
    code = "Run this:\n```python\nprint(6 * 7)\n```"
    first = [__import__("graphflow").Message(role="assistant", name="coder", content=code)]
    result = g.compile().run_sync(first, work_dir=tmp_path)
    assert result.last.content == "exitcode: 0 (execution succeeded)\nCode output: 42\n"
    assert result.last.role == "user" and result.last.node == "helper"


def test_responses_are_cached_in_the_run_database(model_server: Any, tmp_path: Path) -> None:
    server = model_server(["cached answer"])
    g = one_agent({"model": "m", "base_url": server.base_url}).compile()
    with Store(tmp_path / "runs.db") as store:
        first = g.run_sync("same question", store=store)
        second = g.run_sync("same question", store=store)
    assert server.requests == 1
    assert first.usage["cached_calls"] == 0 and second.usage["cached_calls"] == 1
    assert second.usage["prompt_tokens"] == 0 and second.last.content == "cached answer"


def test_a_re_executed_node_replays_its_recorded_answer() -> None:
    from graphflow.kinds.agent import AgentConfig, AgentKind
    from graphflow.kinds.base import BuildContext, NodeContext
    from graphflow.messages import Message, State, Update

    model = ScriptedModel(["first", "second"])
    kind = AgentKind("a", AgentConfig(), BuildContext("g"))
    recorded: dict[str, Any] = {}

    async def record(key: str, thunk: Any) -> Any:
        if key not in recorded:
            recorded[key] = await thunk()
        return recorded[key]

    context = RunContext.with_models(model)
    state = State(messages=[Message(role="user", content="hi")])
    import asyncio

    replies = [asyncio.run(kind.run(NodeContext("r", 0, "a", state, context, effects=record)))
               for _ in range(2)]  # fmt: skip
    assert [u.messages[0].content for u in replies if isinstance(u, Update)] == ["first", "first"]
    assert model.calls == 1
