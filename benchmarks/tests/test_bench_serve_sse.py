"""The event-stream benchmark runs end to end on a small scale and checks what it claims."""

from __future__ import annotations

import asyncio
import doctest

import bench_serve_sse
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


def test_docstring_examples() -> None:
    failed, attempted = doctest.testmod(bench_serve_sse)
    assert attempted > 0 and failed == 0


def test_a_small_run_delivers_every_event_in_order_to_every_watcher() -> None:
    result = asyncio.run(bench_serve_sse.run(watchers=3, steps=5, delay=0.01, poll=0.1))
    assert result["status"] == "completed"
    assert result["all_in_order"] and result["every_watcher_ended"]
    assert result["events_per_watcher"] == 7 + 6  # steps ask, 5 ticks, done; the input, 5 ticks
    assert result["deliveries"] == 3 * 7
    assert 0 <= result["latency_ms"]["p50"] < 5000
