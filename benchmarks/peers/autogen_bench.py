"""AutoGen AgentChat workloads: GraphFlow chains and fan-out, round-robin group chats.

Runs inside the peer virtual environment (see ``benchmarks/peers/setup_venv.py``) and
prints the JSON document described in ``benchmarks/measure.py``. Every agent is an
``AssistantAgent`` on a ``ReplayChatCompletionClient`` (a scripted model, no network), so
the numbers are the framework's cost per agent turn. AutoGen has no durable store.

    python benchmarks/peers/autogen_bench.py [--quick] [--reps N] [--only ROW]
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.teams import DiGraphBuilder, GraphFlow, RoundRobinGroupChat
from autogen_ext.models.replay import ReplayChatCompletionClient
from measure import Recorder, parse_args, sizes_for

__all__ = ["main"]


def agent(name: str, replies: int = 1) -> AssistantAgent:
    """An assistant whose model replays ``replies`` scripted answers."""
    answers = [f"{name} says hello ({k})" for k in range(replies)]
    return AssistantAgent(name, model_client=ReplayChatCompletionClient(answers))


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


def round_robin(n: int, turns: int) -> RoundRobinGroupChat:
    """n agents speaking in turn for ``turns`` turns in total."""
    replies = math.ceil(turns / n)
    return RoundRobinGroupChat([agent(f"a{k}", replies) for k in range(n)], max_turns=turns)


async def timed_run(team: Any, turns: int) -> float:
    """Run a team on a task; ms per agent turn. Checks every agent turn happened."""
    start = time.perf_counter()
    result = await team.run(task="go")
    elapsed = time.perf_counter() - start
    spoken = [m for m in result.messages if getattr(m, "source", "user") != "user"]
    if len(spoken) != turns:
        raise AssertionError(f"expected {turns} agent turns, got {len(spoken)}")
    return elapsed / turns * 1e3


def sampler(make: Any, turns: int) -> Any:
    """A zero-argument function that builds a fresh team and times one run of it."""

    def once() -> float:
        return asyncio.run(timed_run(make(), turns))

    return once


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    args = parse_args(__doc__ or "", argv)
    sizes = sizes_for(args.quick)
    rec = Recorder("autogen", reps=args.reps, quick=args.quick, only=tuple(args.only))
    for dist in ("autogen-agentchat", "autogen-core", "autogen-ext"):
        rec.versions[dist] = version(dist)
    rec.info["model"] = "ReplayChatCompletionClient (scripted, in process)"
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    sampler(lambda: chain_flow(2), 2)()  # warm-up: imports, first event loop
    small, large = sizes.chain
    rec.measure("agents.chain.small", "autogen", sampler(lambda: chain_flow(small), small))
    rec.measure("agents.chain.large", "autogen", sampler(lambda: chain_flow(large), large))
    fan = sizes.fanout
    rec.measure("agents.fanout", "autogen", sampler(lambda: fanout_flow(fan), fan + 2))
    turns = sizes.chat_turns
    for label, n in zip(("small", "large"), sizes.chat_agents, strict=True):
        rec.measure(
            f"agents.chat.{label}", "autogen", sampler(lambda n=n: round_robin(n, turns), turns)
        )
    rec.emit(started)


if __name__ == "__main__":
    main()
