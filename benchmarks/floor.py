"""The raw SQLite floor: what one durable step costs with nothing but the standard library.

Each step is one INSERT and one COMMIT on a WAL database, into a table with the unique
``(run_id, step)`` index a run store needs (graphflow's ``steps`` table has it, and so
does every checkpointer that can find a step again), with ``synchronous=NORMAL`` (no
fsync per commit; survives a process crash) or ``FULL`` (an fsync per commit; survives
a power loss). Steps that carry a 1 KB message insert 1 KB. No engine can checkpoint a
step durably for less on the same disk, so ``graphflow / floor`` says how much engine sits
on top.

Each row's floor commits as many steps into a new database as the workload it is set
against has nodes (a chain of 200 nodes: 200 commits): what one commit costs depends on
how many came before — the first few hundred grow the new WAL file, and from about the
470th on SQLite checkpoints the WAL every ~470 commits (its 1,000-page default), each
checkpoint costing milliseconds — so a floor of another length would compare unlike
things (200 commits cost about 15 µs each here, 2,000 about 19).

    python benchmarks/floor.py [--quick] [--reps N] [--only ROW]
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from measure import PAYLOAD_BYTES, Sizes, payload, scratch_dir
from worker import Sampler, standalone

__all__ = ["FLOOR_ROWS", "floor_once", "floor_steps", "samplers"]

#: Result rows that are per-step durable costs, with the bytes each step inserts.
FLOOR_ROWS = {
    "linear.durable": 0,
    "fanout.durable": 0,
    "loop.durable": 0,
    "growth.small.durable": PAYLOAD_BYTES,
    "growth.large.durable": PAYLOAD_BYTES,
}


def floor_steps(row: str, sizes: Sizes) -> int:
    """How many steps the floor of ``row`` commits: as many as its workload has nodes
    (graphflow's per-node figure divides by that number too).

    Example:
        >>> from measure import FULL
        >>> floor_steps("linear.durable", FULL), floor_steps("fanout.durable", FULL)
        (200, 52)
    """
    nodes = {"linear.durable": sizes.linear, "fanout.durable": sizes.fanout + 2,
             "loop.durable": sizes.loop, "growth.small.durable": sizes.growth[0],
             "growth.large.durable": sizes.growth[1]}  # fmt: skip
    return nodes[row]
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
        steps = floor_steps(row, sizes)
        for column, synchronous in SETTINGS.items():
            def once(synchronous: str = synchronous, message: int = message,
                     steps: int = steps) -> float:  # fmt: skip
                path = folder / f"floor-{time.perf_counter_ns()}.db"
                try:
                    return floor_once(path, synchronous, steps, message)
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
