"""Usage records, sums per node and per run, and budgets."""

from __future__ import annotations

import json

import pytest

from graphflow.errors import BudgetExceeded
from graphflow.models import (
    Budget,
    Usage,
    UsageTotals,
    estimate_prompt_tokens,
    estimate_tokens,
    sum_usage,
    usage_by_node,
)

BILLED = Usage(prompt_tokens=100, completion_tokens=20, cost=0.5, model="gpt-4o", base_url="u")
CACHED = Usage(prompt_tokens=100, completion_tokens=20, cost=0.5, cached=True, model="gpt-4o")
LOCAL = Usage(prompt_tokens=10, completion_tokens=5, model="llama3")


def test_usage_dict_round_trip_is_json_ready():
    data = BILLED.to_dict()
    assert Usage.from_dict(json.loads(json.dumps(data))) == BILLED
    assert BILLED.total_tokens == 120


def test_sums_count_cached_calls_apart():
    totals = sum_usage([BILLED, CACHED, LOCAL, None])
    assert (totals.calls, totals.cached_calls) == (3, 1)
    assert (totals.prompt_tokens, totals.completion_tokens) == (110, 25)
    assert totals.total_tokens == 135
    assert totals.tokens_including_cached == 255
    assert totals.cost == pytest.approx(0.5) and totals.cached_cost == pytest.approx(0.5)
    assert totals.models["gpt-4o"] == {
        "calls": 2,
        "cached_calls": 1,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "cost": 0.5,
    }


def test_per_node_sums_add_up_to_the_run_sum_through_dicts():
    steps = [
        ("writer", BILLED.to_dict()),
        ("critic", LOCAL),
        ("writer", CACHED.to_dict()),
        ("tool", None),
    ]
    per_node = usage_by_node(steps)
    assert set(per_node) == {"writer", "critic", "tool"}
    assert per_node["writer"].calls == 2 and per_node["tool"].calls == 0
    stored = [json.loads(json.dumps(t.to_dict())) for t in per_node.values()]
    run = sum_usage(stored)
    assert run.to_dict() == sum_usage([BILLED, LOCAL, CACHED]).to_dict()
    assert UsageTotals.from_dict(run.to_dict()).to_dict() == run.to_dict()


def test_budget_on_tokens_and_cost():
    assert not Budget() and Budget(max_tokens=1)
    used = sum_usage([BILLED])
    assert Budget(max_tokens=500).exceeded(used) is None
    assert "token budget exceeded: 120 tokens used, the limit is 100" in Budget(
        max_tokens=100
    ).exceeded(used)
    with pytest.raises(BudgetExceeded, match=r"cost budget exceeded.*raise limits"):
        Budget(max_cost=0.25).check(used.to_dict(), where="run r1")
    assert Budget(max_tokens=500, max_cost=2).remaining(used) == {"tokens": 380, "cost": 1.5}
    cached_only = sum_usage([CACHED] * 10)
    Budget(max_tokens=1, max_cost=0.01).check(cached_only)  # cache hits are free


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
