"""What a durable step costs apart from the run around it: the start and end of a run,
and the cost of one more step, next to the raw SQLite floor over the same steps.

A chain's per-node figure in ``run.py`` is a whole run divided by its nodes, so it holds
the run's start and end too (the event loop, the run row with the graph's spec, the last
status), which the floor — one INSERT and COMMIT per step, its table made before the
clock starts — does not have. This script separates them: it times runs of 2, N and 2N
nodes (a chain, and a loop of one node) and the floor's N and 2N commits, each on a new
database, the sides interleaved in every round, and prints

- ``run``: a 2-node run, the run's own cost (ms);
- ``step``: (time of 2N nodes - time of N) ÷ N, one more step (µs), and the floor's
  (2N - N commits) ÷ N;
- the per-node figure of N nodes as ``run.py`` gives it, and the ratios to the floor
  (medians of same-round ratios);
- ``bare``: a hand-written loop doing only what a chain step must (call the function,
  merge its dict, build the step row, one INSERT) on a graphflow store's own table, per
  step of N: how low an engine on this store could go.

    python benchmarks/bench_step_parts.py [--steps N] [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # measure the graphflow of this checkout

from floor import floor_once  # noqa: E402
from graphflow_bench import _counted, durable_once, linear_graph, loop_graph  # noqa: E402
from measure import scratch_dir  # noqa: E402

__all__ = ["main", "measure"]


def _floor(folder: Path, steps: int) -> float:
    """µs per commit of ``steps`` commits into a new database."""
    path = folder / f"floor-{time.perf_counter_ns()}.db"
    try:
        return floor_once(path, "NORMAL", steps)
    finally:
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)


def _bump_dict(state: dict[str, Any]) -> dict[str, Any]:
    return {"i": state["i"] + 1}


def _bare(folder: Path, steps: int) -> float:
    """µs per step of a hand-written chain loop doing only what a chain step must — call
    the node's function, merge its dict, build the step row with its JSON (nodes, delta,
    head), one autocommit INSERT — into the ``steps`` table of a graphflow store made
    before the clock starts: how low an engine on this store could go."""
    import json as _json

    from graphflow import Store

    path = folder / f"bare-{time.perf_counter_ns()}.db"
    store = Store(path)
    encode = _json.JSONEncoder(separators=(",", ":")).encode
    insert = ("INSERT INTO steps (run_id, step, nodes, variables, next, usage, started_at,"
              " seconds) VALUES (?,?,?,?,?,?,?,?)")  # fmt: skip
    names = [f"n{k}" for k in range(steps)] + ["done"]
    try:
        conn = store.conn.raw
        start = time.perf_counter()
        state: dict[str, Any] = {"i": 0}
        for step in range(steps):
            began = time.time()
            delta = _bump_dict(state)
            state.update(delta)
            head = {"run": [names[step + 1]], "wait": [], "via": {names[step]: [names[step + 1]]}}
            conn.execute(insert, ("bare-run", step, encode([names[step]]), encode(delta),
                                  encode(head), None, began, time.time() - began))  # fmt: skip
        return (time.perf_counter() - start) / steps * 1e6
    finally:
        store.close()
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)


def measure(steps: int, rounds: int, folder: Path) -> dict[str, Any]:
    """The medians over ``rounds`` interleaved rounds (the first one not counted), in µs
    per node of whole runs, per run, and per added step.

    Example:
        >>> with scratch_dir("doc") as folder:
        ...     out = measure(20, 2, folder)
        >>> sorted(out["chain"])
        ['per_node', 'per_node_ratio', 'run_ms', 'step', 'step_ratio']
    """
    graphs: dict[str, Callable[[int], Any]] = {"chain": linear_graph, "loop": loop_graph}
    built = {(name, n): make(n) for name, make in graphs.items() for n in (2, steps, 2 * steps)}
    samples: dict[str, list[float]] = {}

    def keep(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    for round_no in range(rounds + 1):
        taken: dict[str, float] = {}
        for (name, n), graph in built.items():
            micros, _ = durable_once(graph, folder, "normal", n, _counted(n))
            taken[f"{name}.{n}"] = micros * n  # the whole run, µs
        for n in (steps, 2 * steps):
            taken[f"floor.{n}"] = _floor(folder, n) * n
        taken["bare"] = _bare(folder, steps)
        if round_no == 0:
            continue  # imports, caches
        floor_step = (taken[f"floor.{2 * steps}"] - taken[f"floor.{steps}"]) / steps
        floor_node = taken[f"floor.{steps}"] / steps
        keep("floor.step", floor_step)
        keep("floor.per_node", floor_node)
        keep("bare.per_node", taken["bare"])
        keep("bare.per_node_ratio", taken["bare"] / floor_node)
        for name in graphs:
            step = (taken[f"{name}.{2 * steps}"] - taken[f"{name}.{steps}"]) / steps
            per_node = taken[f"{name}.{steps}"] / steps
            keep(f"{name}.run", taken[f"{name}.2"])
            keep(f"{name}.step", step)
            keep(f"{name}.per_node", per_node)
            keep(f"{name}.step_ratio", step / floor_step)  # same-round ratios
            keep(f"{name}.per_node_ratio", per_node / floor_node)
    med = {key: statistics.median(values) for key, values in samples.items()}
    out: dict[str, Any] = {"steps": steps, "rounds": rounds,
                           "floor": {"step": med["floor.step"], "per_node": med["floor.per_node"]},
                           "bare": {"per_node": med["bare.per_node"],
                                    "per_node_ratio": med["bare.per_node_ratio"]}}  # fmt: skip
    for name in graphs:
        out[name] = {"run_ms": med[f"{name}.run"] / 1e3, "step": med[f"{name}.step"],
                     "per_node": med[f"{name}.per_node"],
                     "step_ratio": med[f"{name}.step_ratio"],
                     "per_node_ratio": med[f"{name}.per_node_ratio"]}  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=200, help="N (default 200)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds counted (default 7)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    with scratch_dir("parts") as folder:
        out = measure(args.steps, args.rounds, folder)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    floor = out["floor"]
    print(f"{args.steps} and {2 * args.steps} nodes, {args.rounds} rounds; "
          f"floor: {floor['per_node']:.1f} µs per commit over {args.steps}, "
          f"{floor['step']:.1f} µs per added commit")  # fmt: skip
    bare = out["bare"]
    print(f"bare : a hand-written chain step (function, merge, row, INSERT) "
          f"{bare['per_node']:.1f} µs per node over {args.steps} "
          f"({bare['per_node_ratio']:.2f}x the floor)")  # fmt: skip
    for name in ("chain", "loop"):
        part = out[name]
        print(f"{name:5s}: run of 2 nodes {part['run_ms']:.2f} ms; "
              f"{part['per_node']:.1f} µs per node over {args.steps} "
              f"({part['per_node_ratio']:.2f}x the floor); one more step "
              f"{part['step']:.1f} µs ({part['step_ratio']:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
