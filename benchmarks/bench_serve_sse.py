"""Benchmark of ``graphflow serve``'s event streams: many watchers of one live run.

Starts ``graphflow serve`` (a separate process, on a free loopback port) over a fresh
SQLite database, opens ``--watchers`` concurrent Server-Sent-Event streams of one run,
and advances that run from a third process (as a worker would): ``--steps`` steps of a
function node that sleeps ``--delay`` seconds and says one message each. The server only
reads the store. Checks that every watcher got every message and step event exactly
once, in order, the same sequence for all, and the end; and reports the delivery latency
of step events: from the moment the writer saw the step committed (its ``step_finished``
event) to the moment a watcher read it, over all watchers and steps.

Run: ``python benchmarks/bench_serve_sse.py [--watchers 50] [--steps 100] [--delay 0.02]
[--poll 0.5] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["build_graph", "main", "percentile"]

RUN_ID = "bench-sse"
HEADERS = {"X-Graphflow-Request": "1"}


def build_graph(steps: int, delay: float) -> Any:
    """ask (human) → tick (sleeps ``delay`` s, one message, ``n += 1``), ``steps`` times → done."""
    from graphflow import Graph, Message, Update

    def tick(state: Any) -> Any:
        time.sleep(delay)
        n = int(state.variables.get("n", 0)) + 1
        return Update(messages=[Message(role="assistant", name="tick", content=f"tick {n}")],
                      variables={"n": n})  # fmt: skip

    g = Graph("sse-bench", entry="ask", variables={"n": 0})
    g.add_node("ask", kind="human", prompt="go?", variable="go")
    g.add_node("tick", tick)
    g.add_node("done", kind="end")
    g.add_edge("ask", "tick")
    g.add_edge("tick", "tick", when=f"state.n < {steps}")
    g.add_edge("tick", "done", otherwise=True)
    return g.limits(max_steps=steps + 10).compile()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0…1) of ``values``, nearest rank.

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([5.0], 0.95)
        (2.0, 5.0)
    """
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def _writer(db: str, steps: int, delay: float) -> None:
    """The other process: answer the run and advance it; print when each step committed."""
    from graphflow import Store

    store = Store(db)
    committed: dict[int, float] = {}

    def on_event(event: Any) -> None:
        if event.type == "step_finished":
            committed[event.step] = time.time()

    result = build_graph(steps, delay).resume_sync(RUN_ID, input="go", store=store,
                                                   on_event=on_event)  # fmt: skip
    store.close()
    print(json.dumps({"status": result.status, "committed": committed}))


async def _watch(url: str, out: list[tuple[str, str, float, Any]]) -> None:
    async with httpx.AsyncClient(timeout=120) as client, client.stream("GET", url) as response:
        response.raise_for_status()
        event, data, event_id = "message", "", None
        async for line in response.aiter_lines():
            if line == "":
                if data:
                    out.append((event, event_id or "", time.time(), json.loads(data)))
                    if event == "end":
                        return
                event, data, event_id = "message", "", None
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line.startswith("id:"):
                event_id = line[3:].strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(watchers: int, steps: int, delay: float, poll: float) -> dict[str, Any]:
    """One measurement; returns the figures (see the module docs)."""
    from graphflow import Store

    tmp = Path(tempfile.mkdtemp(prefix="graphflow-sse-"))
    db = str(tmp / "runs.db")
    store = Store(db)
    first = build_graph(steps, delay).run_sync(store=store, run_id=RUN_ID)
    store.close()
    assert first.status == "waiting", first
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "graphflow", "serve", "--db", db, "--port",
                               str(port), "--poll", str(poll)], cwd=tmp,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(200):
                try:
                    if (await client.get("/api/runs")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        seen: list[list[tuple[str, str, float, Any]]] = [[] for _ in range(watchers)]
        url = f"{base}/api/runs/{RUN_ID}/events"
        tasks = [asyncio.ensure_future(_watch(url, seen[i])) for i in range(watchers)]
        while sum(1 for s in seen if any(e[0] == "run" for e in s)) < watchers:
            await asyncio.sleep(0.02)  # every watcher is connected and has the run
        writer = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--writer", db, "--steps", str(steps), "--delay", str(delay),
            stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
        started = time.time()
        out, _ = await writer.communicate()
        written = json.loads(out.decode().strip().splitlines()[-1])
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        elapsed = time.time() - started
    finally:
        server.terminate()
        server.wait(10)
    committed = {int(k): v for k, v in written["committed"].items()}
    reference = [(e[0], e[1]) for e in seen[0] if e[0] in ("message", "step")]
    in_order = all([(e[0], e[1]) for e in s if e[0] in ("message", "step")] == reference for s in seen)
    step_numbers = [e[3]["step"] for e in seen[0] if e[0] == "step"]
    seqs = [e[3]["seq"] for e in seen[0] if e[0] == "message"]
    complete = step_numbers == list(range(len(step_numbers))) and seqs == list(range(len(seqs)))
    latencies = [(e[2] - committed[e[3]["step"]]) * 1000 for s in seen for e in s
                 if e[0] == "step" and e[3]["step"] in committed]  # fmt: skip
    return {"watchers": watchers, "steps": steps, "poll_s": poll, "status": written["status"],
            "events_per_watcher": len(reference), "all_in_order": in_order and complete,
            "every_watcher_ended": all(s and s[-1][0] == "end" for s in seen),
            "latency_ms": {"p50": round(percentile(latencies, 0.5), 1),
                           "p95": round(percentile(latencies, 0.95), 1),
                           "max": round(max(latencies), 1),
                           "mean": round(statistics.fmean(latencies), 1)},
            "deliveries": len(latencies), "seconds": round(elapsed, 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--poll", type=float, nargs="+", default=[0.5, 0.1])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--writer", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.writer:
        _writer(args.writer, args.steps, args.delay)
        return 0
    results = [asyncio.run(run(args.watchers, args.steps, args.delay, poll)) for poll in args.poll]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("| watchers | steps | poll | events each | all in order | p50 | p95 | max |")
        print("|---:|---:|---:|---:|---|---:|---:|---:|")
        for r in results:
            lat = r["latency_ms"]
            print(f"| {r['watchers']} | {r['steps']} | {r['poll_s']} s | {r['events_per_watcher']} | "
                  f"{'yes' if r['all_in_order'] and r['every_watcher_ended'] else 'NO'} | "
                  f"{lat['p50']} ms | {lat['p95']} ms | {lat['max']} ms |")
    return 0 if all(r["all_in_order"] and r["every_watcher_ended"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
