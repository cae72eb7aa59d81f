"""The campaign's checks can fail: each violation of the contract is caught, so a
passing campaign means something."""

from __future__ import annotations

import pytest

from .evidence import LogEntry, Stored, check_attempt, check_messages, tool_repeats

BEFORE = Stored("running", head=4, writes=frozenset({(5, "fast1")}),
                effects=frozenset({(5, "ledger", "tool:c2"), (5, "ledger", "tool:c3#1")}),
                tool_results=frozenset({"c1"}))  # fmt: skip


def test_what_the_next_attempt_may_run_again_passes() -> None:
    check_attempt([LogEntry(2, 5, "slow", "start"), LogEntry(2, 5, "ledger", "before", "c4"),
                   LogEntry(1, 3, "a", "start")], BEFORE, attempt=2)  # fmt: skip


@pytest.mark.parametrize(("entry", "message"), [
    (LogEntry(2, 4, "a", "start"), "a committed step ran again"),
    (LogEntry(2, 5, "fast1", "start"), "whose result was saved"),
    (LogEntry(2, 6, "ledger", "before", "c1"), "although its result was recorded"),
    (LogEntry(2, 5, "ledger", "before", "c2"), "although its result was recorded"),
    (LogEntry(2, 5, "ledger", "before", "c3"), "although its result was recorded"),
])  # fmt: skip
def test_each_violation_is_caught(entry: LogEntry, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_attempt([entry], BEFORE, attempt=2)


def test_repeated_tool_calls_are_told_apart() -> None:
    entries = [LogEntry(1, 2, "t", "before", "c1"), LogEntry(1, 2, "t", "before", "c2"),
               LogEntry(1, 2, "t", "after", "c2"), LogEntry(2, 2, "t", "before", "c1"),
               LogEntry(2, 2, "t", "after", "c1"), LogEntry(2, 2, "t", "before", "c2"),
               LogEntry(2, 2, "t", "after", "c2")]  # fmt: skip
    assert tool_repeats(entries) == (1, 1)  # c1 was cut short, c2 finished but went unrecorded


def test_lost_or_duplicated_messages_are_caught() -> None:
    call = '{"tool_calls": [{"id": "c1"}]}'
    answer = '{"tool_call_id": "c1"}'
    good = {
        "messages": [(0, "a", "assistant", None, None, call), (1, "t", "tool", None, "x", answer)]
    }
    check_messages(good)
    with pytest.raises(AssertionError, match="gaps or repeats"):
        check_messages({"messages": [good["messages"][0], (2, *good["messages"][1][1:])]})
    with pytest.raises(AssertionError, match="answered as"):
        check_messages({"messages": [*good["messages"], (2, "t", "tool", None, "x", answer)]})
    with pytest.raises(AssertionError, match="answered as"):
        check_messages({"messages": good["messages"][:1]})
