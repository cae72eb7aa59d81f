"""Two-agent chat: AutoGen's ``sender.initiate_chat(recipient, message=...)`` as a graph.

The graph holds both agents, their human checkpoints (by ``human_input_mode``), the
tool nodes of agents that offer tools, and the edges between them::

    sender ──▶ recipient ──▶ sender ──▶ …     (through NAME_human when a person is asked)

The first message is the run's input, said by the sender; the recipient answers first.
A chat ends when an agent receives a termination message or uses up its auto-replies
(the run completes with that reason), when a person types ``exit``, or after
``max_turns`` exchanges.

Example:
    >>> from graphflow.models import ScriptedModel
    >>> result = initiate_chat_sync(
    ...     UserProxyAgent(human_input_mode="NEVER"), AssistantAgent(),
    ...     "What is 6 * 7?", models=ScriptedModel(["6 * 7 = 42.\\nTERMINATE"]))
    >>> result.summary, result.status
    ('6 * 7 = 42.\\n', 'completed')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from graphflow.builder import Graph
from graphflow.errors import DefinitionError, Problem
from graphflow.messages import Message
from graphflow.patterns.agents import (
    Agent,
    AssistantAgent,
    UserProxyAgent,
    add_agent,
    connect,
    counters,
    end_edges,
)
from graphflow.patterns.chatrun import ChatSides, chat_result
from graphflow.patterns.runner import ChatResult, HumanInput, Runner, section_of
from graphflow.patterns.summary import SummaryMethod, carryover_text, check_summary_method
from graphflow.store import Store

__all__ = [
    "AssistantAgent",
    "UserProxyAgent",
    "add_tools",
    "initiate_chat",
    "initiate_chat_sync",
    "two_agent_chat",
]

TOOL_CALLS = "len(last.tool_calls) > 0"


def add_tools(graph: Graph, agent: Agent) -> list[tuple[str, str]]:
    """Add a ``tool`` node ``NAME_tools`` running the calls of ``agent``'s model, with an
    edge back to the agent; return the ``(node, condition)`` edge to put first among the
    agent's outgoing edges (empty when the agent offers no tools)."""
    if not agent.tools:
        return []
    node = f"{agent.name}_tools"
    graph.add_node(node, kind="tool", tools=list(agent.tools),
                   description=f"runs the tool calls of {agent.name}")  # fmt: skip
    graph.add_edge(node, agent.name)
    return [(node, TOOL_CALLS)]


def two_agent_chat(
    sender: Agent,
    recipient: Agent,
    *,
    max_turns: int | None = None,
    name: str | None = None,
    models: Any = None,
    max_steps: int = 1000,
) -> Graph:
    """The graph of a chat between ``sender`` and ``recipient`` (see the module docs).

    Args:
        sender: says the first message (the run's input).
        recipient: answers it.
        max_turns: end after this many exchanges (a message and its answer); ends with
            reason ``stop_when: len(messages) >= 2*max_turns``.
        name: the graph's name (default ``SENDER_RECIPIENT``).
        models: the graph's ``models:`` section (a mapping or list).
        max_steps: a safety limit on scheduler steps.

    Raises:
        DefinitionError: both agents have the same name.

    Example:
        >>> g = two_agent_chat(UserProxyAgent(), AssistantAgent(), max_turns=3).compile()
        >>> sorted(g.nodes)
        ['assistant', 'done', 'user_proxy', 'user_proxy_exit', 'user_proxy_human']
    """
    if sender.name == recipient.name:
        raise DefinitionError([Problem(f"chat {sender.name!r}", "both agents have the same name",
                                       "give each agent its own name")])  # fmt: skip
    graph = Graph(name or f"{sender.name}_{recipient.name}",
                  description=f"{sender.name} chats with {recipient.name}")  # fmt: skip
    entries = {sender.name: add_agent(graph, sender, recipient.name),
               recipient.name: add_agent(graph, recipient, sender.name)}  # fmt: skip
    tools = {a.name: add_tools(graph, a) for a in (sender, recipient)}
    done = end_edges(graph)
    connect(graph, sender.name, recipient, before=[*done, *tools[sender.name]])
    connect(graph, recipient.name, sender, before=[*done, *tools[recipient.name]])
    graph.set_entry(entries[recipient.name] if recipient.human_input_mode == "ALWAYS"
                    else recipient.name)  # fmt: skip
    graph.variables.update(counters([sender, recipient]))
    limits: dict[str, Any] = {"max_steps": max_steps}
    if max_turns is not None:
        if max_turns < 1:
            raise DefinitionError([Problem("max_turns", "must be at least 1")])
        limits["stop_when"] = f"len(messages) >= {2 * max_turns}"
    graph.limits(**limits)
    graph.models = section_of(models)
    return graph


async def initiate_chat(
    sender: Agent,
    recipient: Agent,
    message: str,
    *,
    max_turns: int | None = None,
    summary_method: SummaryMethod = "last_msg",
    summary_args: Mapping[str, Any] | None = None,
    carryover: str | Sequence[str] | None = None,
    store: Store | str | Path | None = None,
    run_id: str | None = None,
    models: Any = None,
    human_input: HumanInput = None,
    variables: Mapping[str, Any] | None = None,
    on_event: Callable[[Any], None] | None = None,
    work_dir: str | Path | None = None,
) -> ChatResult:
    """Run a chat between ``sender`` and ``recipient`` and summarize it.

    Args:
        sender, recipient: the two agents; ``sender`` says ``message``.
        message: the first message.
        max_turns: see :func:`two_agent_chat`.
        summary_method: ``last_msg`` (the last message without ``TERMINATE``),
            ``reflection_with_llm`` (the recipient's model, or the sender's when the
            recipient has none, summarizes the chat as the recipient saw it), ``None``
            (no summary), or a function ``(messages[, summary_args]) -> str``, checked
            before the chat starts.
        summary_args: ``{"summary_prompt": ..., "summary_role": "system"}`` for
            reflection.
        carryover: context appended to the message (``"\\nContext: \\n..."``).
        store: a Store or database path to checkpoint to (``None``: in memory).
        run_id: the run's id.
        models: a ``models:`` section, or model objects (``ScriptedModel``,
            ``ModelConfig``, ``ModelSet``).
        human_input: answers for human checkpoints (a list, or a function of the
            question); when they run out the result has status ``waiting`` and
            :meth:`ChatResult.resume` continues it.
        variables: run variables (for system-message placeholders).
        on_event: called with every run event.
        work_dir: where code runs (the directory itself; default
            ``./graphflow-work/RUN_ID``).

    Returns:
        The :class:`ChatResult`.

    Raises:
        DefinitionError: a bad agent, ``max_turns`` or ``summary_method`` (before the
            chat starts).
    """
    check_summary_method(summary_method)
    graph = two_agent_chat(sender, recipient, max_turns=max_turns, models=models).compile()
    items = [carryover] if isinstance(carryover, str) else list(carryover or ())
    first = Message(role="user", name=sender.name, content=carryover_text(message, items))
    runner = Runner(graph, store=store, models=models, human_input=human_input,
                    on_event=on_event, work_dir=work_dir)  # fmt: skip
    result = await runner.start([first], variables=variables, run_id=run_id)
    sides = ChatSides(sender.name, recipient.name, [recipient.model, sender.model])
    return await chat_result(runner, result, sides, summary_method, dict(summary_args or {}))


def initiate_chat_sync(sender: Agent, recipient: Agent, message: str, **options: Any) -> ChatResult:
    """Synchronous :func:`initiate_chat`."""
    from graphflow.runs import run_sync

    return run_sync(initiate_chat(sender, recipient, message, **options))
