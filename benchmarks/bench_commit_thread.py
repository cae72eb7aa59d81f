"""Whether committing each step on a writer thread, while the next step runs, would make
durable steps cheaper (LangGraph's ``durability="async"`` does this).

Plain ``sqlite3`` and a stand-in for the engine's work per step (a Python loop of about
``--work`` µs), three ways, interleaved round by round in one process, each on a new WAL
database (``synchronous=NORMAL``, the floor's table and unique index):

- ``inline``: the step's Python, then its INSERT (one autocommit transaction), in turn —
  what graphflow does;
- ``thread, durable first``: the INSERT goes to a writer thread; the next step's Python
  waits for it first (a node runs only after the previous step is durable);
- ``thread, async``: the next step's Python runs while the INSERT is in flight (one at a
  time), as with asynchronous durability.

The sqlite3 module lets go of the GIL inside SQLite, so on two cores the writer's commit
could overlap the next step's Python; the figures say whether the hand-over between
threads costs more than that overlap saves. Prints the median µs per step of each way and
the median same-round ratios to ``inline``.

Run: ``python benchmarks/bench_commit_thread.py [--steps 2000] [--rounds 7] [--work 10]
[--json]``
"""

from __future__ import annotations

import argparse
import json
import queue
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

WAYS = ("inline", "thread, durable first", "thread, async")
_INSERT = "INSERT INTO steps (run_id, step, data) VALUES (?, ?, ?)"


def _database(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE steps (run_id TEXT NOT NULL, step INTEGER NOT NULL, data TEXT)")
    conn.execute("CREATE UNIQUE INDEX steps_key ON steps(run_id, step)")
    return conn


def _engine(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i
    return total


def _loops_for(micros: float) -> int:
    """How many iterations of :func:`_engine` take about ``micros`` µs here."""
    start = time.perf_counter()
    _engine(100_000)
    per_loop = (time.perf_counter() - start) / 100_000 * 1e6
    return max(1, round(micros / per_loop))


def inline(conn: sqlite3.Connection, steps: int, loops: int) -> None:
    for step in range(steps):
        _engine(loops)
        conn.execute(_INSERT, ("run", step, '{"i": 1}'))


def threaded(conn: sqlite3.Connection, steps: int, loops: int, durable_first: bool) -> None:
    todo: queue.SimpleQueue[tuple[str, int, str] | None] = queue.SimpleQueue()
    done: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()

    def writer() -> None:
        while (row := todo.get()) is not None:
            try:
                conn.execute(_INSERT, row)
                done.put(None)
            except BaseException as exc:  # handed back to the stepping thread
                done.put(exc)

    def wait() -> None:
        error = done.get()
        if error is not None:
            raise error

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    in_flight = False
    try:
        for step in range(steps):
            if durable_first and in_flight:
                wait()
            _engine(loops)
            if not durable_first and in_flight:
                wait()
            todo.put(("run", step, '{"i": 1}'))
            in_flight = True
        if in_flight:
            wait()
    finally:
        todo.put(None)
        thread.join()


def _timed(folder: Path, steps: int, run: Callable[[sqlite3.Connection], None]) -> float:
    path = folder / f"c-{time.perf_counter_ns()}.db"
    conn = _database(path)
    try:
        start = time.perf_counter()
        run(conn)
        return (time.perf_counter() - start) / steps * 1e6
    finally:
        conn.close()
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)


def measure(steps: int, rounds: int, work: float) -> dict[str, object]:
    """Median µs per step of each way and the median same-round ratios to ``inline``."""
    loops = _loops_for(work)
    ways: dict[str, Callable[[sqlite3.Connection], None]] = {
        "inline": lambda c: inline(c, steps, loops),
        "thread, durable first": lambda c: threaded(c, steps, loops, durable_first=True),
        "thread, async": lambda c: threaded(c, steps, loops, durable_first=False),
    }
    taken: dict[str, list[float]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory(prefix="graphflow-commit-thread-") as folder:
        for index in range(rounds):
            order = WAYS if index % 2 == 0 else WAYS[::-1]
            for way in order:
                taken[way].append(_timed(Path(folder), steps, ways[way]))
    ratios = {way: statistics.median(a / b for a, b in zip(taken[way], taken["inline"],
                                                           strict=True))
              for way in WAYS[1:]}  # fmt: skip
    return {"steps": steps, "rounds": rounds, "work_us": work,
            "us_per_step": {way: statistics.median(v) for way, v in taken.items()},
            "ratio_to_inline": ratios}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--work", type=float, default=10.0,
                        help="the engine's Python per step to stand in for, µs")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = measure(args.steps, args.rounds, args.work)
    if args.json:
        print(json.dumps(out, indent=1))
        return
    per_step = out["us_per_step"]
    ratios = out["ratio_to_inline"]
    assert isinstance(per_step, dict) and isinstance(ratios, dict)
    print(f"{args.steps} steps, ~{args.work:g} µs of Python per step, {args.rounds} rounds")
    for way in WAYS:
        ratio = f"  ({ratios[way]:.2f}x inline)" if way in ratios else ""
        print(f"  {way:22s} {per_step[way]:7.1f} µs/step{ratio}")


if __name__ == "__main__":
    main()
