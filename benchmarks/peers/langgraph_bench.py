"""LangGraph workloads: engine overhead, SqliteSaver cost and growth, resume latency.

Runs inside the peer virtual environment (see ``benchmarks/peers/setup_venv.py``) and
prints the JSON document described in ``benchmarks/measure.py``. Nodes are trivial (they
bump a counter or append one message) so that the numbers are the framework's own cost.

    python benchmarks/peers/langgraph_bench.py [--quick] [--reps N] [--only ROW]
"""

from __future__ import annotations

import functools
import operator
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.messages import AIMessage, AnyMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt
from measure import Recorder, Sizes, db_bytes, parse_args, payload, scratch_dir, sizes_for

__all__ = ["main"]

COLUMN = {None: "langgraph", "sync": "langgraph_sync"}


class Counter(TypedDict):
    i: int


class Fan(TypedDict):
    i: int
    hits: Annotated[int, operator.add]


class Chat(TypedDict):
    i: int
    messages: Annotated[list[AnyMessage], add_messages]


class Paused(TypedDict):
    i: int
    answer: str


def _bump(state: Counter) -> dict[str, int]:
    return {"i": state["i"] + 1}


def linear_graph(n: int) -> StateGraph:
    """START → n0 → … → n{n-1} → END; each node adds one to ``i``."""
    builder = StateGraph(Counter)
    for k in range(n):
        builder.add_node(f"n{k}", _bump)
    builder.add_edge(START, "n0")
    for k in range(n - 1):
        builder.add_edge(f"n{k}", f"n{k + 1}")
    builder.add_edge(f"n{n - 1}", END)
    return builder


def fanout_graph(n: int) -> StateGraph:
    """src → b0..b{n-1} in one superstep → sink, which waits for every branch."""
    builder = StateGraph(Fan)
    builder.add_node("src", lambda s: {"i": 1})
    branches = [f"b{k}" for k in range(n)]
    for name in branches:
        builder.add_node(name, lambda s: {"hits": 1})
    builder.add_node("sink", lambda s: {"i": s["hits"]})
    builder.add_edge(START, "src")
    for name in branches:
        builder.add_edge("src", name)
    builder.add_edge(branches, "sink")
    builder.add_edge("sink", END)
    return builder


def loop_graph(n: int, then: str = END) -> StateGraph:
    """One node that bumps ``i`` and routes back to itself while ``i < n``."""
    builder = StateGraph(Counter)
    builder.add_node("n", _bump)
    builder.add_edge(START, "n")
    builder.add_conditional_edges("n", lambda s: "n" if s["i"] < n else then, ["n", then])
    return builder


def growth_graph(n: int) -> StateGraph:
    """A loop whose every step appends one 1 KB assistant message to the conversation."""

    def speak(state: Chat) -> dict[str, Any]:
        return {"i": state["i"] + 1, "messages": [AIMessage(content=payload(state["i"]))]}

    builder = StateGraph(Chat)
    builder.add_node("speak", speak)
    builder.add_edge(START, "speak")
    builder.add_conditional_edges("speak", lambda s: "speak" if s["i"] < n else END)
    return builder


def paused_graph(n: int) -> StateGraph:
    """The loop of ``n`` steps, then a node that asks a person (``interrupt``)."""

    def ask(state: Paused) -> dict[str, str]:
        return {"answer": interrupt("continue?")}

    builder = StateGraph(Paused)
    builder.add_node("n", _bump)
    builder.add_node("ask", ask)
    builder.add_edge(START, "n")
    builder.add_conditional_edges("n", lambda s: "n" if s["i"] < n else "ask", ["n", "ask"])
    builder.add_edge("ask", END)
    return builder


def _counted(n: int) -> Callable[[Any], bool]:
    """A check that the run ended with ``i == n``."""
    return lambda out: bool(out.get("i") == n)


def _grown(n: int) -> Callable[[Any], bool]:
    """A check that the run ended with ``i == n`` and n messages."""
    return lambda out: bool(out.get("i") == n and len(out.get("messages", ())) == n)


def _config(steps: int) -> dict[str, Any]:
    return {"configurable": {"thread_id": "bench"}, "recursion_limit": steps + 10}


def in_memory(
    builder: StateGraph, inp: dict[str, Any], nodes: int, check: Callable[..., bool]
) -> Callable[[], float]:
    """One run without a checkpointer; µs per node step."""
    graph = builder.compile()

    def once() -> float:
        start = time.perf_counter()
        out = graph.invoke(inp, _config(nodes))
        elapsed = time.perf_counter() - start
        if not check(out):
            raise AssertionError(f"unexpected final state {str(out)[:200]}")
        return elapsed / nodes * 1e6

    return once


def durable_once(
    builder: StateGraph,
    inp: dict[str, Any],
    nodes: int,
    durability: str | None,
    folder: Path,
    check: Callable[..., bool],
) -> tuple[float, int]:
    """One run on a new SqliteSaver file: (µs per node step, database bytes)."""
    path = folder / f"lg-{time.perf_counter_ns()}.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.setup()
        graph = builder.compile(checkpointer=saver)
        start = time.perf_counter()
        out = graph.invoke(inp, _config(nodes), durability=durability)
        elapsed = time.perf_counter() - start
    if not check(out):
        raise AssertionError(f"unexpected final state {str(out)[:200]}")
    size = db_bytes(path)
    path.unlink()
    return elapsed / nodes * 1e6, size


def empty_db(folder: Path) -> tuple[int, str]:
    """Size of a SqliteSaver database with its tables and no checkpoint, and the
    ``PRAGMA synchronous`` level its connection runs with."""
    path = folder / "empty.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.setup()
        level = int(saver.conn.execute("PRAGMA synchronous").fetchone()[0])
    size = db_bytes(path)
    path.unlink()
    return size, {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, str(level))


def durable_rows(
    rec: Recorder,
    name: str,
    builder: StateGraph,
    inp: dict[str, Any],
    nodes: int,
    check: Callable[..., bool],
    folder: Path,
    empty: int,
    bytes_row: str | None = None,
    total_row: str | None = None,
) -> None:
    """Measure one workload under default and sync durability; record time and bytes."""
    for durability, column in COLUMN.items():
        runs = [
            durable_once(builder, inp, nodes, durability, folder, check) for _ in range(rec.reps)
        ]
        rec.add(f"{name}.durable", column, [t for t, _ in runs])
        if bytes_row and durability is None:
            totals = {"db_bytes": [size for _, size in runs], "empty_db_bytes": empty}
            rec.add(bytes_row, column, [(size - empty) / nodes for _, size in runs], totals)
        if total_row and durability is None:
            rec.add(total_row, column, [size / 1024 for _, size in runs])


def resume_once(builder: StateGraph, prepared: Path, copy: Path, n: int) -> float:
    """Open a copy of a paused run's database in a new saver, load it, finish it; ms."""
    shutil.copyfile(prepared, copy)
    start = time.perf_counter()
    conn = sqlite3.connect(str(copy), check_same_thread=False)
    saver = SqliteSaver(conn)
    graph = builder.compile(checkpointer=saver)
    config = _config(n)
    snapshot = graph.get_state(config)
    out = graph.invoke(Command(resume="yes"), config)
    conn.close()
    elapsed = time.perf_counter() - start
    copy.unlink()
    if snapshot.next != ("ask",) or out.get("answer") != "yes" or out.get("i") != n:
        raise AssertionError(f"resume did not continue the paused run: {str(out)[:200]}")
    return elapsed * 1e3


def resume_rows(rec: Recorder, sizes: Sizes, folder: Path) -> None:
    for row, n in zip(("resume.small", "resume.medium", "resume.large"), sizes.resume, strict=True):
        if not rec.wants(row):
            continue
        builder = paused_graph(n)
        prepared = folder / f"paused-{n}.db"
        with SqliteSaver.from_conn_string(str(prepared)) as saver:
            out = builder.compile(checkpointer=saver).invoke({"i": 0}, _config(n))
            if "__interrupt__" not in out:
                raise AssertionError("the run did not pause at the ask node")
        resume_once(builder, prepared, folder / "copy.db", n)  # warm-up, not counted
        samples = [resume_once(builder, prepared, folder / "copy.db", n) for _ in range(rec.reps)]
        rec.add(row, "langgraph", samples, {"db_bytes": db_bytes(prepared)})
        prepared.unlink()


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    args = parse_args(__doc__ or "", argv)
    sizes = sizes_for(args.quick)
    rec = Recorder("langgraph", reps=args.reps, quick=args.quick, only=tuple(args.only))
    for dist in ("langgraph", "langgraph-checkpoint", "langgraph-checkpoint-sqlite",
                 "langchain-core"):  # fmt: skip
        rec.versions[dist] = version(dist)

    n, f, loop = sizes.linear, sizes.fanout, sizes.loop
    workloads = {
        "linear": (linear_graph(n), n, _counted(n), "linear.bytes"),
        "fanout": (fanout_graph(f), f + 2, _counted(f), None),
        "loop": (loop_graph(loop), loop, _counted(loop), "loop.bytes"),
    }
    with scratch_dir("langgraph") as folder:
        empty, synchronous = empty_db(folder)
        rec.info["empty_db_bytes"] = empty
        rec.info["sqlite_synchronous"] = synchronous
        rec.info["default_durability"] = "async"
        for name, (builder, nodes, check, bytes_row) in workloads.items():
            start = {"i": 0}
            rec.measure(f"{name}.memory", "langgraph", in_memory(builder, start, nodes, check))
            rows = (f"{name}.durable",) + ((bytes_row,) if bytes_row else ())
            durable = functools.partial(
                durable_rows, rec, name, builder, start, nodes, check, folder, empty, bytes_row
            )
            rec.guard(rows, "langgraph", durable)
        for label, steps in zip(("small", "large"), sizes.growth, strict=True):
            name = f"growth.{label}"
            rows = (f"{name}.durable", f"{name}.bytes", f"{name}.total")
            durable = functools.partial(
                durable_rows, rec, name, growth_graph(steps), {"i": 0, "messages": []}, steps,
                _grown(steps), folder, empty, f"{name}.bytes", f"{name}.total",
            )  # fmt: skip
            rec.guard(rows, "langgraph", durable)
        rows = ("resume.small", "resume.medium", "resume.large")
        rec.guard(rows, "langgraph", lambda: resume_rows(rec, sizes, folder))
    rec.emit(started)


if __name__ == "__main__":
    main()
