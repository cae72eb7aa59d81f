"""AutoGen AgentChat workloads: GraphFlow chains and fan-out, round-robin and selector
group chats, long two-agent conversations.

Runs inside the peer virtual environment (see ``benchmarks/peers/setup_venv.py``). Every
agent is an ``AssistantAgent`` on a ``ReplayChatCompletionClient`` (a scripted model in
the process, no network); a selector chat's selector is one too. The numbers are the
framework's cost per agent turn. AutoGen stores nothing; graphflow's agent rows commit
every step to SQLite.

    python benchmarks/peers/autogen_bench.py [--quick] [--reps N] [--only ROW]
    python benchmarks/peers/autogen_bench.py --long full 2000 10   # one long conversation
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import subprocess
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from autogen_agentchat.agents import AssistantAgent  # noqa: E402
from autogen_agentchat.teams import (  # noqa: E402
    DiGraphBuilder,
    GraphFlow,
    RoundRobinGroupChat,
    SelectorGroupChat,
)
from autogen_core.model_context import BufferedChatCompletionContext  # noqa: E402
from autogen_ext.models.replay import ReplayChatCompletionClient  # noqa: E402
from measure import Sizes, peak_rss_mb, per_turn  # noqa: E402
from worker import Sampler, standalone  # noqa: E402

__all__ = ["main", "samplers"]

REPLY = "Noted; here is my short contribution."


class StampedReplay(ReplayChatCompletionClient):
    """A replay client that notes when it is asked (one stamp per agent turn)."""

    def __init__(self, replies: list[str], stamps: list[float]) -> None:
        super().__init__(replies)
        self.stamps = stamps

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        self.stamps.append(time.perf_counter())
        return await super().create(*args, **kwargs)


def agent(name: str, replies: int = 1, stamps: list[float] | None = None,
          context: Any = None) -> AssistantAgent:  # fmt: skip
    """An assistant whose model replays ``replies`` scripted answers."""
    answers = [REPLY] * replies
    client = StampedReplay(answers, stamps) if stamps is not None else \
        ReplayChatCompletionClient(answers)  # fmt: skip
    return AssistantAgent(name, model_client=client, model_context=context,
                          description=f"specialist {name}")  # fmt: skip


def chain_flow(n: int) -> GraphFlow:
    """a0 → a1 → … → a{n-1}."""
    builder = DiGraphBuilder()
    agents = [agent(f"a{k}") for k in range(n)]
    for one in agents:
        builder.add_node(one)
    for left, right in itertools.pairwise(agents):
        builder.add_edge(left, right)
    builder.set_entry_point(agents[0])
    return GraphFlow(builder.get_participants(), graph=builder.build())


def fanout_flow(n: int) -> GraphFlow:
    """src → b0..b{n-1} in parallel → sink, which waits for all of them."""
    builder = DiGraphBuilder()
    src, sink = agent("src"), agent("sink")
    branches = [agent(f"b{k}") for k in range(n)]
    for one in [src, *branches, sink]:
        builder.add_node(one)
    for branch in branches:
        builder.add_edge(src, branch)
        builder.add_edge(branch, sink, activation_condition="all")
    builder.set_entry_point(src)
    return GraphFlow(builder.get_participants(), graph=builder.build())


def group(n: int, turns: int, selection: str, stamps: list[float]) -> Any:
    """n members for ``turns`` turns, in turn or picked by a scripted selector."""
    replies = math.ceil(turns / n) if selection == "rr" else turns
    members = [agent(f"agent_{k}", replies, stamps) for k in range(n)]
    if selection == "rr":
        return RoundRobinGroupChat(members, max_turns=turns)
    selector = ReplayChatCompletionClient([f"agent_{(k + 1) % n}" for k in range(turns + 5)])
    return SelectorGroupChat(members, model_client=selector, max_turns=turns,
                             allow_repeated_speaker=True)  # fmt: skip


async def timed_run(team: Any, turns: int) -> float:
    """Run a team on a task; ms per agent turn. Checks every agent turn happened."""
    start = time.perf_counter()
    result = await team.run(task="Discuss the task, one contribution each.")
    elapsed = time.perf_counter() - start
    spoken = [m for m in result.messages if getattr(m, "source", "user") != "user"]
    if len(spoken) != turns:
        raise AssertionError(f"expected {turns} agent turns, got {len(spoken)}")
    return elapsed / turns * 1e3


def flow_once(make: Any, turns: int) -> float:
    return asyncio.run(timed_run(make(), turns))


def group_once(n: int, turns: int, selection: str) -> tuple[float, dict[str, Any]]:
    stamps: list[float] = []
    team = group(n, turns, selection, stamps)
    value = asyncio.run(timed_run(team, turns))
    return value, per_turn(stamps)


def long_conversation(history: str, turns: int, window: int) -> dict[str, Any]:
    """Two assistants talk for ``turns`` turns (all messages, or the last ``window`` in
    a BufferedChatCompletionContext); turn costs and this process's peak memory."""
    stamps: list[float] = []

    def one(name: str) -> AssistantAgent:
        context = BufferedChatCompletionContext(buffer_size=window) if history == "window" \
            else None  # fmt: skip
        return agent(name, turns, stamps, context)

    team = RoundRobinGroupChat([one("alice"), one("bob")], max_turns=turns)
    asyncio.run(timed_run(team, turns))
    stats = per_turn(stamps)
    stats["rss"] = peak_rss_mb()
    stats["turns"] = len(stamps)
    return stats


def long_sample(history: str, turns: int, window: int) -> tuple[float, dict[str, Any]]:
    """One long conversation in a new interpreter; µs per turn over the last 100."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--long", history,
                           str(turns), str(window)], capture_output=True, text=True,
                          timeout=3600)  # fmt: skip
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"the long conversation failed: {tail}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    return float(stats["last100"]), stats


def fresh_import(starts: int) -> float:
    """Milliseconds a new interpreter takes to import AgentChat's agents and teams (the
    fastest of ``starts`` starts)."""
    code = ("from autogen_agentchat.agents import AssistantAgent\n"
            "from autogen_agentchat.teams import RoundRobinGroupChat\n")  # fmt: skip
    best = float("inf")
    for _ in range(starts):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def samplers(sizes: Sizes) -> list[Sampler]:
    """Every cell AutoGen measures."""
    small, large = sizes.chain
    fan = sizes.fanout
    out = [
        Sampler("agents.chain.small", "autogen", lambda: flow_once(lambda: chain_flow(small), small)),
        Sampler("agents.chain.large", "autogen", lambda: flow_once(lambda: chain_flow(large), large)),
        Sampler("agents.fanout", "autogen", lambda: flow_once(lambda: fanout_flow(fan), fan + 2)),
    ]
    for selection in ("rr", "auto"):
        for label, n in zip(("small", "large"), sizes.chat_agents, strict=True):
            row = f"agents.{selection}.{label}"
            out.append(Sampler(row, "autogen", lambda n=n, selection=selection: group_once(
                n, sizes.chat_turns, selection), derived={f"{row}.flat": "flat"}))  # fmt: skip
    for history in ("full", "window"):
        for label, turns in zip(("small", "large"), sizes.long_turns, strict=True):
            row = f"long.{history}.{label}"
            out.append(Sampler(f"{row}.turn", "autogen",
                               lambda history=history, turns=turns: long_sample(
                                   history, turns, sizes.window),
                               warmup=False, max_reps=3 if label == "large" else None,
                               derived={f"{row}.growth": "growth", f"{row}.rss": "rss"}))  # fmt: skip
    out.append(Sampler("start.import", "autogen", lambda: fresh_import(sizes.starts)))
    return out


def versions() -> dict[str, str]:
    return {dist: version(dist) for dist in ("autogen-agentchat", "autogen-core", "autogen-ext")}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    if argv[:1] == ["--long"]:
        print(json.dumps(long_conversation(argv[1], int(argv[2]), int(argv[3]))))
        return
    standalone("autogen", __doc__ or "", versions, samplers, argv)


if __name__ == "__main__":
    main()
