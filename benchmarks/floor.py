"""The raw SQLite floor: what one durable step costs with nothing but the standard library.

Each step is one small INSERT and one COMMIT on a WAL database, with
``synchronous=NORMAL`` (no fsync per commit; survives a process crash) or ``FULL`` (an
fsync per commit; survives a power loss). No engine can checkpoint a step durably for
less on the same disk, so ``graphflow / floor`` says how much engine sits on top.

    python benchmarks/floor.py [--quick] [--reps N]
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path

from measure import Recorder, parse_args, scratch_dir, sizes_for

__all__ = ["FLOOR_ROWS", "floor_once", "measure_floor"]

#: Result rows that are per-step durable costs, on which the floor is shown.
FLOOR_ROWS = (
    "linear.durable",
    "fanout.durable",
    "loop.durable",
    "growth.small.durable",
    "growth.large.durable",
)


def floor_once(path: Path, synchronous: str, steps: int) -> float:
    """Insert-and-commit ``steps`` times into a new WAL database; µs per step.

    Example:
        >>> with scratch_dir("doc") as folder:
        ...     floor_once(folder / "f.db", "NORMAL", 10) > 0
        True
    """
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("CREATE TABLE steps (run_id TEXT, step INTEGER, data TEXT)")
        insert = "INSERT INTO steps (run_id, step, data) VALUES (?, ?, ?)"
        start = time.perf_counter()
        for step in range(steps):
            conn.execute("BEGIN")
            conn.execute(insert, ("run", step, f'{{"i": {step}}}'))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return elapsed / steps * 1e6


def measure_floor(rec: Recorder, steps: int) -> dict[str, float]:
    """Measure both settings ``rec.reps`` times; record them on every durable row.

    Returns the medians, ``{"floor": µs, "floor_full": µs}``.
    """
    medians: dict[str, float] = {}
    with scratch_dir("floor") as folder:
        for column, synchronous in (("floor", "NORMAL"), ("floor_full", "FULL")):
            samples = []
            for rep in range(rec.reps):
                samples.append(floor_once(folder / f"{column}-{rep}.db", synchronous, steps))
            medians[column] = statistics.median(samples)
            for row in FLOOR_ROWS:
                if rec.wants(row):
                    rec.add(row, column, samples, {"steps": steps, "synchronous": synchronous})
    return medians


def main() -> None:
    started = time.perf_counter()
    args = parse_args(__doc__ or "")
    rec = Recorder("sqlite-floor", reps=args.reps, quick=args.quick, only=tuple(args.only))
    rec.versions["sqlite"] = sqlite3.sqlite_version
    measure_floor(rec, sizes_for(args.quick).floor_steps)
    rec.emit(started)


if __name__ == "__main__":
    main()
