"""ScriptedModel and Script: the in-process scripted model (and FaultScript, its fault
injection from graphflow.testing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphflow.errors import (
    DefinitionError,
    ModelBadResponse,
    ModelError,
    ModelRequestRejected,
    ModelTimeout,
)
from graphflow.messages import Message
from graphflow.models import ChatModel, ResponseCache, Script, ScriptedModel, ScriptRequest
from graphflow.models.reply_script import reply_message
from graphflow.testing import FaultScript

USER = Message(role="user", content="Write a haiku about graphs.")


async def test_replies_in_order_then_exhausted(scripted_model):
    model = scripted_model(["one", "two"])
    assert isinstance(model, ChatModel)
    assert (await model.complete([USER])).text == "one"
    assert (await model.complete([USER])).text == "two"
    with pytest.raises(ModelError, match="its 2 replies are used up; add replies"):
        await model.complete([USER])
    assert model.calls == 2


async def test_default_reply_after_the_list(scripted_model):
    model = scripted_model(["first"], default="TERMINATE")
    texts = [(await model.complete([USER])).text for _ in range(3)]
    assert texts == ["first", "TERMINATE", "TERMINATE"]


async def test_position_survives_a_restart_through_the_conversation(scripted_model):
    replies = ["Draft one.", {"tool_calls": [{"name": "check", "arguments": {"n": 1}}]}, "Done."]
    first_process = scripted_model(replies)
    conversation: list[Message] = [USER]
    for _ in range(2):
        answer = await first_process.complete(conversation)
        conversation.append(answer.message)
        if answer.message.tool_calls:
            call_id = answer.message.tool_calls[0]["id"]
            conversation.append(Message(role="tool", content="ok", tool_call_id=call_id))
    restarted = scripted_model(replies)  # a new process: no memory of earlier calls
    assert (await restarted.complete(conversation)).text == "Done."


async def test_tool_call_replies_are_openai_shaped(scripted_model):
    model = scripted_model(
        [
            {
                "content": "Let me add.",
                "tool_calls": [
                    {"name": "add", "arguments": {"a": 1, "b": 2}},
                    {
                        "id": "fixed",
                        "type": "function",
                        "function": {"name": "mul", "arguments": "{}"},
                    },
                ],
            }
        ]
    )
    answer = await model.complete([USER], tools=[{"type": "function", "function": {"name": "add"}}])
    assert answer.finish_reason == "tool_calls"
    assert answer.message.tool_calls == [
        {
            "id": "call_0_0",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
        },
        {"id": "fixed", "type": "function", "function": {"name": "mul", "arguments": "{}"}},
    ]
    assert answer.text == "Let me add."


async def test_rules_match_the_last_message():
    script = Script(
        ["fallback"],
        rules=[
            {"contains": "ping", "reply": "pong"},
            {"matches": r"^\d+\+\d+$", "reply": "a sum"},
            {"role": "tool", "reply": "thanks for the tool result"},
        ],
    )
    model = ScriptedModel(script)
    ask = lambda text, role="user": model.complete([Message(role=role, content=text)])  # noqa: E731
    assert (await ask("ping?")).text == "pong"
    assert (await ask("2+2")).text == "a sum"
    assert (await ask("42", role="tool")).text == "thanks for the tool result"
    assert (await ask("other")).text == "fallback"


async def test_function_script_sees_the_request():
    seen: list[ScriptRequest] = []

    def answer(request: ScriptRequest) -> str:
        seen.append(request)
        return f"call {request.call}: {request.last_text.upper()}"

    model = ScriptedModel(answer, name="echo")
    response = await model.complete([USER], params={"temperature": 0})
    assert response.text == "call 0: WRITE A HAIKU ABOUT GRAPHS."
    assert seen[0].model == "echo" and seen[0].params == {"temperature": 0}
    assert response.model == "echo" and response.base_url is None
    assert response.usage.models["echo"].calls == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("timeout", ModelTimeout),
        ("400:too long", ModelRequestRejected),
        ("malformed", ModelBadResponse),
        ("empty", ModelBadResponse),
        ("500", ModelError),
    ],
)
async def test_fault_rules_raise_what_the_client_would(fault, error):
    model = ScriptedModel(FaultScript(rules=[{"contains": "boom", "fault": fault}]))
    with pytest.raises(error):
        await model.complete([Message(role="user", content="boom")])


async def test_streaming_and_plausible_usage(scripted_model):
    text = "Nodes talk; edges decide; the scheduler keeps time."
    model = scripted_model([text, text], price=(1.0, 1.0))
    pieces: list[str] = []
    short = await model.complete([USER], stream=True, on_token=pieces.append)
    assert "".join(pieces) == text and len(pieces) > 3
    longer = await model.complete([USER, Message(role="user", content="more words " * 50)])
    assert 5 < short.usage.prompt_tokens < longer.usage.prompt_tokens
    assert short.usage.completion_tokens == longer.usage.completion_tokens > 5
    assert short.usage.cost == pytest.approx(short.usage.total_tokens / 1000)
    assert model.usage.calls == 2 and model.usage.total_tokens == (
        short.usage.total_tokens + longer.usage.total_tokens
    )


async def test_scripted_model_with_cache_replays(tmp_path: Path):
    cache = ResponseCache(tmp_path / "c.db")
    model = ScriptedModel(["first", "second"], cache=cache)
    assert (await model.complete([USER])).text == "first"
    again = await model.complete([USER])
    assert again.text == "first" and again.usage.cached and model.calls == 1
    assert (await model.complete([USER], cache_seed=None)).text == "second"
    cache.close()


def test_from_data_reads_files_relative_to_the_graph(tmp_path: Path):
    (tmp_path / "script.yaml").write_text(
        "replies:\n  - Hello!\n  - tool_calls: [{name: search, arguments: {q: x}}]\n"
        "default: TERMINATE\nrules:\n  - {contains: urgent, reply: On it.}\n"
    )
    model = ScriptedModel.from_data(
        {"script": "script.yaml", "name": "demo", "latency": 0}, base_dir=tmp_path
    )
    assert model.name == "demo"
    assert model.complete_sync([USER]).text == "Hello!"
    assert model.complete_sync([Message(role="user", content="urgent!")]).text == "On it."
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(["a", "b"]))
    assert Script.load(listed).replies[1].content == "b"


def test_function_by_import_path(tmp_path: Path, monkeypatch):
    (tmp_path / "my_script.py").write_text(
        "def answer(request):\n    return 'imported ' + request.last_text\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    model = ScriptedModel.from_data({"function": "my_script:answer"}, base_dir=tmp_path)
    assert model.complete_sync([USER]).text.startswith("imported Write")


def test_bad_scripts_are_definition_errors(tmp_path: Path):
    cases = [
        ({"replies": [{"text": "x"}]}, "unknown reply keys"),
        ({"replies": [{"tool_calls": [{"arguments": {}}]}]}, "function name"),
        ({"rules": [{"matches": "(", "reply": "a"}]}, "bad regular expression"),
        ({"rules": [{"contains": "x"}]}, "needs a reply"),
        ({"rules": [{"contains": "x", "fault": "500"}]}, "fault: rules inject failures for tests"),
        ({"replis": []}, "unknown script keys"),
        ("missing.yaml", "not found"),
        ({"function": "no_such_module_xyz:f"}, "function"),
        (42, "a list of replies"),
    ]
    for data, message in cases:
        with pytest.raises(DefinitionError, match=message):
            Script.from_data(data, base_dir=tmp_path, where="models.demo")
    faulty = [
        ({"rules": [{"contains": "x", "reply": "a", "fault": "500"}]}, "exactly one"),
        ({"rules": [{"contains": "x", "fault": "explode"}]}, "unknown fault"),
        ({"rules": [{"contains": "x", "fault": "latency:1"}]}, "cannot answer"),
        ({"rules": [{"contains": "x", "fault": "500", "colour": "red"}]}, "unknown rule keys"),
    ]
    for data, message in faulty:
        with pytest.raises(DefinitionError, match=message):
            FaultScript.from_data(data, base_dir=tmp_path, where="script")
    assert isinstance(FaultScript.from_data({"rules": [{"role": "tool", "fault": "429"}]}),
                      FaultScript)  # fmt: skip


def test_reply_message_forms():
    assert reply_message("hi").content == "hi"
    existing = Message(role="user", content="x", node="n")
    assert reply_message(existing).role == "assistant" and reply_message(existing).node is None
    only_calls = reply_message({"tool_calls": [{"name": "f", "arguments": "{}"}]}, 7)
    assert only_calls.content is None and only_calls.tool_calls[0]["id"] == "call_7_0"
