"""Scale-out: runs per second of Celery workers sharing one run store, next to one process.

    python benchmarks/bench_workers.py [--runs 1000] [--workers 1 2 4] [--steps 10]
                                       [--latency 0.05] [--json out.json]

The load: ``--runs`` runs of a graph of ``--steps`` agent nodes in a row, each a call to
the scripted OpenAI-compatible server on loopback (``graphflow.testing.ModelServer``, in a
process of its own) that answers after ``--latency`` seconds. Every run has its own input,
so no answer comes from the response cache.

- **one process**: the runs one after the other in this process, on an SQLite file (the
  embedded default, no broker);
- **N workers**: N ``graphflow worker --concurrency 1`` processes on one SQLite file and a
  Redis broker (``GRAPHFLOW_TEST_REDIS``, else a ``redis-server`` started here); the
  clock runs from the first submit (``graphflow.distributed.submit``, from this
  process, while the workers work) until the store holds every run completed.

It prints one Markdown table: runs, seconds, runs per second, and the ratio to one worker
and to one process; ``--json`` writes the figures too. A full run (1,000 runs) takes
about 35 minutes on a 2-core machine; ``--runs 100`` about 4.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_models import server_process  # noqa: E402

__all__ = ["main"]


def graph_text(steps: int, base_url: str) -> str:
    """A graph of ``steps`` agents in a row on the model at ``base_url``."""
    nodes = "\n".join(f"  a{i}:\n    kind: agent\n    system_message: You are agent {i}; "
                      "answer in one sentence." for i in range(steps))  # fmt: skip
    edges = "\n".join(f"  - {{from: a{i}, to: a{i + 1}}}" for i in range(steps - 1))
    return (f"graph: scaleout\nentry: a0\nmodels: {{model: bench, base_url: '{base_url}', "
            f"timeout: 30, max_retries: 0}}\nlimits: {{max_steps: {steps + 5}}}\nnodes:\n"
            f"{nodes}\n  done: {{kind: end}}\nedges:\n{edges}\n"
            f"  - {{from: a{steps - 1}, to: done}}\n")  # fmt: skip


def one_process(graph_file: Path, db: Path, runs: int) -> float:
    """Seconds to run ``runs`` runs one after the other in this process."""
    from graphflow import runs as api
    from graphflow.loader import load
    from graphflow.store import Store

    graph = load(graph_file)
    store = Store(db)
    try:
        started = time.perf_counter()
        for i in range(runs):
            result = api.run_sync(api.start(graph, f"run {i}", store=store))
            assert result.status == "completed", result.reason
        return time.perf_counter() - started
    finally:
        store.close()


def _completed(db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM runs WHERE status='completed'"
                                ).fetchone()[0])  # fmt: skip
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def on_workers(graph_file: Path, db: Path, runs: int, workers: int, broker: str,
               folder: Path) -> float:  # fmt: skip
    """Seconds for ``workers`` worker processes to complete ``runs`` submitted runs."""
    import redis

    from graphflow.distributed import submit
    from graphflow.loader import load

    redis.Redis.from_url(broker).flushdb()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH",
                                                                                  "")])}
    procs, logs = [], []
    for n in range(workers):
        log = folder / f"worker-{workers}-{n}.log"
        logs.append(log)
        with open(log, "wb") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "graphflow.cli", "worker", "--db", str(db), "--broker",
                 broker, "--concurrency", "1"], cwd=folder, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not all(" ready." in log.read_text(errors="replace") for log in logs):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.05)
        graph = load(graph_file)
        started = time.perf_counter()
        for i in range(runs):
            submit(graph, f"run {i}", store=db, broker=broker)
        while _completed(db) < runs:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker exited")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def _broker(folder: Path) -> tuple[str, Any]:
    named = os.environ.get("GRAPHFLOW_TEST_REDIS")
    if named:
        return named, None
    from graphflow.testing.redis import RedisServer

    server = RedisServer(folder / "redis").start()
    return server.url, server


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="graphflow-scaleout-") as tmp, \
            server_process(args.latency) as (base_url, _count):  # fmt: skip
        folder = Path(tmp)
        graph_file = folder / "scaleout.yaml"
        graph_file.write_text(graph_text(args.steps, base_url))
        broker, server = _broker(folder)
        try:
            seconds = one_process(graph_file, folder / "one.db", args.runs)
            rows.append({"mode": "one process, SQLite", "processes": 1, "seconds": seconds})
            for n in args.workers:
                seconds = on_workers(graph_file, folder / f"w{n}.db", args.runs, n, broker,
                                     folder)  # fmt: skip
                rows.append({"mode": f"{n} worker{'s' if n > 1 else ''}, SQLite + Redis",
                             "processes": n, "seconds": seconds})  # fmt: skip
        finally:
            if server is not None:
                server.close()
    one = rows[0]["runs_per_s"] = args.runs / rows[0]["seconds"]
    base = None
    for row in rows[1:]:
        row["runs_per_s"] = args.runs / row["seconds"]
        base = base or row["runs_per_s"]
        row["vs_one_worker"] = row["runs_per_s"] / base
        row["vs_one_process"] = row["runs_per_s"] / one
    print(f"{args.runs} runs of {args.steps} steps, model latency {args.latency * 1000:.0f} ms\n")
    print("| mode | runs/s | seconds | x 1 worker | x one process |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        vs_worker = f"{row['vs_one_worker']:.2f}" if "vs_one_worker" in row else "-"
        print(f"| {row['mode']} | {row['runs_per_s']:.2f} | {row['seconds']:.1f} | "
              f"{vs_worker} | {row.get('vs_one_process', 1.0):.2f} |")
    result = {"runs": args.runs, "steps": args.steps, "latency": args.latency, "rows": rows,
              "cpus": os.cpu_count()}  # fmt: skip
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
