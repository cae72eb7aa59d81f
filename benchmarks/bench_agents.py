"""graphflow's agent workloads: the real ``agent`` kind (and the ``router`` of a group
chat) on in-process scripted models, every step checkpointed to an SQLite file.

- ``agents.chain`` / ``agents.fanout``: agents in a row, or 1→N→1; a turn is one agent
  message (the run's fixed cost is spread over its turns);
- ``agents.rr`` / ``agents.auto``: a group chat of N members for T turns, the manager
  picking speakers in turn or by asking a scripted selector model (a turn is a router
  step plus an agent step); ``.flat`` divides the cost of the last 50 turns by the
  first 50's, from the times the members' model was called;
- ``long``: two agents talking for thousands of turns, seeing the full history or the
  last 10 messages; each sample runs in a new interpreter, which reports the cost of
  turns 100-200 and of the last 100 and its peak memory.

The models answer instantly, so the numbers are graphflow's own cost per turn: the view
of the conversation, the model-call bookkeeping, routing and the durable commit.

    python benchmarks/bench_agents.py --long full 2000 FOLDER   # one long conversation
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # measure the graphflow of this checkout

from measure import Sizes, peak_rss_mb, per_turn  # noqa: E402
from worker import Sampler  # noqa: E402

__all__ = ["agent_samplers", "chain_graph", "group_chat_once", "long_conversation"]

REPLY = "Noted; here is my short contribution."
SCRIPTED = {"default": {"scripted": {"default": REPLY}}}


def members(n: int) -> list[Any]:
    """``n`` agents with descriptions, none of which ends the chat by itself."""
    from graphflow.patterns import Agent

    return [Agent(f"agent_{i}", human_input_mode="NEVER", is_termination_msg=None,
                  description=f"specialist number {i}; answers questions about topic {i}")
            for i in range(n)]  # fmt: skip


def chain_graph(n: int) -> Any:
    """n agents in a row, each answering once."""
    from graphflow import Graph

    g = Graph(f"chain_{n}", entry="agent_0")
    for i in range(n):
        g.add_node(f"agent_{i}", kind="agent", is_termination_msg=None)
    g.add_node("done", kind="end")
    for i in range(n - 1):
        g.add_edge(f"agent_{i}", f"agent_{i + 1}")
    g.add_edge(f"agent_{n - 1}", "done")
    g.models = SCRIPTED
    return g.compile()


def fanout_graph(n: int) -> Any:
    """An agent, then n agents in one parallel step, then an agent that waits for all."""
    from graphflow import Graph

    g = Graph(f"fanout_{n}", entry="src")
    g.add_node("src", kind="agent", is_termination_msg=None)
    g.add_node("sink", kind="agent", is_termination_msg=None, join="all")
    g.add_node("done", kind="end")
    for i in range(n):
        g.add_node(f"agent_{i}", kind="agent", is_termination_msg=None)
        g.add_edge("src", f"agent_{i}")
        g.add_edge(f"agent_{i}", "sink")
    g.add_edge("sink", "done")
    g.models = SCRIPTED
    return g.compile()


def graph_once(graph: Any, turns: int, folder: Path) -> float:
    """One run of an agent graph on a new SQLite file; ms per agent turn."""
    from graphflow import Store

    path = folder / f"agents-{time.perf_counter_ns()}.db"
    store = Store(path)
    try:
        start = time.perf_counter()
        result = graph.run_sync("Discuss the task, one contribution each.", store=store,
                                work_dir=folder)  # fmt: skip
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    path.unlink()
    spoken = sum(1 for m in result.messages if m.role == "assistant")
    if result.status != "completed" or spoken != turns:
        raise AssertionError(f"{graph.name}: {result.status} with {spoken} of {turns} turns")
    return elapsed / turns * 1e3


def group_chat_once(n: int, turns: int, selection: str,
                    folder: Path) -> tuple[float, dict[str, Any]]:  # fmt: skip
    """One group chat of ``n`` members for ``turns`` turns; ms per turn, and how the
    turn cost moved (``flat``: last 50 turns ÷ first 50)."""
    from graphflow import Store
    from graphflow.models import ModelSet, ScriptedModel
    from graphflow.patterns import initiate_group_chat_sync

    stamps: list[float] = []
    picked = [0]

    def reply(request: Any) -> str:
        stamps.append(time.perf_counter())
        return REPLY

    def pick(request: Any) -> str:
        picked[0] += 1
        return f"The next speaker should be agent_{picked[0] % n}."

    models = ModelSet({"default": ScriptedModel(reply),
                       "selector": ScriptedModel(pick, name="selector")})  # fmt: skip
    path = folder / f"chat-{time.perf_counter_ns()}.db"
    store = Store(path)
    try:
        start = time.perf_counter()
        result = initiate_group_chat_sync(
            members(n), "Discuss the task, one contribution each.", selection=selection,
            max_round=turns + 1, model="selector" if selection == "auto" else None,
            models=models, store=store, work_dir=folder)  # fmt: skip
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    path.unlink()
    if result.status != "completed" or len(stamps) != turns:
        raise AssertionError(f"group chat: {result.status} {result.reason} after "
                             f"{len(stamps)} of {turns} turns")  # fmt: skip
    return elapsed / turns * 1e3, per_turn(stamps)


#: When the long conversation's model was called (one stamp per agent turn).
STAMPS: list[float] = []


def long_reply(request: Any) -> str:
    """The long conversation's scripted model (named by import path in the graph's
    ``models:`` section, as a graph file would)."""
    STAMPS.append(time.perf_counter())
    return f"Reply number {len(STAMPS)}: I agree, and here is one more thought."


def long_conversation(history: str, turns: int, window: int, folder: Path) -> dict[str, Any]:
    """Two agents talk for ``turns`` turns (full history, or the last ``window``
    messages), checkpointed to an SQLite file; turn costs and this process's peak RSS."""
    from graphflow import Message, Store
    from graphflow.patterns import AssistantAgent, two_agent_chat

    STAMPS.clear()
    context = None if history == "full" else {"last": window}
    alice, bob = (AssistantAgent(name, is_termination_msg=None, context=context,
                                 max_consecutive_auto_reply=10 * turns)
                  for name in ("alice", "bob"))  # fmt: skip
    models = {"default": {"scripted": {"function": "bench_agents:long_reply"}}}
    graph = two_agent_chat(alice, bob, max_turns=turns // 2 + 1, models=models,
                           max_steps=turns + 50).compile()  # fmt: skip
    path = folder / f"long-{time.perf_counter_ns()}.db"
    store = Store(path)
    try:
        result = graph.run_sync([Message(role="user", name="alice", content="Let us talk.")],
                                store=store, work_dir=folder)  # fmt: skip
    finally:
        store.close()
    path.unlink()
    if result.status != "completed" or len(STAMPS) < turns:
        raise AssertionError(f"long chat: {result.status} {result.reason} after "
                             f"{len(STAMPS)} turns")  # fmt: skip
    stats = per_turn(STAMPS)
    stats["rss"] = peak_rss_mb()
    stats["turns"] = len(STAMPS)
    return stats


def long_sample(history: str, turns: int, window: int, folder: Path) -> tuple[float, dict]:
    """One long conversation in a new interpreter; µs per turn over the last 100."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--long", history,
                           str(turns), str(window), str(folder)],
                          capture_output=True, text=True, timeout=3600)  # fmt: skip
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"the long conversation failed: {tail}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    return float(stats["last100"]), stats


def agent_samplers(sizes: Sizes, folder: Path) -> list[Sampler]:
    """graphflow's agent cells."""
    out: list[Sampler] = []
    built: dict[str, Any] = {}

    def cached(key: str, build: Any) -> Any:
        if key not in built:
            built[key] = build()
        return built[key]

    def chain(n: int) -> float:
        return graph_once(cached(f"chain{n}", lambda: chain_graph(n)), n, folder)

    def fan(n: int) -> float:
        return graph_once(cached(f"fan{n}", lambda: fanout_graph(n)), n + 2, folder)

    small, large = sizes.chain
    out.append(Sampler("agents.chain.small", "graphflow", lambda: chain(small)))
    out.append(Sampler("agents.chain.large", "graphflow", lambda: chain(large)))
    out.append(Sampler("agents.fanout", "graphflow", lambda: fan(sizes.fanout)))
    for selection in ("rr", "auto"):
        method = "round_robin" if selection == "rr" else "auto"
        for label, n in zip(("small", "large"), sizes.chat_agents, strict=True):
            row = f"agents.{selection}.{label}"
            out.append(Sampler(row, "graphflow",
                               lambda n=n, method=method: group_chat_once(
                                   n, sizes.chat_turns, method, folder),
                               derived={f"{row}.flat": "flat"}))  # fmt: skip
    for history in ("full", "window"):
        for label, turns in zip(("small", "large"), sizes.long_turns, strict=True):
            row = f"long.{history}.{label}"
            out.append(Sampler(f"{row}.turn", "graphflow",
                               lambda history=history, turns=turns: long_sample(
                                   history, turns, sizes.window, folder),
                               warmup=False, max_reps=3 if label == "large" else None,
                               derived={f"{row}.growth": "growth", f"{row}.rss": "rss"}))  # fmt: skip
    return out


def main(argv: list[str]) -> int:
    """``--long HISTORY TURNS WINDOW FOLDER``: one long conversation; prints its stats."""
    if len(argv) != 5 or argv[0] != "--long" or argv[1] not in ("full", "window"):
        print("usage: bench_agents.py --long full|window TURNS WINDOW FOLDER", file=sys.stderr)
        return 2
    stats = long_conversation(argv[1], int(argv[2]), int(argv[3]), Path(argv[4]))
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    import bench_agents  # one module, whose long_reply the graph names by import path

    raise SystemExit(bench_agents.main(sys.argv[1:]))
