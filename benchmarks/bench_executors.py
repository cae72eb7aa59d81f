"""Benchmark of code executors: the start-up cost of running ``print(1)``.

For each executor that works on this machine, runs one Python block ``print(1)``
``--runs`` times and reports the median and spread of the wall time of
``executor.run(...)``:

- ``local``: a plain subprocess;
- ``sandbox``: the same under bubblewrap (new namespaces, read-only root, prlimit);
- ``docker cold``: a new executor each time, so a container is created, used and
  removed per run (what the first execution of a run costs, plus cleanup);
- ``docker warm``: ``docker exec`` into the run's existing container (every later
  execution of a run).

Executors that are unavailable are listed with the reason instead of a number.

Run: ``python benchmarks/bench_executors.py [--runs 20] [--cold-runs 5] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from graphflow.errors import ExecutorUnavailable
from graphflow.execution import extract_code_blocks, get_executor, unavailable_reason

__all__ = ["main", "measure"]

BLOCKS = extract_code_blocks("```python\nprint(1)\n```")


async def measure(runs: int, once: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """Run ``once`` ``runs`` times (after one warm-up) and summarise the times in ms.

    Example:
        >>> async def nothing() -> None:
        ...     pass
        >>> sorted(asyncio.run(measure(3, nothing)))
        ['max_ms', 'median_ms', 'min_ms', 'runs']
    """
    await once()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await once()
        samples.append((time.perf_counter() - started) * 1000)
    return {"runs": runs, "median_ms": round(statistics.median(samples), 2),
            "min_ms": round(min(samples), 2), "max_ms": round(max(samples), 2)}  # fmt: skip


async def _bench(name: str, runs: int, work_dir: Path) -> dict[str, Any]:
    executor = get_executor(name, run_id=f"bench-{name}")

    async def once() -> None:
        result = await executor.run(BLOCKS, work_dir, 30)
        if result.output != "1\n":
            raise RuntimeError(f"{name}: unexpected output {result.output!r}")

    try:
        return await measure(runs, once)
    finally:
        executor.close()


async def _docker_cold(runs: int, work_dir: Path) -> dict[str, Any]:
    counter = iter(range(10**6))

    async def once() -> None:
        executor = get_executor("docker", run_id=f"bench-cold-{next(counter)}")
        try:
            result = await executor.run(BLOCKS, work_dir, 30)
        finally:
            executor.close()
        if result.output != "1\n":
            raise RuntimeError(f"docker cold: unexpected output {result.output!r}")

    return await measure(runs, once)


async def run_all(runs: int, cold_runs: int) -> dict[str, Any]:
    """Measure every executor; unavailable ones get their reason instead."""
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="graphflow-bench-") as tmp:
        work_dir = Path(tmp)
        for name in ("local", "sandbox", "docker"):
            problem = unavailable_reason(name)
            label = "docker warm" if name == "docker" else name
            if problem is not None:
                rows[label] = {"unavailable": problem}
                if name == "docker":
                    rows["docker cold"] = {"unavailable": problem}
                continue
            try:
                if name == "docker":
                    rows["docker cold"] = await _docker_cold(cold_runs, work_dir)
                rows[label] = await _bench(name, runs, work_dir)
            except ExecutorUnavailable as exc:
                rows[label] = {"unavailable": str(exc)}
    return rows


def _table(rows: dict[str, Any]) -> str:
    lines = [f"{'executor':<12} {'runs':>5} {'median ms':>10} {'min ms':>8} {'max ms':>8}",
             "-" * 47]  # fmt: skip
    for label, row in rows.items():
        if "unavailable" in row:
            lines.append(f"{label:<12} unavailable: {row['unavailable'][:120]}")
        else:
            lines.append(f"{label:<12} {row['runs']:>5} {row['median_ms']:>10.1f} "
                         f"{row['min_ms']:>8.1f} {row['max_ms']:>8.1f}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints a table (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per executor (warm)")
    parser.add_argument("--cold-runs", type=int, default=5, help="runs of docker cold")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    rows = asyncio.run(run_all(max(1, args.runs), max(1, args.cold_runs)))
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
