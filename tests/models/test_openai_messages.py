"""OpenAIMessages: an agent's request, neither converted nor checked again, with its
token estimate; and the scripted model's bounded request log."""

from __future__ import annotations

import pytest

from graphflow.errors import ModelError
from graphflow.models import (
    OpenAIMessages,
    ScriptedModel,
    estimate_prompt_tokens,
    message_tokens,
    to_openai_messages,
)

SYSTEM = {"role": "system", "content": "Be brief"}


def _body(n: int) -> list[dict]:
    return [{"role": "user", "name": "u", "content": f"message number {i}"} for i in range(n)]


def test_built_messages_read_as_the_list_they_stand_for() -> None:
    body = _body(3)
    view = OpenAIMessages.build([SYSTEM], body, [{"role": "system", "content": "end"}])
    expected = [SYSTEM, *body, {"role": "system", "content": "end"}]
    assert view == expected and expected == view and list(view) == expected
    assert len(view) == 5 and view[0] is SYSTEM and view[-1]["content"] == "end"
    assert view[1:3] == body[:2] and view + [SYSTEM] == [*expected, SYSTEM]  # noqa: RUF005
    assert view.prompt_tokens == estimate_prompt_tokens(expected)
    assert view.prompt_tokens == 3 + sum(message_tokens(m) for m in expected)
    assert estimate_prompt_tokens(view) == view.prompt_tokens
    with pytest.raises(IndexError):
        view[5]
    with pytest.raises(TypeError):
        hash(view)


def test_a_built_view_keeps_its_length_while_the_body_grows() -> None:
    body = _body(2)
    view = OpenAIMessages.build([], body, body_tokens=sum(message_tokens(m) for m in body))
    body.extend(_body(5))
    assert len(view) == 2 and list(view) == _body(2) and view[-1] is body[1]


def test_the_model_layer_takes_it_as_it_is() -> None:
    view = OpenAIMessages.build([SYSTEM], _body(2))
    assert to_openai_messages(view) is view
    assert to_openai_messages([{"role": "user", "content": "hi"}]) == [
        {"role": "user", "content": "hi"}]


def test_plus_checks_what_it_adds() -> None:
    view = OpenAIMessages.build([SYSTEM], _body(1))
    asked = view.plus({"role": "user", "content": "next?"})
    assert len(asked) == 3 and len(view) == 2
    assert asked.prompt_tokens == estimate_prompt_tokens(list(asked))
    with pytest.raises(ModelError, match="not a chat message"):
        view.plus({"role": "wizard", "content": "x"})


def test_the_scripted_model_sees_the_same_answer_and_usage_as_from_a_list() -> None:
    view = OpenAIMessages.build([SYSTEM], _body(4))
    first, second = ScriptedModel(["ok"]), ScriptedModel(["ok"])
    a = first.complete_sync(view)
    b = second.complete_sync(list(view))
    assert (a.text, a.usage) == (b.text, b.usage)
    assert first.requests[0] == second.requests[0]


def test_the_scripted_models_request_log_is_bounded() -> None:
    model = ScriptedModel(lambda request: f"seen {len(request.messages)}", keep_requests=3)
    for n in range(1, 8):
        model.complete_sync(_body(n))
    assert model.calls == 7
    assert [len(r) for r in model.requests] == [5, 6, 7]
    assert len(ScriptedModel(["x"]).requests) == 0 and ScriptedModel().requests.maxlen == 100
