"""The graphs the crash campaigns kill: one per shape of conversation.

Each :class:`Shape` is a graph file plus the node module it imports (``crashnodes``).
Every node appends to the side-effect log (see ``crashkit.py``) when it starts and
ends; the ``record`` tool appends before and after its work, so a kill between the two
(or between the work and the recording of its result) can be told apart.

- ``branching``: conditional routing in a loop, then a human checkpoint whose answer
  decides the last branch;
- ``fanout``: four parallel branches, one of them slow, joined (``join: all``) and
  looped: kills land while some branches have finished and others have not; the branches
  write declared variables with merge rules (append, add, merge into a typed dict of
  datetimes, union) and values of standard types (tuples, Decimals, datetimes, sets);
- ``tools``: an agent on the scripted model asks for tool calls (several per message),
  a ``tool`` node runs them; a human checkpoint opens the conversation;
- ``group_chat``: a manager picks the next speaker with the scripted model (``auto``
  selection, one ambiguous answer re-asked), two agents speak, TERMINATE ends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["NODES", "SHAPES", "Shape"]

NODES = '''
import asyncio
import datetime
import decimal
import json
import os
import random
import time

from graphflow import Message, Update
from graphflow.tools import ToolContext


def log(step, node, event, key=""):
    path = os.environ.get("CRASHKIT_LOG")
    if not path:
        return
    line = json.dumps({"attempt": int(os.environ.get("CRASHKIT_ATTEMPT", "0")), "step": step,
                       "node": node, "event": event, "key": key}) + "\\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


async def tick(state, ctx):
    """A branch of the branching graph: counts, says where it was."""
    log(ctx.step, ctx.node_id, "start")
    await asyncio.sleep(random.uniform(0.0, 0.01))
    n = state.variables.get("n", 0) + (ctx.node_id != "pick")
    log(ctx.step, ctx.node_id, "end")
    return Update(messages=[Message(content=f"{ctx.node_id}:{n}")], variables={"n": n})


async def branch(state, ctx):
    """A fan-out branch; nodes named slow* take much longer than the others."""
    log(ctx.step, ctx.node_id, "start")
    slow = ctx.node_id.startswith("slow")
    await asyncio.sleep(random.uniform(0.15, 0.3) if slow else random.uniform(0.0, 0.02))
    if os.environ.get("CRASHKIT_HOLD") == ctx.node_id:
        await asyncio.sleep(60)  # held mid-step until the test kills the process
    rounds = state.variables.get("rounds", 0)
    log(ctx.step, ctx.node_id, "end")
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    return Update(messages=[Message(content=f"{ctx.node_id}@{rounds}")],
                  variables={f"seen_{ctx.node_id}": rounds, "trail": (ctx.node_id, rounds),
                             "total": decimal.Decimal("0.25"),
                             "stamps": {ctx.node_id: when + datetime.timedelta(days=rounds)},
                             "tags": {ctx.node_id[:4], rounds % 3}})


async def gather(state, ctx):
    """The join of the fan-out graph: counts rounds."""
    log(ctx.step, ctx.node_id, "start")
    rounds = state.variables.get("rounds", 0) + 1
    log(ctx.step, ctx.node_id, "end")
    return Update(messages=[Message(content=f"round {rounds} joined")],
                  variables={"rounds": rounds})


def record(item: str, ctx: ToolContext) -> str:
    """Record an item in the ledger.

    Args:
        item: what to record.
    """
    log(ctx.step, ctx.node_id, "before", ctx.call_id)
    time.sleep(random.uniform(0.0, 0.03))
    log(ctx.step, ctx.node_id, "after", ctx.call_id)
    if os.environ.get("CRASHKIT_HOLD_AFTER") == ctx.call_id:
        time.sleep(60)  # the work is done, its result not yet recorded: the test kills here
    return f"recorded {item}"


def select(request):
    """The group-chat manager's model: names the speaker after the last one; the first
    time it is asked it answers ambiguously, to exercise re-asking."""
    spoken = [m for m in request.messages if m.get("name") in ("writer", "critic")]
    asked_again = any(m.get("role") == "assistant" for m in request.messages)
    if len(spoken) == 1 and not asked_again:
        return "Either the writer or the critic could go on."
    if not spoken or spoken[-1].get("name") == "critic":
        return "writer"
    return "critic"
'''

BRANCHING = """
graph: branching
entry: pick
variables: {n: 0}
limits: {max_steps: 300}
nodes:
  pick: {kind: function, call: "crashnodes:tick"}
  a: {kind: function, call: "crashnodes:tick"}
  b: {kind: function, call: "crashnodes:tick"}
  c: {kind: function, call: "crashnodes:tick"}
  ask: {kind: human, prompt: "go on?", variable: answer}
  done: {kind: end}
edges:
  - {from: pick, to: ask, when: "state.n >= 18 and not state.answer"}
  - {from: pick, to: done, when: "state.n >= 27"}
  - {from: pick, to: a, when: "state.n % 3 == 0"}
  - {from: pick, to: b, when: "state.n % 3 == 1 or state.n % 5 == 0"}
  - {from: pick, to: c, else: true}
  - {from: a, to: pick}
  - {from: b, to: pick}
  - {from: c, to: pick}
  - {from: ask, to: pick, when: 'state.answer == "yes"'}
  - {from: ask, to: done, else: true}
"""

FANOUT = """
graph: fanout
entry: split
variables:
  rounds: 0
  trail: {merge: append, default: []}
  total: {merge: add, default: 0}
  stamps: {type: "dict[str, datetime]", merge: merge, default: {}}
  tags: {merge: union}
limits: {max_steps: 100}
nodes:
  split: {kind: function, call: "crashnodes:gather"}
  fast1: {kind: function, call: "crashnodes:branch"}
  fast2: {kind: function, call: "crashnodes:branch"}
  fast3: {kind: function, call: "crashnodes:branch"}
  slow: {kind: function, call: "crashnodes:branch"}
  join: {kind: function, call: "crashnodes:gather", join: all}
  done: {kind: end}
edges:
  - {from: split, to: [fast1, fast2, fast3, slow]}
  - {from: fast1, to: join}
  - {from: fast2, to: join}
  - {from: fast3, to: join}
  - {from: slow, to: join}
  - {from: join, to: split, when: "state.rounds < 10"}
  - {from: join, to: done, else: true}
"""

TOOLS = """
graph: tools
entry: ask
limits: {max_steps: 60}
models:
  scripted:
    replies:
      - tool_calls:
          - {id: c1, name: record, arguments: {item: apples}}
          - {id: c2, name: record, arguments: {item: pears}}
          - {id: c3, name: record, arguments: {item: plums}}
      - tool_calls:
          - {id: c4, name: record, arguments: {item: figs}}
      - tool_calls:
          - {id: c5, name: record, arguments: {item: dates}}
          - {id: c6, name: record, arguments: {item: limes}}
      - tool_calls:
          - {id: c7, name: record, arguments: {item: kiwis}}
          - {id: c8, name: record, arguments: {item: mangos}}
          - {id: c9, name: record, arguments: {item: grapes}}
          - {id: c10, name: record, arguments: {item: cherries}}
      - All ten items are recorded. TERMINATE
nodes:
  ask: {kind: human, prompt: "What should be recorded?"}
  clerk:
    kind: agent
    system_message: You record every item the user lists, with the record tool.
    tools: ["crashnodes:record"]
  ledger: {kind: tool, tools: ["crashnodes:record"]}
  done: {kind: end}
edges:
  - {from: ask, to: clerk}
  - {from: clerk, to: ledger, when: "last.tool_calls"}
  - {from: clerk, to: done, else: true}
  - {from: ledger, to: clerk}
"""

GROUP_CHAT = """
graph: group_chat
entry: manager
limits: {max_steps: 60}
models:
  team:
    scripted:
      replies:
        - "Draft 1: graphs are nodes and edges."
        - "Critique 1: say what the edges carry."
        - "Draft 2: graphs are nodes joined by edges that carry conditions."
        - "Critique 2: mention that runs are checkpointed."
        - "Draft 3: graphs of agents, checkpointed at every step, resumable after a crash."
        - "Approved. TERMINATE"
      latency: 0.04
  selector:
    scripted: {function: "crashnodes:select", latency: 0.04}
nodes:
  manager:
    kind: router
    selection: auto
    model: selector
    max_round: 20
  writer:
    kind: agent
    description: Writes and revises the draft.
    model: team
    is_termination_msg: null
  critic:
    kind: agent
    description: Reviews the latest draft.
    model: team
    is_termination_msg: null
  done: {kind: end}
edges:
  - {from: manager, to: [writer, critic, done]}
  - {from: writer, to: manager}
  - {from: critic, to: manager}
"""


@dataclass(frozen=True)
class Shape:
    """A graph to kill: its name and graph-file text."""

    name: str
    graph: str

    def write(self, folder: Path) -> Path:
        """Write the graph file and the node module into ``folder``; returns the graph."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "crashnodes.py").write_text(NODES)
        path = folder / f"{self.name}.yaml"
        path.write_text(self.graph)
        return path


SHAPES = {
    "branching": Shape("branching", BRANCHING),
    "fanout": Shape("fanout", FANOUT),
    "tools": Shape("tools", TOOLS),
    "group_chat": Shape("group_chat", GROUP_CHAT),
}
