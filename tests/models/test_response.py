"""ModelResponse: the one answer type, through the cache and the run's journal."""

from __future__ import annotations

import json

from graphflow.messages import Message
from graphflow.models import ModelResponse, ResponseCache, ScriptedModel, Usage

CALL = {"id": "call_0", "type": "function", "function": {"name": "add", "arguments": "{}"}}


def test_a_journal_record_reads_back_as_the_same_answer():
    answer = ModelResponse(Message(role="assistant", content=None, tool_calls=[CALL]),
                           Usage.of_call(12, 3, cost=0.25, model="gpt-4o"), "tool_calls",
                           {"id": "chatcmpl-1"}, model="gpt-4o",
                           base_url="http://127.0.0.1:1/v1")  # fmt: skip
    again = ModelResponse.from_record(json.loads(json.dumps(answer.to_record())))
    assert again == answer and again.raw is None  # the raw completion is not journaled
    assert again.message.tool_calls == [CALL] and again.text == ""


def test_records_journaled_by_earlier_versions_still_read():
    earlier = {"message": {"role": "assistant", "content": "hi", "node": "writer"},
               "usage": {"prompt_tokens": 5, "completion_tokens": 1, "cost": 0.0,
                         "cached": False, "model": "scripted:default", "base_url": None}}  # fmt: skip
    answer = ModelResponse.from_record(earlier)
    assert answer.text == "hi" and answer.message.node is None
    assert answer.model == "scripted:default" and answer.base_url is None
    assert answer.usage == Usage.of_call(5, 1, model="scripted:default")


def test_a_cached_answer_is_the_same_type_and_bills_nothing():
    cache = ResponseCache(":memory:")
    model = ScriptedModel(["Lima."], cache=cache, price=(1.0, 1.0))
    first = model.complete_sync([{"role": "user", "content": "Capital of Peru?"}])
    second = model.complete_sync([{"role": "user", "content": "Capital of Peru?"}])
    assert type(first) is type(second) is ModelResponse
    assert (first.cached, second.cached) == (False, True)
    assert second.message == first.message and second.model == first.model == "scripted"
    assert second.usage.cost == 0 and second.usage.cached_cost == first.usage.cost > 0
    assert second.usage.cached_prompt_tokens == first.usage.prompt_tokens
    assert model.usage == first.usage + second.usage
    assert ModelResponse.from_record(json.loads(json.dumps(second.to_record()))) == second
    cache.close()
