"""graphflow workloads, the same as the peers': engine overhead, store cost and growth,
resume latency, and agent-shaped graphs.

Prints the JSON document described in ``benchmarks/measure.py``. Nodes are trivial
function nodes (they bump a counter or append one message), so the numbers are the
engine's own cost. ``graphflow`` is the default store (WAL, ``synchronous=NORMAL``);
``graphflow_full`` is ``Store(..., durability="full")``, an fsync per step.

    python benchmarks/graphflow_bench.py [--quick] [--reps N] [--only ROW]
"""

from __future__ import annotations

import functools
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # measure the graphflow of this checkout

from measure import Recorder, Sizes, db_bytes, parse_args, payload, scratch_dir, sizes_for  # noqa: E402

__all__ = ["main"]

DURABILITY = {"graphflow": "normal", "graphflow_full": "full"}


def _bump(state: Any) -> dict[str, int]:
    return {"i": state.variables["i"] + 1}


def _graph_api() -> tuple[Any, Any, Any, Any]:
    from graphflow import Graph, Message, Store, Update

    return Graph, Store, Message, Update


def linear_graph(n: int) -> Any:
    """n0 → … → n{n-1} → done; each node adds one to ``i``."""
    graph_cls = _graph_api()[0]
    g = graph_cls("linear", entry="n0")
    for k in range(n):
        g.add_node(f"n{k}", _bump)
    g.add_node("done", kind="end")
    for k in range(n - 1):
        g.add_edge(f"n{k}", f"n{k + 1}")
    g.add_edge(f"n{n - 1}", "done")
    return g.compile()


def fanout_graph(n: int, speak: bool = False) -> Any:
    """src → b0..b{n-1} in one parallel step → sink (join all) → done."""
    graph_cls = _graph_api()[0]
    g = graph_cls("fanout", entry="src")
    branches = [f"b{k}" for k in range(n)]
    if speak:
        g.add_node("src", lambda s: "src says hello")
        for name in branches:
            g.add_node(name, lambda s, name=name: f"{name} says hello")
        g.add_node("sink", lambda s: "sink says hello", join="all")
    else:
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


def loop_graph(n: int, then: str = "done") -> Any:
    """One node that bumps ``i`` and loops while ``i < n``; then ``then``."""
    graph_cls = _graph_api()[0]
    g = graph_cls("loop", entry="n")
    g.add_node("n", _bump)
    if then == "ask":
        g.add_node("ask", kind="human", prompt="continue?", variable="answer")
        g.add_edge("ask", "done")
    g.add_node("done", kind="end")
    g.add_edge("n", "n", when=f"state.i < {n}")
    g.add_edge("n", then, otherwise=True)
    g.limits(max_steps=n + 10)
    return g.compile()


def growth_graph(n: int) -> Any:
    """A loop whose every step appends one 1 KB assistant message to the conversation."""
    graph_cls, _store, message_cls, update_cls = _graph_api()

    def speak(state: Any) -> Any:
        i = state.variables["i"]
        return update_cls(messages=[message_cls(role="assistant", content=payload(i))],
                          variables={"i": i + 1})  # fmt: skip

    g = graph_cls("growth", entry="speak")
    g.add_node("speak", speak)
    g.add_node("done", kind="end")
    g.add_edge("speak", "speak", when=f"state.i < {n}")
    g.add_edge("speak", "done", otherwise=True)
    g.limits(max_steps=n + 10)
    return g.compile()


def chain_graph(n: int) -> Any:
    """n agent-shaped nodes in a row, each appending one assistant message."""
    graph_cls = _graph_api()[0]
    g = graph_cls("chain", entry="a0")
    for k in range(n):
        g.add_node(f"a{k}", lambda s, k=k: f"a{k} says hello")
    g.add_node("done", kind="end")
    for k in range(n - 1):
        g.add_edge(f"a{k}", f"a{k + 1}")
    g.add_edge(f"a{n - 1}", "done")
    return g.compile()


def chat_graph(n: int, turns: int) -> Any:
    """A round-robin group chat: a manager node picks the next of n speakers (``goto``)
    until ``turns`` messages were spoken; every speaker hands back to the manager."""
    graph_cls, _store, _message, update_cls = _graph_api()

    def manager(state: Any) -> Any:
        spoken = state.variables["turns"]
        if spoken >= turns:
            return update_cls(goto="done")
        return update_cls(variables={"turns": spoken + 1}, goto=f"a{spoken % n}")

    g = graph_cls("chat", entry="manager")
    g.add_node("manager", manager)
    g.add_node("done", kind="end")
    for k in range(n):
        g.add_node(f"a{k}", lambda s, k=k: f"a{k} says hello")
        g.add_edge("manager", f"a{k}")
        g.add_edge(f"a{k}", "manager")
    g.add_edge("manager", "done")
    g.limits(max_steps=2 * turns + 10)
    return g.compile()


def _check(result: Any, ok: Callable[[Any], bool]) -> None:
    if result.status != "completed" or not ok(result):
        raise AssertionError(
            f"run ended {result.status} ({result.reason or result.error}); "
            f"variables {str(result.variables)[:200]}"
        )


def timed_run(graph: Any, store: Any, divide: int, ok: Callable[[Any], bool], **kw: Any) -> float:
    """One run; seconds per ``divide`` units, times 1e6 (µs)."""
    start = time.perf_counter()
    result = graph.run_sync(store=store, **kw)
    elapsed = time.perf_counter() - start
    _check(result, ok)
    return elapsed / divide * 1e6


def durable_once(graph: Any, folder: Path, durability: str, nodes: int,
                 ok: Callable[[Any], bool], **kw: Any) -> tuple[float, int]:  # fmt: skip
    """One run on a new database file: (µs per node step, database bytes)."""
    store_cls = _graph_api()[1]
    path = folder / f"gf-{time.perf_counter_ns()}.db"
    store = store_cls(path, durability=durability)
    try:
        micros = timed_run(graph, store, nodes, ok, **kw)
    finally:
        store.close()
    size = db_bytes(path)
    path.unlink()
    return micros, size


def empty_db(folder: Path) -> int:
    """Size of a run database with its tables and no run."""
    path = folder / "empty.db"
    _graph_api()[1](path).close()
    size = db_bytes(path)
    path.unlink()
    return size


def durable_rows(rec: Recorder, name: str, graph: Any, nodes: int, ok: Callable[[Any], bool],
                 folder: Path, empty: int, bytes_row: str | None = None,
                 total_row: str | None = None, **kw: Any) -> None:  # fmt: skip
    """Measure one workload with both store settings; record time and bytes."""
    for column, durability in DURABILITY.items():
        runs = [durable_once(graph, folder, durability, nodes, ok, **kw) for _ in range(rec.reps)]
        rec.add(f"{name}.durable", column, [t for t, _ in runs])
        if bytes_row and column == "graphflow":
            totals = {"db_bytes": [size for _, size in runs], "empty_db_bytes": empty}
            rec.add(bytes_row, column, [(size - empty) / nodes for _, size in runs], totals)
        if total_row and column == "graphflow":
            rec.add(total_row, column, [size / 1024 for _, size in runs])


def resume_once(n: int, prepared: Path, copy: Path, run_id: str) -> float:
    """Open a copy of a paused run's database, load the run, answer and finish it; ms."""
    store_cls = _graph_api()[1]
    shutil.copyfile(prepared, copy)
    start = time.perf_counter()
    graph = loop_graph(n, then="ask")
    store = store_cls(copy)
    result = graph.resume_sync(run_id, input="yes", store=store)
    store.close()
    elapsed = time.perf_counter() - start
    copy.unlink()
    _check(result, lambda r: r.variables.get("i") == n and r.variables.get("answer") == "yes")
    return elapsed * 1e3


def resume_rows(rec: Recorder, sizes: Sizes, folder: Path) -> None:
    store_cls = _graph_api()[1]
    for row, n in zip(("resume.small", "resume.medium", "resume.large"), sizes.resume, strict=True):
        if not rec.wants(row):
            continue
        prepared = folder / f"paused-{n}.db"
        with store_cls(prepared) as store:
            result = loop_graph(n, then="ask").run_sync(variables={"i": 0}, store=store)
        if result.status != "waiting":
            raise AssertionError(f"the run did not pause at the ask node: {result.status}")
        copy = folder / "copy.db"
        resume_once(n, prepared, copy, result.run_id)  # warm-up, not counted
        samples = [resume_once(n, prepared, copy, result.run_id) for _ in range(rec.reps)]
        rec.add(row, "graphflow", samples, {"db_bytes": db_bytes(prepared)})
        prepared.unlink()


def _counted(n: int) -> Callable[[Any], bool]:
    """A check that the run ended with ``i == n``."""
    return lambda result: bool(result.variables.get("i") == n)


def _grown(n: int) -> Callable[[Any], bool]:
    """A check that the run ended with ``i == n`` and n messages."""
    return lambda result: bool(result.variables.get("i") == n and len(result.messages) == n)


def engine_rows(rec: Recorder, sizes: Sizes, folder: Path, empty: int) -> None:
    n, f, loop = sizes.linear, sizes.fanout, sizes.loop
    workloads = {
        "linear": (linear_graph(n), n, _counted(n), "linear.bytes"),
        "fanout": (fanout_graph(f), f + 2, _counted(f), None),
        "loop": (loop_graph(loop), loop, _counted(loop), "loop.bytes"),
    }
    start = {"i": 0}
    for name, (graph, nodes, ok, bytes_row) in workloads.items():
        memory = functools.partial(timed_run, graph, None, nodes, ok, variables=start)
        rec.measure(f"{name}.memory", "graphflow", memory)
        rows = (f"{name}.durable",) + ((bytes_row,) if bytes_row else ())
        durable = functools.partial(
            durable_rows, rec, name, graph, nodes, ok, folder, empty, bytes_row, variables=start
        )
        rec.guard(rows, "graphflow", durable)
    for label, steps in zip(("small", "large"), sizes.growth, strict=True):
        name = f"growth.{label}"
        rows = (f"{name}.durable", f"{name}.bytes", f"{name}.total")
        durable = functools.partial(
            durable_rows, rec, name, growth_graph(steps), steps, _grown(steps), folder, empty,
            f"{name}.bytes", f"{name}.total", variables=start,
        )  # fmt: skip
        rec.guard(rows, "graphflow", durable)


def agent_rows(rec: Recorder, sizes: Sizes) -> None:
    """Agent-shaped graphs without a model: each turn appends one assistant message."""

    def per_turn(graph: Any, turns: int, **kw: Any) -> Callable[[], float]:
        spoken = lambda r: sum(1 for m in r.messages if m.role == "assistant") == turns  # noqa: E731
        return lambda: timed_run(graph, None, turns, spoken, input="go", **kw) / 1e3

    small, large = sizes.chain
    rec.measure("agents.chain.small", "graphflow", per_turn(chain_graph(small), small))
    rec.measure("agents.chain.large", "graphflow", per_turn(chain_graph(large), large))
    rec.measure("agents.fanout", "graphflow",
                per_turn(fanout_graph(sizes.fanout, speak=True), sizes.fanout + 2))  # fmt: skip
    for label, n in zip(("small", "large"), sizes.chat_agents, strict=True):
        graph = chat_graph(n, sizes.chat_turns)
        rec.measure(f"agents.chat.{label}", "graphflow",
                    per_turn(graph, sizes.chat_turns, variables={"turns": 0}))  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    args = parse_args(__doc__ or "", argv)
    sizes = sizes_for(args.quick)
    rec = Recorder("graphflow", reps=args.reps, quick=args.quick, only=tuple(args.only))
    import graphflow

    rec.versions["graphflow"] = getattr(graphflow, "__version__", "unknown")
    rec.info["store"] = {"graphflow": "WAL, synchronous=NORMAL",
                         "graphflow_full": "WAL, synchronous=FULL"}  # fmt: skip
    rec.info["agents"] = "function nodes that each append one assistant message (no model)"
    with scratch_dir("graphflow") as folder:
        empty = empty_db(folder)
        rec.info["empty_db_bytes"] = empty
        engine_rows(rec, sizes, folder, empty)
        rows = ("resume.small", "resume.medium", "resume.large")
        rec.guard(rows, "graphflow", lambda: resume_rows(rec, sizes, folder))
    agent_rows(rec, sizes)
    rec.emit(started)


if __name__ == "__main__":
    main()
