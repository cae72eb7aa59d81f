"""Benchmark of the model layer against the scripted OpenAI-compatible server.

Measures, through the real ``openai`` client over real HTTP on 127.0.0.1:

1. ``--calls`` concurrent ``complete()`` calls while the server holds each answer for
   ``--latency`` seconds: the wall time should stay close to one latency, not the sum;
2. the per-call overhead of the whole stack (client, HTTP, server), from sequential calls
   with no server latency, whole and streamed;
3. the latency of an answer served from the SQLite response cache (no HTTP).

Run: ``python benchmarks/bench_models.py [--calls 50] [--latency 0.2] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from graphflow.messages import Message
from graphflow.models import ModelClient, ModelConfig, ResponseCache
from graphflow.testing import ModelServer

__all__ = ["main"]

REPLY = "A short, plausible answer from the scripted model, about twenty tokens long."


def _config(server: ModelServer | str) -> ModelConfig:
    url = server if isinstance(server, str) else server.base_url
    return ModelConfig(model="bench", base_url=url, timeout=30, max_retries=0)


def _serve(latency: float, pipe: Connection) -> None:
    with ModelServer({"replies": [], "default": REPLY}, latency=latency) as server:
        pipe.send(server.base_url)
        pipe.recv()  # wait for the parent to finish
        pipe.send(server.requests)


@contextlib.contextmanager
def server_process(latency: float) -> Iterator[tuple[str, list[int]]]:
    """The scripted server in a process of its own (so it does not share the client's
    interpreter lock); yields its base URL and, after exit, its request count."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(latency, child))
    process.start()
    counted: list[int] = []
    try:
        yield parent.recv(), counted
    finally:
        parent.send("stop")
        counted.append(parent.recv())
        process.join(10)


async def concurrent_wall(
    calls: int, latency: float, repeat: int, *, separate_process: bool
) -> list[float]:
    """Wall seconds of ``calls`` concurrent calls, once per repeat (after one warm-up)."""
    walls: list[float] = []
    if separate_process:
        context: contextlib.AbstractContextManager[object] = server_process(latency)
    else:
        context = ModelServer({"replies": [], "default": REPLY}, latency=latency)
    with context as server:
        url = server[0] if isinstance(server, tuple) else server
        client = ModelClient(_config(url), cache_seed=None)  # type: ignore[arg-type]
        for round_ in range(repeat + 1):
            batch = [[Message(role="user", content=f"question {round_}-{i}")] for i in range(calls)]
            started = time.perf_counter()
            answers = await asyncio.gather(*(client.complete(m) for m in batch))
            elapsed = time.perf_counter() - started
            assert all(a.text == REPLY for a in answers)
            if round_:  # the first round opens the connections
                walls.append(elapsed)
        await client.aclose()
    counted = server[1][0] if isinstance(server, tuple) else server.requests  # type: ignore[attr-defined]
    assert counted == calls * (repeat + 1)
    return walls


async def sequential_overhead(calls: int, *, stream: bool) -> list[float]:
    """Seconds per call of sequential calls with no server latency."""
    per_call: list[float] = []
    with ModelServer({"replies": [], "default": REPLY}) as server:
        client = ModelClient(_config(server), cache_seed=None)
        await client.complete([Message(role="user", content="warm-up")], stream=stream)
        for i in range(calls):
            started = time.perf_counter()
            await client.complete([Message(role="user", content=f"q{i}")], stream=stream)
            per_call.append(time.perf_counter() - started)
        await client.aclose()
    return per_call


async def cache_hits(calls: int) -> list[float]:
    """Seconds per call answered from the response cache (a file-backed SQLite cache)."""
    per_call: list[float] = []
    with (
        tempfile.TemporaryDirectory() as folder,
        ModelServer({"replies": [], "default": REPLY}) as server,
    ):
        cache = ResponseCache(Path(folder) / "run.db")
        client = ModelClient(_config(server), cache=cache)
        messages = [Message(role="system", content="Be brief."), Message(role="user", content="hi")]
        await client.complete(messages)
        for _ in range(calls):
            started = time.perf_counter()
            answer = await client.complete(messages)
            per_call.append(time.perf_counter() - started)
            assert answer.usage.cached
        assert server.requests == 1
        await client.aclose()
        cache.close()
    return per_call


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    for separate in (False, True):
        walls = asyncio.run(
            concurrent_wall(args.calls, args.latency, args.repeat, separate_process=separate)
        )
        wall = statistics.median(walls)
        where = "server in its own process" if separate else "server in the same process"
        print(f"{args.calls} concurrent calls, {args.latency * 1000:.0f} ms latency each, {where}:")
        print(
            f"  wall time      median {wall * 1000:7.1f} ms   (min {min(walls) * 1000:.1f}, "
            f"max {max(walls) * 1000:.1f}; sequential would be {args.calls * args.latency:.1f} s)"
        )
        print(
            f"  above latency  {(wall - args.latency) * 1000:7.1f} ms for the batch, "
            f"{(wall - args.latency) / args.calls * 1000:.2f} ms per call"
        )
    for stream in (False, True):
        per_call = asyncio.run(sequential_overhead(200, stream=stream))
        label = "streamed" if stream else "whole   "
        print(
            f"sequential {label} call, no latency: median {statistics.median(per_call) * 1000:6.2f} ms"
            f"  p95 {sorted(per_call)[int(len(per_call) * 0.95)] * 1000:6.2f} ms"
        )
    hits = asyncio.run(cache_hits(1000))
    print(
        f"cache hit (SQLite, no HTTP):      median {statistics.median(hits) * 1e6:6.0f} µs"
        f"  p95 {sorted(hits)[int(len(hits) * 0.95)] * 1e6:6.0f} µs"
    )


if __name__ == "__main__":
    main()
