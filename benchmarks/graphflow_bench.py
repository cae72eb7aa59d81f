"""graphflow workloads, the same as the peers': engine overhead, store cost and growth,
resume latency, agent conversations (``bench_agents.py``) and cold start.

Engine workloads use trivial function nodes (they bump a counter or append one message),
so the numbers are the engine's own cost. ``graphflow`` is the default store (WAL,
``synchronous=NORMAL``), or an in-memory store for the "in memory" rows; ``graphflow_full``
is ``Store(..., durability="full")``, an fsync per step. Every store is created before
the clock starts.

    python benchmarks/graphflow_bench.py [--quick] [--reps N] [--only ROW]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))  # measure the graphflow of this checkout

from measure import Sizes, db_bytes, fsync_copy, message_text, payload, scratch_dir  # noqa: E402
from worker import Sampler, standalone  # noqa: E402

__all__ = ["main", "samplers"]

DURABILITY = {"graphflow": "normal", "graphflow_full": "full"}


def _bump(state: Any) -> dict[str, int]:
    return {"i": state.variables["i"] + 1}


def _api() -> Any:
    import graphflow

    return graphflow


def linear_graph(n: int) -> Any:
    """n0 → … → n{n-1} → done; each node adds one to ``i``."""
    g = _api().Graph("linear", entry="n0")
    for k in range(n):
        g.add_node(f"n{k}", _bump)
    g.add_node("done", kind="end")
    for k in range(n - 1):
        g.add_edge(f"n{k}", f"n{k + 1}")
    g.add_edge(f"n{n - 1}", "done")
    return g.compile()


def fanout_graph(n: int) -> Any:
    """src → b0..b{n-1} in one parallel step → sink (join all) → done."""
    g = _api().Graph("fanout", entry="src")
    branches = [f"b{k}" for k in range(n)]
    g.add_node("src", lambda s: {"i": 1})
    for name in branches:
        g.add_node(name, lambda s, name=name: {name: 1})
    g.add_node("sink", lambda s: {"i": sum(1 for b in branches if s.variables.get(b))},
               join="all")  # fmt: skip
    g.add_node("done", kind="end")
    for name in branches:
        g.add_edge("src", name)
        g.add_edge(name, "sink")
    g.add_edge("sink", "done")
    return g.compile()


def loop_graph(n: int) -> Any:
    """One node that bumps ``i`` and loops while ``i < n``."""
    g = _api().Graph("loop", entry="n")
    g.add_node("n", _bump)
    g.add_node("done", kind="end")
    g.add_edge("n", "n", when=f"state.i < {n}")
    g.add_edge("n", "done", otherwise=True)
    g.limits(max_steps=n + 10)
    return g.compile()


def speaking_graph(n: int, text: Callable[[int], str], then_ask: bool = False) -> Any:
    """A loop whose every step appends one assistant message ``text(i)``; then ends, or
    asks a person (``kind="human"``) first."""
    gf = _api()

    def speak(state: Any) -> Any:
        i = state.variables["i"]
        return gf.Update(messages=[gf.Message(role="assistant", content=text(i))],
                         variables={"i": i + 1})  # fmt: skip

    g = gf.Graph("speaking", entry="speak")
    g.add_node("speak", speak)
    g.add_node("done", kind="end")
    after = "done"
    if then_ask:
        g.add_node("ask", kind="human", prompt="continue?", variable="answer")
        g.add_edge("ask", "done")
        after = "ask"
    g.add_edge("speak", "speak", when=f"state.i < {n}")
    g.add_edge("speak", after, otherwise=True)
    g.limits(max_steps=n + 10)
    return g.compile()


def _check(result: Any, ok: Callable[[Any], bool]) -> None:
    if result.status != "completed" or not ok(result):
        raise AssertionError(f"run ended {result.status} ({result.reason or result.error}); "
                             f"variables {str(result.variables)[:200]}")  # fmt: skip


def timed_run(graph: Any, store: Any, divide: int, ok: Callable[[Any], bool], **kw: Any) -> float:
    """One run on ``store`` (opened by the caller); µs per ``divide`` units."""
    start = time.perf_counter()
    result = graph.run_sync(store=store, **kw)
    elapsed = time.perf_counter() - start
    _check(result, ok)
    return elapsed / divide * 1e6


def memory_once(graph: Any, nodes: int, ok: Callable[[Any], bool]) -> float:
    """One run on an in-memory store created before the clock starts; µs per node."""
    store = _api().Store(":memory:")
    try:
        return timed_run(graph, store, nodes, ok, variables={"i": 0})
    finally:
        store.close()


def durable_once(graph: Any, folder: Path, durability: str, nodes: int,
                 ok: Callable[[Any], bool], empty: int = 0) -> tuple[float, dict[str, Any]]:  # fmt: skip
    """One run on a new database file: µs per node, and the database's bytes."""
    path = folder / f"gf-{time.perf_counter_ns()}.db"
    store = _api().Store(path, durability=durability)
    try:
        micros = timed_run(graph, store, nodes, ok, variables={"i": 0})
    finally:
        store.close()
    size = db_bytes(path)
    path.unlink()
    return micros, {"bytes": (size - empty) / nodes, "kb": size / 1024, "db_bytes": size}


def empty_db(folder: Path) -> int:
    """Size of a run database with its tables and no run."""
    path = folder / "empty.db"
    _api().Store(path).close()
    size = db_bytes(path)
    path.unlink()
    return size


def _counted(n: int) -> Callable[[Any], bool]:
    return lambda result: bool(result.variables.get("i") == n)


def _spoken(n: int) -> Callable[[Any], bool]:
    return lambda result: bool(result.variables.get("i") == n and len(result.messages) == n)




class Paused:
    """A run of ``n`` steps (a 200-byte message each) paused at a human checkpoint, and
    the timed resume of a copy of it: compile, open the store, load the run, answer, run
    the last step, close."""

    def __init__(self, n: int, folder: Path) -> None:
        self.n, self.folder = n, folder
        self.prepared: Path | None = None
        self.run_id = ""

    def prepare(self) -> None:
        self.prepared = self.folder / f"paused-{self.n}.db"
        store = _api().Store(self.prepared)
        try:
            result = speaking_graph(self.n, message_text, then_ask=True).run_sync(
                variables={"i": 0}, store=store)  # fmt: skip
        finally:
            store.close()
        if result.status != "waiting":
            raise AssertionError(f"the run did not pause at the ask node: {result.status}")
        self.run_id = result.run_id

    def once(self) -> tuple[float, dict[str, Any]]:
        if self.prepared is None:
            self.prepare()
        assert self.prepared is not None
        copy = self.folder / "copy.db"
        fsync_copy(self.prepared, copy)
        start = time.perf_counter()
        graph = speaking_graph(self.n, message_text, then_ask=True)
        store = _api().Store(copy)
        result = graph.resume_sync(self.run_id, input="yes", store=store)
        store.close()
        elapsed = time.perf_counter() - start
        copy.unlink()
        # the n messages and the person's answer (len() reads no message)
        _check(result, lambda r: r.variables.get("answer") == "yes"
               and len(r.messages) == self.n + 1)  # fmt: skip
        return elapsed * 1e3, {"db_bytes": db_bytes(self.prepared)}


def fresh_interpreter(code: list[str], starts: int = 1) -> float:
    """Milliseconds a new interpreter of this Python takes to run ``code`` (this
    checkout's graphflow first on its path): the fastest of ``starts`` starts, the one
    least disturbed by whatever else the machine runs."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))  # fmt: skip
    best = float("inf")
    for _ in range(starts):
        start = time.perf_counter()
        subprocess.run([sys.executable, *code], cwd=str(ROOT.parent), env=env, check=True,
                       capture_output=True)  # fmt: skip
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def engine_samplers(sizes: Sizes, folder: Path) -> list[Sampler]:
    out: list[Sampler] = []
    n, f, loop = sizes.linear, sizes.fanout, sizes.loop
    cached: dict[str, Any] = {}

    def graph(key: str, build: Callable[[], Any]) -> Any:
        if key not in cached:
            cached[key] = build()
        return cached[key]

    def empty() -> int:
        if "empty" not in cached:
            cached["empty"] = empty_db(folder)
        return int(cached["empty"])

    workloads: dict[str, tuple[Callable[[], Any], int, Callable[[Any], bool], bool]] = {
        "linear": (lambda: linear_graph(n), n, _counted(n), True),
        "fanout": (lambda: fanout_graph(f), f + 2, _counted(f), False),
        "loop": (lambda: loop_graph(loop), loop, _counted(loop), True),
    }
    for name, (build, nodes, ok, has_bytes) in workloads.items():
        out.append(Sampler(f"{name}.memory", "graphflow", lambda name=name, build=build,
                           nodes=nodes, ok=ok: memory_once(graph(name, build), nodes, ok)))  # fmt: skip
        for column, durability in DURABILITY.items():
            derived = {f"{name}.bytes": "bytes"} if has_bytes and column == "graphflow" else None
            out.append(Sampler(f"{name}.durable", column,
                               lambda name=name, build=build, nodes=nodes, ok=ok,
                               durability=durability: durable_once(
                                   graph(name, build), folder, durability, nodes, ok, empty()),
                               derived=derived))  # fmt: skip
    for label, steps in zip(("small", "large"), sizes.growth, strict=True):
        key = f"growth.{label}"
        for column, durability in DURABILITY.items():
            derived = ({f"{key}.bytes": "bytes", f"{key}.total": "kb"}
                       if column == "graphflow" else None)  # fmt: skip
            out.append(Sampler(f"{key}.durable", column,
                               lambda key=key, steps=steps, durability=durability: durable_once(
                                   graph(key, lambda: speaking_graph(steps, payload)), folder,
                                   durability, steps, _spoken(steps), empty()),
                               derived=derived))  # fmt: skip
    rows = ("resume.small", "resume.medium", "resume.large", "resume.huge")
    for row, steps in zip(rows, sizes.resume, strict=True):
        paused = Paused(steps, folder)
        out.append(Sampler(row, "graphflow", paused.once))
    out.append(Sampler("start.help", "graphflow", lambda: fresh_interpreter(
        ["-m", "graphflow", "--help"], sizes.starts)))  # fmt: skip
    out.append(Sampler("start.import", "graphflow", lambda: fresh_interpreter(
        ["-c", "import graphflow"], sizes.starts)))  # fmt: skip
    return out


def samplers(sizes: Sizes, folder: Path) -> list[Sampler]:
    """Every cell graphflow measures."""
    from bench_agents import agent_samplers

    return engine_samplers(sizes, folder) + agent_samplers(sizes, folder)


def versions() -> dict[str, str]:
    return {"graphflow": str(getattr(_api(), "__version__", "unknown"))}


def main(argv: list[str] | None = None) -> None:
    with scratch_dir("graphflow") as folder:
        standalone("graphflow", __doc__ or "", versions,
                   lambda sizes: samplers(sizes, folder), argv)  # fmt: skip


if __name__ == "__main__":
    main()
