"""Prompt templates."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from graphflow.errors import DefinitionError, RunError
from graphflow.messages import Message, State
from graphflow.models import render_template, template_fields


def test_placeholders_dotted_lookups_and_escapes():
    state = State(messages=[Message(role="user", content="Plan a trip")], variables={"n": 3})
    text = render_template(
        "{task} ({state.variables.n} days) after '{state.last.content}'; {{literal}} {items.1}",
        {"task": "Go", "state": state, "items": ["a", "b"]},
    )
    assert text == "Go (3 days) after 'Plan a trip'; {literal} b"


def test_format_specs_conversions_json_and_none():
    out = render_template(
        "{score:.2f} {name!r} {data} {nothing}|",
        {"score": 0.123, "name": "x", "data": {"k": [1, 2]}, "nothing": None},
    )
    assert out == "0.12 'x' {\"k\": [1, 2]} |"


def test_missing_variable_names_it_and_lists_known():
    with pytest.raises(RunError) as caught:
        render_template("Hi {usr}", {"user": 1, "topic": 2}, where="node writer: prompt")
    message = str(caught.value)
    assert "node writer: prompt" in message and "'usr'" in message
    assert "known: topic, user" in message


def test_missing_nested_key_names_the_path():
    with pytest.raises(RunError, match=r"state.variables has no 'topic' \(known: n\)"):
        render_template("{state.variables.topic}", {"state": {"variables": {"n": 1}}})

    @dataclass
    class Thing:
        size: int

    with pytest.raises(RunError, match="known: size"):
        render_template("{t.colour}", {"t": Thing(1)})
    with pytest.raises(RunError, match="t has no '_private'"):
        render_template("{t._private.x}", {"t": Thing(1)})
    with pytest.raises(RunError, match="no variables are set"):
        render_template("{a}", {})


def test_malformed_templates_are_definition_errors():
    for bad in ("unclosed {brace", "stray } brace", "empty {} field"):
        with pytest.raises(DefinitionError):
            render_template(bad, {"brace": 1})


def test_bad_format_spec_is_a_run_error():
    with pytest.raises(RunError, match="cannot format"):
        render_template("{x:d}", {"x": "text"})


def test_template_fields_in_order_without_duplicates():
    assert template_fields("{a} {b.c} {a} {{d}} {e:>3}") == ["a", "b.c", "e"]
