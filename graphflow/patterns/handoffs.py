"""Handoffs (AutoGen's Swarm, Agent Framework's handoff pattern): agents that pass
control to each other by calling a handoff tool, compiled to graph edges.

Each agent is offered a tool ``transfer_to_NAME`` per agent it may hand off to; its tool
node ``NAME_tools`` runs the calls, and the call's result message routes the
conversation: an edge ``A_tools → B`` taken when the last tool result is
``transfer_to_B``. So the diagram shows every possible handoff, and a run resumes like
any other. An agent that answers without a tool call ends the run with its answer
(control returns to the caller); a handoff to ``user`` asks the person (a ``human``
checkpoint ``A_user``: the run waits, and the answer goes back to ``A``)::

    triage ──▶ triage_tools ──transfer_to_billing──▶ billing ──▶ billing_tools ──▶ …
                            └─transfer_to_user─────▶ triage_user ──▶ triage

Example:
    >>> from graphflow.models import ScriptedModel
    >>> from graphflow.context import RunContext
    >>> team = [Agent("triage", human_input_mode="NEVER"), Agent("billing", human_input_mode="NEVER")]
    >>> graph = swarm(team, {"triage": ["billing"]}).compile()
    >>> [e.target for e in graph.out_edges["triage_tools"]]
    ['billing', 'triage']
    >>> model = ScriptedModel([{"tool_calls": [{"name": "transfer_to_billing", "arguments": {}}]},
    ...                        "Your refund is on its way."])
    >>> result = graph.run_sync("Refund please.", context=RunContext.with_models(model))
    >>> result.last.node, result.last.content
    ('billing', 'Your refund is on its way.')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from graphflow.builder import Graph
from graphflow.errors import DefinitionError, Problem
from graphflow.patterns.agents import Agent
from graphflow.tools import Tool

__all__ = ["USER", "handoff_tool", "swarm"]

#: The handoff target that asks the person.
USER = "user"


def handoff_tool(target: str, description: str | None = None) -> Tool:
    """The tool ``transfer_to_TARGET`` an agent calls to hand the conversation over.

    Example:
        >>> handoff_tool("billing").to_openai()["function"]["name"]
        'transfer_to_billing'
    """

    def transfer() -> str:
        return f"Transferred to {target}, adopting the role of {target} immediately."

    about = f"Hand the conversation to {target}" + (f": {description}" if description else ".")
    return Tool.of(transfer, name=f"transfer_to_{target}", description=about)


def swarm(
    agents: Sequence[Agent],
    handoffs: Mapping[str, Sequence[str]],
    *,
    entry: str | None = None,
    name: str = "swarm",
    models: object = None,
    max_steps: int = 200,
) -> Graph:
    """The graph of agents handing off to each other (see the module docs).

    Args:
        agents: the agents; the first starts unless ``entry`` names another.
        handoffs: agent name → the agents (or ``user``) it may hand off to.
        entry: the agent that answers the first message.
        name: the graph's name.
        models: the graph's ``models:`` section.
        max_steps: a safety limit on scheduler steps.

    Raises:
        DefinitionError: duplicate names, a handoff naming no agent, an unknown entry.
    """
    names = [a.name for a in agents]
    problems = []
    if len(set(names)) != len(names) or USER in names or "done" in names:
        problems.append(Problem(name, "agent names must be unique and not 'user' or 'done'"))
    for source, targets in handoffs.items():
        for target in [source, *targets]:
            if target not in names and target != USER:
                problems.append(Problem(f"handoffs[{source!r}]", f"{target!r} is not an agent",
                                        f"agents: {', '.join(names)}"))  # fmt: skip
    if entry is not None and entry not in names:
        problems.append(Problem(name, f"entry {entry!r} is not an agent"))
    if not agents:
        problems.append(Problem(name, "a swarm needs agents"))
    if problems:
        raise DefinitionError(problems)
    by_name = {a.name: a for a in agents}
    graph = Graph(name, description=f"handoffs between {', '.join(names)}")
    graph.add_node("done", kind="end", description="an agent answered without a handoff")
    for agent in agents:
        targets = list(handoffs.get(agent.name, ()))
        tools = [*agent.tools, *(handoff_tool(t, by_name[t].description if t in by_name else
                                              "ask the person") for t in targets)]  # fmt: skip
        spec = agent.with_options(tools=tools, human_input_mode="NEVER",
                                  is_termination_msg=None)  # fmt: skip
        graph.add_node(agent.name, kind="agent", description=agent.description,
                       **spec.node_options())  # fmt: skip
        node = f"{agent.name}_tools"
        if tools:
            graph.add_node(node, kind="tool", tools=tools,
                           description=f"runs {agent.name}'s tool calls and handoffs")  # fmt: skip
            graph.add_edge(agent.name, node, when="len(last.tool_calls) > 0", label="tool call")
            graph.add_edge(agent.name, "done", otherwise=True)
        else:
            graph.add_edge(agent.name, "done")
        for target in targets:
            to = f"{agent.name}_user" if target == USER else target
            if target == USER:
                graph.add_node(to, kind="human", prompt=f"{agent.name} asks you:",
                               name=USER, description=f"the person {agent.name} hands off to")  # fmt: skip
                graph.add_edge(to, agent.name)
            graph.add_edge(node, to, when=f'last.name == "transfer_to_{target}"',
                           label=f"handoff to {target}")  # fmt: skip
        if tools:
            graph.add_edge(node, agent.name, otherwise=True)
    graph.set_entry(entry or names[0])
    graph.limits(max_steps=max_steps)
    graph.models = models if isinstance(models, (dict, list)) else None
    return graph
