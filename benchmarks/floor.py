"""The raw SQLite floor: what one durable step costs with nothing but the standard library.

Each step is one INSERT and one COMMIT on a WAL database, into a table with the unique
``(run_id, step)`` index a run store needs (graphflow's ``steps`` table has it, and so
does every checkpointer that can find a step again), with ``synchronous=NORMAL`` (no
fsync per commit; survives a process crash) or ``FULL`` (an fsync per commit; survives
a power loss). Steps that carry a 1 KB message insert 1 KB. No engine can checkpoint a
step durably for less on the same disk, so ``graphflow / floor`` says how much engine sits
on top.

    python benchmarks/floor.py [--quick] [--reps N] [--only ROW]
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from measure import PAYLOAD_BYTES, Sizes, payload, scratch_dir
from worker import Sampler, standalone

__all__ = ["FLOOR_ROWS", "floor_once", "samplers"]

#: Result rows that are per-step durable costs, with the bytes each step inserts.
FLOOR_ROWS = {
    "linear.durable": 0,
    "fanout.durable": 0,
    "loop.durable": 0,
    "growth.small.durable": PAYLOAD_BYTES,
    "growth.large.durable": PAYLOAD_BYTES,
}
SETTINGS = {"floor": "NORMAL", "floor_full": "FULL"}


def floor_once(path: Path, synchronous: str, steps: int, message: int = 0) -> float:
    """Insert-and-commit ``steps`` times into a new WAL database; µs per step. The table
    is created before the clock starts.

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
        conn.execute("CREATE TABLE steps (run_id TEXT NOT NULL, step INTEGER NOT NULL, data TEXT)")
        conn.execute("CREATE UNIQUE INDEX steps_key ON steps(run_id, step)")
        insert = "INSERT INTO steps (run_id, step, data) VALUES (?, ?, ?)"
        rows = [payload(s) if message else f'{{"i": {s}}}' for s in range(steps)]
        start = time.perf_counter()
        for step in range(steps):
            conn.execute("BEGIN")
            conn.execute(insert, ("run", step, rows[step]))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return elapsed / steps * 1e6


def samplers(sizes: Sizes, folder: Path) -> list[Sampler]:
    """The floor's cells: both settings on every durable row."""
    out = []
    for row, message in FLOOR_ROWS.items():
        for column, synchronous in SETTINGS.items():
            def once(synchronous: str = synchronous, message: int = message) -> float:
                path = folder / f"floor-{time.perf_counter_ns()}.db"
                try:
                    return floor_once(path, synchronous, sizes.floor_steps, message)
                finally:
                    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                        leftover.unlink(missing_ok=True)

            out.append(Sampler(row, column, once))
    return out


def main(argv: list[str] | None = None) -> None:
    with scratch_dir("floor") as folder:
        standalone("sqlite-floor", __doc__ or "", lambda: {"sqlite": sqlite3.sqlite_version},
                   lambda sizes: samplers(sizes, folder), argv)  # fmt: skip


if __name__ == "__main__":
    main()
