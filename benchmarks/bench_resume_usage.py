"""Resuming a run whose steps used models: two graphflow trees side by side, interleaved.

The run: a writer and a critic take turns for ``steps`` steps, each step adding a
200-byte message and reporting its usage (``Update(usage=...)``, what an agent turn
records), then a person is asked. Each sample copies the paused database, flushes the
copy to disk, then times what ``graphflow resume`` does: compile the graph, open the
store, load the run, answer, run the last step, close (as the resume rows of
``graphflow_bench.py``).

A side is a graphflow source tree: ``after`` is this checkout, ``before`` the tree
``--before`` names (for example ``git archive COMMIT graphflow | tar -x -C DIR``). Each
side prepares its own database and times its resumes in a worker process of its own
(its tree first on ``sys.path``; imports and the first resume left out), and the sides
alternate sample by sample, the side that goes first swapping every sample, so that both
see the same machine.

    python benchmarks/bench_resume_usage.py --before DIR [--steps 20000 100000] [--samples 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import fsync_copy

HERE = Path(__file__).resolve().parent

__all__ = ["main", "paused_graph"]

TEXT = "x" * 200


def paused_graph(steps: int) -> Any:
    """The writer/critic run that pauses after ``steps`` steps (``steps`` even)."""
    from graphflow import Graph, Message, Update

    def writer(state: Any) -> Update:
        return Update(messages=[Message(role="assistant", name="writer", content=TEXT)],
                      usage={"prompt_tokens": 120, "completion_tokens": 40, "cost": 0.0004,
                             "model": "big"})  # fmt: skip

    def critic(state: Any) -> Update:
        return Update(messages=[Message(role="assistant", name="critic", content=TEXT)],
                      usage={"prompt_tokens": 160, "completion_tokens": 20, "cost": 0.0002,
                             "model": "small"})  # fmt: skip

    g = Graph("billed_chat", entry="writer")
    g.add_node("writer", writer)
    g.add_node("critic", critic)
    g.add_node("ask", kind="human", prompt="go on?")
    g.add_node("done", kind="end")
    g.add_edge("writer", "critic")
    g.add_edge("critic", "ask", when=f"visits.critic == {steps // 2}")
    g.add_edge("critic", "writer", otherwise=True)
    g.add_edge("ask", "done")
    g.limits(max_steps=steps + 10)
    return g.compile()




def _worker(folder: Path) -> None:
    """Answer ``prepare N`` and ``once N`` lines on stdin with JSON lines on stdout."""
    import graphflow
    from graphflow import Store

    prepared: dict[int, Path] = {}
    for line in sys.stdin:
        command, steps = line.split()[0], int(line.split()[1])
        if command == "prepare":
            path = folder / f"paused-{steps}.db"
            store = Store(path)
            try:
                result = paused_graph(steps).run_sync(store=store, run_id="r")
            finally:
                store.close()
            assert result.status == "waiting", result.status
            prepared[steps] = path
            print(json.dumps({"db_bytes": path.stat().st_size, "graphflow": graphflow.__file__}),
                  flush=True)  # fmt: skip
        else:
            copy = folder / "copy.db"
            fsync_copy(prepared[steps], copy)
            start = time.perf_counter()
            graph = paused_graph(steps)
            store = Store(copy)
            result = graph.resume_sync("r", input="yes", store=store)
            store.close()
            elapsed = time.perf_counter() - start
            copy.unlink()
            assert result.status == "completed", result.error
            assert result.usage["by_node"]["writer"]["calls"] == steps // 2
            print(json.dumps({"ms": elapsed * 1e3}), flush=True)


class Side:
    """One graphflow tree's worker process."""

    def __init__(self, name: str, tree: Path, folder: Path) -> None:
        self.name = name
        (folder / name).mkdir()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(tree), str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]))  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys, pathlib, bench_resume_usage as b; "
             "b._worker(pathlib.Path(sys.argv[1]))", str(folder / name)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            cwd=folder / name)  # fmt: skip (not this folder: ``-c`` puts the cwd first on the path)

    def ask(self, command: str, steps: int) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{command} {steps}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker stopped")
        return dict(json.loads(line))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True,
                        help="a graphflow source tree to compare with (holds graphflow/)")  # fmt: skip
    parser.add_argument("--steps", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args(argv)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="resume-usage-") as tmp:
        sides = [Side("before", args.before, Path(tmp)), Side("after", HERE.parent, Path(tmp))]
        try:
            for steps in args.steps:
                prepared = {side.name: side.ask("prepare", steps) for side in sides}
                sizes = {name: answer["db_bytes"] for name, answer in prepared.items()}
                trees = {Path(answer["graphflow"]).parent.parent for answer in prepared.values()}
                assert len(trees) == 2, f"both sides import the graphflow of {trees}"
                for side in sides:
                    side.ask("once", steps)  # warm-up, not counted
                times: dict[str, list[float]] = {side.name: [] for side in sides}
                for sample in range(args.samples):
                    for side in sides if sample % 2 == 0 else reversed(sides):
                        times[side.name].append(side.ask("once", steps)["ms"])
                row = {name: statistics.median(ms) for name, ms in times.items()}
                low = {name: min(ms) for name, ms in times.items()}
                out[str(steps)] = {"median_ms": row, "min_ms": low, "db_bytes": sizes,
                                   "samples": times}  # fmt: skip
                print(f"{steps:>7} steps: before {row['before']:8.1f} ms (min {low['before']:.1f})"
                      f"   after {row['after']:6.1f} ms (min {low['after']:.1f})   "
                      f"{row['before'] / row['after']:.1f}x; databases "
                      f"{sizes['before'] / 1e6:.0f} / {sizes['after'] / 1e6:.0f} MB", flush=True)
        finally:
            for side in sides:
                side.close()
    return out


if __name__ == "__main__":
    main()
