"""What running a plain function node on a worker thread costs per step.

A 1,000-step loop of one plain (non-``async``) function node, in memory, three ways,
interleaved round by round in one process: inline (``thread: false``), on graphflow's
worker threads (the default, :func:`graphflow.blocking.in_thread`), and on
``asyncio.to_thread`` (what the default used before). Prints the median µs per step of
each and the median same-round ratios.

Run: ``python benchmarks/bench_thread_hop.py [--steps 1000] [--rounds 7] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import graphflow.kinds.builtin as builtin
from graphflow import Graph
from graphflow.blocking import in_thread
from graphflow.store import MemoryStore

WAYS = ("inline", "in_thread", "to_thread")


def bump(state: Any) -> dict[str, int]:
    return {"i": state.variables.get("i", 0) + 1}


def loop(steps: int, thread: bool) -> Any:
    g = Graph("loop", entry="n")
    g.add_node("n", bump, thread=thread)
    g.add_node("done", kind="end")
    g.add_edge("n", "n", when=f"state.i < {steps}")
    g.add_edge("n", "done", otherwise=True)
    g.limits(max_steps=steps + 10)
    return g.compile()


def sample(way: str, steps: int) -> float:
    """µs per step of one run of the loop, ``way`` being one of :data:`WAYS`."""
    builtin.in_thread = asyncio.to_thread if way == "to_thread" else in_thread  # type: ignore[attr-defined]
    graph = loop(steps, thread=way != "inline")
    store = MemoryStore()
    start = time.perf_counter()
    result = graph.run_sync(store=store)
    elapsed = time.perf_counter() - start
    assert result.status == "completed", result.status
    return elapsed / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for way in WAYS:  # warm-up, not counted
        sample(way, 50)
    samples: dict[str, list[float]] = {way: [] for way in WAYS}
    for r in range(args.rounds):
        order = WAYS[r % 3:] + WAYS[:r % 3]  # rotate who goes first
        for way in order:
            samples[way].append(sample(way, args.steps))
    builtin.in_thread = in_thread  # type: ignore[attr-defined]
    medians = {way: statistics.median(v) for way, v in samples.items()}
    ratios = {f"{a}/{b}": statistics.median(x / y for x, y in zip(samples[a], samples[b], strict=True))
              for a, b in (("in_thread", "inline"), ("to_thread", "inline"),
                           ("in_thread", "to_thread"))}  # fmt: skip
    if args.json:
        print(json.dumps({"us_per_step": medians, "ratios": ratios}, indent=2))
        return
    print(f"{args.steps}-step loop in memory, {args.rounds} interleaved rounds (median µs/step)")
    for way in WAYS:
        print(f"  {way:10s} {medians[way]:8.1f}")
    for name, ratio in ratios.items():
        print(f"  {name:20s} {ratio:6.2f}x")


if __name__ == "__main__":
    main()
