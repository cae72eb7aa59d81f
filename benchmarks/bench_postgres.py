"""The Postgres store's cost per step against its own floor, sides interleaved.

Each side commits ``steps`` steps of one run and reports µs per step:

- ``floor``: one ``INSERT`` into a ``steps`` table with the same primary key
  ``(run_id, step)`` as the store's, committed (autocommit: the server commits before it
  answers), over one open connection — what one durable step costs on this server with
  nothing on top;
- ``store``: :meth:`PostgresStore.commit_step` as the scheduler calls it for a step that
  recorded no side effect (the step row with a changed variable and the next frontier,
  the lease renewed every 20 s), with no message (``store``) or one 1 KB message
  (``store+1KB``: two INSERTs in one transaction; its floor inserts 1 KB);
- ``engine``: a loop graph run on the store (``thread: false`` function nodes), so the
  scheduler's own work is in; ``engine on SQLite`` is the same loop on the SQLite store
  (WAL, ``synchronous=NORMAL``) for scale.

Every side runs once per round, in an order that rotates each round, after one warm-up
round; a ratio is the median of the ratios of samples of the same round. The server is
the one ``GRAPHFLOW_BENCH_POSTGRES`` names, else a throwaway cluster started here — with
``fsync=on`` and ``synchronous_commit=on`` (every commit waits for the disk, as a
production server's does) and, in a second cluster, ``fsync=off`` (the disk left out, so
that the software's own cost shows).

    python benchmarks/bench_postgres.py [--quick] [--rounds N] [--steps N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure the graphflow of this checkout

__all__ = ["floor_once", "main", "measure", "store_once"]

KB = "x" * 1024


def floor_once(url: str, steps: int, message: bool = False) -> float:
    """``steps`` single-row INSERTs, each committed, into a fresh table; µs per step."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        table = f"floor_{time.perf_counter_ns()}"
        conn.execute(f"CREATE TABLE {table} (run_id TEXT NOT NULL, step INTEGER NOT NULL,"
                     " data TEXT, PRIMARY KEY (run_id, step))")  # fmt: skip
        insert = f"INSERT INTO {table} (run_id, step, data) VALUES (%s, %s, %s)"
        rows = [KB if message else f'{{"i": {s}}}' for s in range(steps)]
        start = time.perf_counter()
        for step in range(steps):
            conn.execute(insert, ("run", step, rows[step]))
        elapsed = time.perf_counter() - start
        conn.execute(f"DROP TABLE {table}")
    return elapsed / steps * 1e6


def store_once(store: Any, steps: int, message: bool = False) -> float:
    """``steps`` commit_step calls on a new run of ``store``; µs per step."""
    from graphflow import Message

    run_id = f"bench-{time.perf_counter_ns()}"
    store.create_run(run_id, graph="loop", spec={"name": "loop"}, topology="t",
                     frontier={"run": ["n"], "wait": []}, variables={"i": 0})  # fmt: skip
    head = {"run": ["n"], "wait": [], "via": {}}
    start = time.perf_counter()
    for step in range(steps):
        store.commit_step(run_id, step, nodes=["n"],
                          messages=[Message(role="assistant", content=KB, node="n")]
                          if message else [], first_seq=step if message else 0,
                          variables={"i": step + 1}, frontier=head, usage=None, run_usage=None,
                          started_at=time.time(), state=({"i": step + 1}, {"n": step + 1}),
                          had_effects=False)  # fmt: skip
    return (time.perf_counter() - start) / steps * 1e6


def loop_graph(steps: int) -> Any:
    from graphflow import Graph

    g = Graph("loop", entry="n", variables={"i": 0})
    g.add_node("n", lambda s: {"i": s.variables["i"] + 1}, thread=False)
    g.add_node("done", kind="end")
    g.add_edge("n", "n", when=f"state.i < {steps}")
    g.add_edge("n", "done", otherwise=True)
    g.limits(max_steps=steps + 10)
    return g.compile()


def engine_once(graph: Any, store: Any, steps: int) -> float:
    start = time.perf_counter()
    run = graph.run_sync(store=store)
    elapsed = time.perf_counter() - start
    assert run.status == "completed", run.reason
    return elapsed / steps * 1e6


def measure(url: str, *, steps: int, rounds: int, folder: Path) -> dict[str, Any]:
    """Interleaved samples of every side: ``{"values": {side: median µs/step},
    "ratios": {name: median same-round ratio}, "samples": {side: [...]}}``."""
    from graphflow.store import Store
    from graphflow.store.postgres import PostgresStore

    pg = PostgresStore(url)
    lite = Store(folder / "bench.db")
    graph = loop_graph(steps)
    sides: dict[str, Callable[[], float]] = {
        "floor": lambda: floor_once(url, steps),
        "floor+1KB": lambda: floor_once(url, steps, message=True),
        "store": lambda: store_once(pg, steps),
        "store+1KB": lambda: store_once(pg, steps, message=True),
        "engine": lambda: engine_once(graph, pg, steps),
        "engine on SQLite": lambda: engine_once(graph, lite, steps),
    }
    names = list(sides)
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        for round_ in range(rounds + 1):  # round 0 warms up and is not counted
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                value = sides[name]()
                if round_:
                    samples[name].append(value)
    finally:
        pg.close()
        lite.close()

    def ratio(top: str, bottom: str) -> float:
        return statistics.median(a / b for a, b in zip(samples[top], samples[bottom], strict=True))

    return {"values": {name: statistics.median(v) for name, v in samples.items()},
            "ratios": {"store / floor": ratio("store", "floor"),
                       "store+1KB / floor+1KB": ratio("store+1KB", "floor+1KB"),
                       "engine / floor": ratio("engine", "floor"),
                       "engine / engine on SQLite": ratio("engine", "engine on SQLite")},
            "samples": samples}  # fmt: skip


def _servers(durable_only: bool) -> list[tuple[str, str, Any]]:
    """(label, url, cluster to stop) of the servers to measure on."""
    import os

    if os.environ.get("GRAPHFLOW_BENCH_POSTGRES"):
        return [("given server", os.environ["GRAPHFLOW_BENCH_POSTGRES"], None)]
    from graphflow.testing import postgres

    out = []
    for label, settings in (("fsync on", {"fsync": "on", "synchronous_commit": "on",
                                          "full_page_writes": "on"}),
                            ("fsync off", {}))[: 1 if durable_only else 2]:  # fmt: skip
        cluster = postgres.start_cluster(settings)
        out.append((label, cluster.url, cluster))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 steps, 1 round, one server")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)
    steps, rounds = (200, 1) if args.quick else (args.steps, args.rounds)
    report: dict[str, Any] = {"steps": steps, "rounds": rounds, "servers": {}}
    for label, url, cluster in _servers(args.quick):
        try:
            with tempfile.TemporaryDirectory() as folder:
                report["servers"][label] = measure(url, steps=steps, rounds=rounds,
                                                   folder=Path(folder))  # fmt: skip
        finally:
            if cluster is not None:
                cluster.stop()
    for label, result in report["servers"].items():
        print(f"== {label} ({steps} steps, {rounds} rounds)", file=sys.stderr)
        for name, value in result["values"].items():
            print(f"  {name:18} {value:8.1f} µs/step", file=sys.stderr)
        for name, value in result["ratios"].items():
            print(f"  {name:26} {value:5.2f}x", file=sys.stderr)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
