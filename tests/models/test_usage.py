"""Usage: one type for a call and for sums per node and per run; budgets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphflow.errors import BudgetExceeded
from graphflow.models import Budget, Usage, estimate_prompt_tokens, estimate_tokens, usage_by_node
from graphflow.models.usage import read_usage_report, usage_report

BILLED = Usage.of_call(100, 20, cost=0.5, model="gpt-4o")
CACHED = Usage.of_call(100, 20, cost=0.5, cached=True, model="gpt-4o")
LOCAL = Usage.of_call(10, 5, model="llama3")


def stored(usage: Usage) -> dict:
    """What a store keeps: the JSON text of the dict, read back."""
    return json.loads(json.dumps(usage.to_dict()))


def test_a_call_round_trips_through_its_json_dict():
    assert Usage.from_dict(stored(BILLED)) == BILLED
    assert Usage.from_dict(stored(CACHED)) == CACHED
    assert BILLED.total_tokens == 120 and BILLED.calls == 1 and not BILLED.cached
    assert CACHED.cached and CACHED.total_tokens == 0 and CACHED.tokens_including_cached == 120


def test_sums_count_cached_calls_apart():
    totals = Usage.total([BILLED, CACHED, LOCAL, None])
    assert totals == BILLED + CACHED + LOCAL == sum([BILLED, CACHED, LOCAL])
    assert (totals.calls, totals.cached_calls) == (3, 1)
    assert (totals.prompt_tokens, totals.completion_tokens) == (110, 25)
    assert totals.total_tokens == 135
    assert totals.tokens_including_cached == 255
    assert totals.cost == pytest.approx(0.5) and totals.cached_cost == pytest.approx(0.5)
    gpt = totals.models["gpt-4o"]
    assert (gpt.calls, gpt.cached_calls, gpt.prompt_tokens, gpt.cost) == (2, 1, 100, 0.5)
    assert not gpt.models and not totals.cached
    assert not Usage() and Usage() + Usage() == Usage()


def test_per_node_sums_from_step_rows_add_up_to_the_run_sum():
    rows = [
        {"writer": stored(BILLED), "critic": stored(LOCAL)},
        None,
        {"writer": stored(CACHED)},
    ]
    per_node = usage_by_node(rows)
    assert set(per_node) == {"writer", "critic"}
    assert per_node["writer"].calls == 2 and per_node["writer"].cached_calls == 1
    run = Usage.total(Usage.from_dict(stored(u)) for u in per_node.values())
    assert run == BILLED + LOCAL + CACHED
    total, by_node = read_usage_report(json.loads(json.dumps(usage_report(run, per_node))))
    assert total == run and by_node == per_node
    assert usage_report(Usage(), {}) == {}


def test_dicts_written_by_hand_or_by_earlier_versions_are_read():
    by_hand = Usage.from_dict({"prompt_tokens": 40, "completion_tokens": 10, "cost": 0.01})
    assert (by_hand.calls, by_hand.total_tokens, by_hand.cost) == (1, 50, 0.01)
    one_call = {"prompt_tokens": 5, "completion_tokens": 1, "cost": 0.0, "cached": True,
                "model": "m", "base_url": "http://x/v1"}  # fmt: skip
    assert Usage.from_dict(one_call) == Usage.of_call(5, 1, cached=True, model="m")
    totals = {"calls": 2, "prompt_tokens": 7, "by_node": {"a": {}}, "models": {
        "m": {"calls": 2, "cached_calls": 0, "prompt_tokens": 7, "completion_tokens": 0,
              "cost": 0}}}  # fmt: skip
    assert Usage.from_dict(totals).models["m"].prompt_tokens == 7
    assert Usage.from_dict(None) == Usage() == Usage.from_dict({})


counts = st.integers(min_value=0, max_value=10_000)
calls = st.builds(Usage.of_call, counts, counts, cost=st.sampled_from([0.0, 0.25, 1.5]),
                  cached=st.booleans(), model=st.sampled_from(["a", "b", ""]))  # fmt: skip


@given(st.lists(calls, max_size=8), st.lists(calls, max_size=8))
def test_addition_is_associative_and_survives_the_store(left, right):
    a, b = Usage.total(left), Usage.total(right)
    assert Usage.from_dict(stored(a + b)) == Usage.total([*left, *right]) == b + a
    assert (a + b).calls == len(left) + len(right)
    assert (a + b).cached_calls <= (a + b).calls


def test_budget_on_tokens_and_cost_with_one_message():
    assert not Budget() and Budget(max_tokens=1)
    assert Budget(max_tokens=500).exceeded(BILLED) is None
    assert Budget(max_tokens=100).exceeded(BILLED) == "token budget used up (120 of 100 tokens)"
    with pytest.raises(BudgetExceeded, match=r"run r1: cost budget used up \(0.5000 of 0.25\); raise"):
        Budget(max_cost=0.25).check(BILLED, where="run r1")
    assert Budget(max_tokens=500, max_cost=2).remaining(BILLED) == {"tokens": 380, "cost": 1.5}
    Budget(max_tokens=1, max_cost=0.01).check(Usage.total([CACHED] * 10))  # cache hits are free


def test_token_estimates_are_plausible():
    assert estimate_tokens("") == 0 and estimate_tokens(None) == 0
    assert estimate_tokens("Hello, world!") == 4
    assert 15 <= estimate_tokens("The quick brown fox jumps over the lazy dog. " * 2) <= 25
    long_word = estimate_tokens("internationalization")
    assert long_word >= 3
    with_calls = estimate_prompt_tokens(
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"function": {"name": "add", "arguments": '{"a": 1}'}}],
            }
        ]
    )
    assert with_calls > estimate_prompt_tokens([{"role": "assistant", "content": None}])
