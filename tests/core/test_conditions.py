from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphflow.conditions import compile_condition
from graphflow.errors import ConditionSyntaxError
from graphflow.messages import Message, State


def state(content: str = "hello", **variables: object) -> State:
    return State(messages=[Message(role="assistant", name="writer", content=content,
                                   node="writer")], variables=dict(variables),
                 visits={"writer": 2}, step=5)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('contains(last.content, "ell")', True),
        ('not contains(last.content, "APPROVED")', True),
        ('startswith(last.content, "he") and endswith(last.content, "lo")', True),
        ('matches(last.content, "^h.l+o$")', True),
        ("len(last.content) == 5", True),
        ("visits.writer < 3 and visits.critic == 0", True),
        ('visits["writer"] >= 2', True),
        ("step == 5", True),
        ("state.count + 1 > 3", True),
        ('state.missing == None and state.missing is null', True),
        ('last.name == "writer" or false', True),
        ('lower(last.content) in ["hello", "hi"]', True),
        ("len(messages) == 1", True),
        ("state.items[1] == 2", True),
        ("1 < state.count < 5", True),
        ("'yes' if state.count else 'no'", "yes"),
    ],
)
def test_expressions(expression: str, expected: object) -> None:
    assert compile_condition(expression)(state(count=3, items=[1, 2])) == expected


def test_endswith_ignores_trailing_whitespace_like_autogen_termination() -> None:
    assert compile_condition('endswith(last.content, "TERMINATE")')(state("Done.\nTERMINATE\n"))


def test_last_is_none_in_empty_conversation() -> None:
    assert compile_condition("last.content == None")(State())
    assert compile_condition('not contains(last.content, "x")')(State())


@pytest.mark.parametrize(
    ("expression", "message", "column"),
    [
        ("__import__('os')", "unknown function", 1),
        ("last.__class__", "attribute '__class__' is not allowed", 1),
        ("foo == 1", "unknown name 'foo'", 1),
        ("len(x for x in messages)", "GeneratorExp", 4),
        ("last.content ==", "syntax error", None),
        ("state.x[1:2]", "slices are not allowed", 1),
        ('matches(last.content, "(")', "bad regular expression", 23),
        ("lambda: 1", "Lambda", 1),
        ("contains", "is a function", 1),
    ],
)
def test_errors_name_the_problem_and_column(expression: str, message: str, column: int | None) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        compile_condition(expression)
    assert message in str(info.value)
    if column is not None:
        assert info.value.column == column


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_compiles_or_raises_a_condition_syntax_error(text: str) -> None:
    try:
        fn = compile_condition(text)
    except ConditionSyntaxError:
        return
    # runtime errors are reported by the scheduler as ConditionError
    with contextlib.suppress(TypeError, ValueError, KeyError, ZeroDivisionError, OverflowError,
                             IndexError, AttributeError, RecursionError):
        fn(state(count=1))


_atoms = st.sampled_from(["last.content", "state.count", "visits.writer", "step", "1", '"x"',
                          "len(messages)", "true", "null"])


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(_atoms)
    op = draw(st.sampled_from(["and", "or", "==", "!=", "<", "+", "in"]))
    return f"({draw(expressions(depth + 1))} {op} {draw(expressions(depth + 1))})"


@settings(max_examples=200, deadline=None)
@given(expressions())
def test_generated_expressions_compile(text: str) -> None:
    compile_condition(text)
