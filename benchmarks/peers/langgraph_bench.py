"""LangGraph workloads: engine overhead, SqliteSaver cost and growth, resume latency.

Runs inside the peer virtual environment (see ``benchmarks/peers/setup_venv.py``). Nodes
are trivial (they bump a counter or append one message), so the numbers are the
framework's own cost. Columns, like for like with graphflow's:

- ``langgraph``: checkpoints written before the next step starts (``durability="sync"``)
  to a ``SqliteSaver`` whose connection runs with ``synchronous=NORMAL`` (WAL, no fsync
  per commit), as graphflow's default store; the "in memory" rows use ``InMemorySaver``;
- ``langgraph_full``: the same with the saver's own ``synchronous=FULL`` (an fsync per
  checkpoint), as ``Store(path, durability="full")``;
- ``langgraph_delta``: messages kept in a ``DeltaChannel`` (LangGraph's beta option that
  stores each step's new messages instead of the whole list), ``synchronous=NORMAL``.

    python benchmarks/peers/langgraph_bench.py [--quick] [--reps N] [--only ROW]
"""

from __future__ import annotations

import operator
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, TypedDict

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from langchain_core.messages import AIMessage  # noqa: E402
from langgraph.channels.delta import DeltaChannel  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.graph.message import _messages_delta_reducer, add_messages  # noqa: E402
from langgraph.types import Command, interrupt  # noqa: E402
from measure import Sizes, db_bytes, fsync_copy, message_text, payload, scratch_dir  # noqa: E402
from worker import Sampler, standalone  # noqa: E402

__all__ = ["main", "samplers"]

SYNCHRONOUS = {"langgraph": "NORMAL", "langgraph_full": "FULL", "langgraph_delta": "NORMAL"}
#: Resuming is measured up to these sizes; beyond them preparing the run takes too long
#: (the whole message list in every checkpoint; DeltaChannel writes a full snapshot
#: every 100 messages and takes milliseconds per step at 10,000).
RESUME_LIMIT = {"langgraph": 1_000, "langgraph_delta": 10_000}


class Counter(TypedDict):
    i: int


class Fan(TypedDict):
    i: int
    hits: Annotated[int, operator.add]


class Chat(TypedDict):
    i: int
    messages: Annotated[list, add_messages]


class DeltaChat(TypedDict):
    i: int
    messages: Annotated[list, DeltaChannel(_messages_delta_reducer)]


class Paused(TypedDict):
    i: int
    answer: str
    messages: Annotated[list, add_messages]


class DeltaPaused(TypedDict):
    i: int
    answer: str
    messages: Annotated[list, DeltaChannel(_messages_delta_reducer)]


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


def loop_graph(n: int) -> StateGraph:
    """One node that bumps ``i`` and routes back to itself while ``i < n``."""
    builder = StateGraph(Counter)
    builder.add_node("n", _bump)
    builder.add_edge(START, "n")
    builder.add_conditional_edges("n", lambda s: "n" if s["i"] < n else END, ["n", END])
    return builder


def speaking_graph(n: int, text: Callable[[int], str], state: type, ask: bool = False
                   ) -> StateGraph:  # fmt: skip
    """A loop whose every step appends one assistant message ``text(i)``; then ends, or
    asks a person (``interrupt``) first."""

    def speak(s: Any) -> dict[str, Any]:
        i = s["i"]
        return {"i": i + 1, "messages": [AIMessage(content=text(i), id=f"m{i}")]}

    def asking(s: Any) -> dict[str, str]:
        return {"answer": interrupt("continue?")}

    builder = StateGraph(state)
    builder.add_node("speak", speak)
    builder.add_edge(START, "speak")
    after = END
    if ask:
        builder.add_node("ask", asking)
        builder.add_edge("ask", END)
        after = "ask"
    builder.add_conditional_edges("speak", lambda s: "speak" if s["i"] < n else after,
                                  ["speak", after])  # fmt: skip
    return builder


def _config(steps: int) -> dict[str, Any]:
    return {"configurable": {"thread_id": "bench"}, "recursion_limit": steps + 10}


def open_saver(path: Path, synchronous: str) -> tuple[sqlite3.Connection, SqliteSaver]:
    """A SqliteSaver on a new connection, its tables made, at ``synchronous``."""
    conn = sqlite3.connect(str(path), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn, saver


def memory_once(graph: Any, inp: dict[str, Any], nodes: int,
                check: Callable[[Any], bool]) -> float:  # fmt: skip
    """One run checkpointed to an InMemorySaver made before the clock starts; µs/node."""
    compiled = graph.compile(checkpointer=InMemorySaver())
    start = time.perf_counter()
    out = compiled.invoke(inp, _config(nodes), durability="sync")
    elapsed = time.perf_counter() - start
    if not check(out):
        raise AssertionError(f"unexpected final state {str(out)[:200]}")
    return elapsed / nodes * 1e6


def durable_once(graph: StateGraph, inp: dict[str, Any], nodes: int, synchronous: str,
                 folder: Path, check: Callable[[Any], bool],
                 empty: int) -> tuple[float, dict[str, Any]]:  # fmt: skip
    """One run on a new SqliteSaver file: µs per node step, and the database's bytes."""
    path = folder / f"lg-{time.perf_counter_ns()}.db"
    conn, saver = open_saver(path, synchronous)
    try:
        compiled = graph.compile(checkpointer=saver)
        start = time.perf_counter()
        out = compiled.invoke(inp, _config(nodes), durability="sync")
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    if not check(out):
        raise AssertionError(f"unexpected final state {str(out)[:200]}")
    size = db_bytes(path)
    path.unlink()
    return elapsed / nodes * 1e6, {"bytes": (size - empty) / nodes, "kb": size / 1024,
                                   "db_bytes": size}  # fmt: skip


def empty_db(folder: Path) -> int:
    """Size of a SqliteSaver database with its tables and no checkpoint."""
    path = folder / "empty.db"
    conn, _ = open_saver(path, "NORMAL")
    conn.close()
    size = db_bytes(path)
    path.unlink()
    return size




class PausedRun:
    """A thread of ``n`` steps (a 200-byte message each) paused at an ``interrupt``, and
    the timed resume of a copy: open a new saver, compile, load (``get_state``), answer,
    run the last step, close."""

    def __init__(self, n: int, delta: bool, folder: Path) -> None:
        self.n, self.folder = n, folder
        self.graph = speaking_graph(n, message_text, DeltaPaused if delta else Paused, ask=True)
        self.prepared: Path | None = None
        self.name = "delta" if delta else "plain"

    def once(self) -> tuple[float, dict[str, Any]]:
        if self.prepared is None:
            self.prepared = self.folder / f"paused-{self.name}-{self.n}.db"
            conn, saver = open_saver(self.prepared, "NORMAL")
            out = self.graph.compile(checkpointer=saver).invoke(
                {"i": 0, "answer": "", "messages": []}, _config(self.n), durability="sync")
            conn.close()
            if "__interrupt__" not in out:
                raise AssertionError("the run did not pause at the ask node")
        copy = self.folder / "copy.db"
        fsync_copy(self.prepared, copy)
        start = time.perf_counter()
        conn = sqlite3.connect(str(copy), check_same_thread=False)
        conn.execute("PRAGMA synchronous = NORMAL")
        compiled = self.graph.compile(checkpointer=SqliteSaver(conn))
        snapshot = compiled.get_state(_config(self.n))
        out = compiled.invoke(Command(resume="yes"), _config(self.n), durability="sync")
        conn.close()
        elapsed = time.perf_counter() - start
        copy.unlink()
        if snapshot.next != ("ask",) or out.get("answer") != "yes" or out.get("i") != self.n:
            raise AssertionError(f"resume did not continue the paused run: {str(out)[:200]}")
        return elapsed * 1e3, {"db_bytes": db_bytes(self.prepared)}


class NotMeasured(RuntimeError):
    """A cell this side does not measure, with the reason."""


def skipped(reason: str) -> Callable[[], float]:
    def once() -> float:
        raise NotMeasured(reason)

    return once


def fresh_import(starts: int) -> float:
    """Milliseconds a new interpreter takes to import LangGraph's graph and saver (the
    fastest of ``starts`` starts)."""
    code = ("from langgraph.graph import StateGraph\n"
            "from langgraph.checkpoint.sqlite import SqliteSaver\n")  # fmt: skip
    best = float("inf")
    for _ in range(starts):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def samplers(sizes: Sizes, folder: Path) -> list[Sampler]:
    """Every cell LangGraph measures."""
    out: list[Sampler] = []
    empty: list[int] = []

    def base() -> int:
        if not empty:
            empty.append(empty_db(folder))
        return empty[0]

    def counted(n: int) -> Callable[[Any], bool]:
        return lambda state: bool(state.get("i") == n)

    def spoken(n: int) -> Callable[[Any], bool]:
        return lambda state: bool(state.get("i") == n and len(state.get("messages", ())) == n)

    n, f, loop = sizes.linear, sizes.fanout, sizes.loop
    workloads = {
        "linear": (linear_graph(n), n, counted(n), True),
        "fanout": (fanout_graph(f), f + 2, counted(f), False),
        "loop": (loop_graph(loop), loop, counted(loop), True),
    }
    for name, (graph, nodes, check, has_bytes) in workloads.items():
        out.append(Sampler(f"{name}.memory", "langgraph",
                           lambda graph=graph, nodes=nodes, check=check: memory_once(
                               graph, {"i": 0}, nodes, check)))  # fmt: skip
        for column in ("langgraph", "langgraph_full"):
            derived = {f"{name}.bytes": "bytes"} if has_bytes and column == "langgraph" else None
            out.append(Sampler(f"{name}.durable", column,
                               lambda graph=graph, nodes=nodes, check=check, column=column:
                               durable_once(graph, {"i": 0}, nodes, SYNCHRONOUS[column],
                                            folder, check, base()),
                               derived=derived))  # fmt: skip
    for label, steps in zip(("small", "large"), sizes.growth, strict=True):
        key = f"growth.{label}"
        for column in ("langgraph", "langgraph_full", "langgraph_delta"):
            state = DeltaChat if column == "langgraph_delta" else Chat
            graph = speaking_graph(steps, payload, state)
            derived = ({f"{key}.bytes": "bytes", f"{key}.total": "kb"}
                       if column != "langgraph_full" else None)  # fmt: skip
            out.append(Sampler(f"{key}.durable", column,
                               lambda graph=graph, steps=steps, column=column: durable_once(
                                   graph, {"i": 0, "messages": []}, steps, SYNCHRONOUS[column],
                                   folder, spoken(steps), base()),
                               derived=derived))  # fmt: skip
    rows = ("resume.small", "resume.medium", "resume.large", "resume.huge")
    for row, steps in zip(rows, sizes.resume, strict=True):
        for column, limit in RESUME_LIMIT.items():
            if steps <= limit:
                paused = PausedRun(steps, column == "langgraph_delta", folder)
                out.append(Sampler(row, column, paused.once))
            else:
                what = "a checkpoint holds every message so far" if column == "langgraph" \
                    else "DeltaChannel writes a full snapshot every 100 messages"  # fmt: skip
                out.append(Sampler(row, column, skipped(
                    f"not run: preparing {steps:,} steps takes too long here ({what})"),
                    warmup=False))  # fmt: skip
    out.append(Sampler("start.import", "langgraph", lambda: fresh_import(sizes.starts)))
    return out


def versions() -> dict[str, str]:
    return {dist: version(dist) for dist in ("langgraph", "langgraph-checkpoint",
                                             "langgraph-checkpoint-sqlite", "langchain-core")}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    with scratch_dir("langgraph") as folder:
        standalone("langgraph", __doc__ or "", versions,
                   lambda sizes: samplers(sizes, folder), argv)  # fmt: skip


if __name__ == "__main__":
    main()
