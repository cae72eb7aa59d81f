"""Group chat: members and a manager that picks who speaks next (AutoGen's GroupChat).

Without transition rules the graph is a hub and spokes: the manager (a ``router``
node) has an edge to every member and to ``done``, every member an edge back::

    manager ──▶ planner ──▶ manager ──▶ coder ──▶ manager ──▶ … ──▶ done

With ``transitions`` (who may speak after whom), each member gets its own selector
``NAME_next`` whose edges are exactly the members allowed after it, so the diagram
shows every allowed transition and nothing else::

    planner ──▶ planner_next ──▶ {coder, done}
    coder   ──▶ coder_next   ──▶ {critic, planner, done}

A member whose human input mode is ``ALWAYS`` is reached through its human
checkpoint. The chat ends at ``done`` when a message satisfies the manager's
``is_termination_msg``, after ``max_round`` messages, when no speaker is eligible, or
when a person types ``exit``.

Example:
    >>> team = [Agent("planner", human_input_mode="NEVER"),
    ...         Agent("coder", human_input_mode="NEVER")]
    >>> g = group_chat(team, selection="round_robin", max_round=4).compile()
    >>> [e.target for e in g.out_edges["manager"]]
    ['planner', 'coder', 'done']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from graphflow.agents.conventions import DEFAULT_TERMINATION
from graphflow.builder import Graph
from graphflow.errors import DefinitionError, Problem
from graphflow.messages import Message
from graphflow.patterns.agents import Agent, add_agent, counters
from graphflow.patterns.chatrun import ChatSides, chat_result
from graphflow.patterns.runner import ChatResult, HumanInput, Runner, section_of
from graphflow.patterns.summary import SummaryMethod, check_summary_method
from graphflow.patterns.two_agent import add_tools
from graphflow.store import Store

__all__ = [
    "allowed_transitions",
    "group_chat",
    "initiate_group_chat",
    "initiate_group_chat_sync",
]


def allowed_transitions(
    names: Sequence[str],
    transitions: Mapping[str, Sequence[str]],
    kind: Literal["allowed", "disallowed"] = "allowed",
) -> dict[str, list[str]]:
    """Who may speak after whom, as allowed lists (AutoGen's
    ``allowed_or_disallowed_speaker_transitions`` with ``speaker_transitions_type``).

    A member missing from ``allowed`` rules has no successor (the chat ends after it);
    a member missing from ``disallowed`` rules may be followed by anyone.

    Raises:
        DefinitionError: a rule names someone who is not a member.

    Example:
        >>> allowed_transitions(["a", "b", "c"], {"a": ["b"]}, "disallowed")
        {'a': ['a', 'c'], 'b': ['a', 'b', 'c'], 'c': ['a', 'b', 'c']}
    """
    known = set(names)
    problems = [Problem(f"transitions[{src!r}]", f"{n!r} is not a member",
                        f"members: {', '.join(names)}")
                for src, targets in transitions.items() for n in [src, *targets]
                if n not in known]  # fmt: skip
    if problems:
        raise DefinitionError(problems)
    if kind == "allowed":
        return {n: [t for t in names if t in set(transitions.get(n, ()))] for n in names}
    return {n: [t for t in names if t not in set(transitions.get(n, ()))] for n in names}


def _entry_of(agent: Agent) -> str:
    return f"{agent.name}_human" if agent.human_input_mode == "ALWAYS" else agent.name


def group_chat(
    members: Sequence[Agent],
    *,
    selection: str | Any = "auto",
    max_round: int | None = 10,
    transitions: Mapping[str, Sequence[str]] | None = None,
    transitions_type: Literal["allowed", "disallowed"] = "allowed",
    allow_repeat_speaker: bool = True,
    is_termination_msg: str | None = DEFAULT_TERMINATION,
    manager: str = "manager",
    model: Any = None,
    sender: str | None = None,
    view: Mapping[str, Any] | None = None,
    name: str = "group_chat",
    models: Any = None,
    max_retries: int = 2,
    fallback: Literal["round_robin", "first", "end"] = "round_robin",
    seed: int = 0,
    max_steps: int | None = None,
) -> Graph:
    """The graph of a group chat (see the module docs).

    Args:
        members: the agents, in speaking order (round robin follows it).
        selection: ``auto``, ``round_robin``, ``random``, ``manual``, or a selection
            function (import path or callable; see :mod:`graphflow.kinds.router`).
        max_round: the chat ends once it holds this many messages (the first counts).
        transitions: who may speak after whom (see :func:`allowed_transitions`).
        transitions_type: whether ``transitions`` lists allowed or disallowed speakers.
        allow_repeat_speaker: whether a member may speak twice in a row.
        is_termination_msg: condition on a message that ends the chat.
        manager: the router node's id (with transitions: the prefix-free selector of the
            first message, when its sender is not a member).
        model: the models: entry the manager's ``auto`` selection uses.
        sender: the member who says the first message (transitions then start from its
            selector); by default the first message comes from outside the group.
        view: the context every member without its own ``context`` sees
            (``{"last": 6}`` …); by default every member sees everything (broadcast).
        name: the graph's name.
        models: the graph's ``models:`` section.
        max_retries, fallback, seed: see the router kind.
        max_steps: a safety limit on scheduler steps (default: 4 * max_round + 20).

    Raises:
        DefinitionError: duplicate member names, a member named like the manager, a
            transition naming a non-member.
    """
    names = [m.name for m in members]
    problems = []
    if len(set(names)) != len(names) or manager in names or "done" in names:
        problems.append(Problem(name, "member names must be unique and differ from the "
                                f"manager ({manager!r}) and 'done'", "rename the agents"))  # fmt: skip
    if not members:
        problems.append(Problem(name, "a group chat needs members"))
    if sender is not None and sender not in names:
        problems.append(Problem(name, f"sender {sender!r} is not a member"))
    if problems:
        raise DefinitionError(problems)
    graph = Graph(name, description=f"group chat of {', '.join(names)}")
    router = {"selection": selection, "max_round": max_round,
              "allow_repeat_speaker": allow_repeat_speaker, "order": names,
              "is_termination_msg": is_termination_msg, "max_retries": max_retries,
              "fallback": fallback, "seed": seed}  # fmt: skip
    if model is not None:
        router["model"] = model
    shared = {k: v for k, v in router.items() if v != _ROUTER_DEFAULTS.get(k, object())}
    own = {"selection": shared.pop("selection")} if not isinstance(selection, str) else {}
    graph.defaults["router"] = shared  # every router of the chat shares these options
    for member in members:
        if view is not None and member.context is None:
            member = member.with_options(context=dict(view))
        if member.human_input_mode == "TERMINATE":
            member = member.with_options(human_input_mode="NEVER")
        add_agent(graph, member, manager)
    graph.add_node("done", kind="end", description="the group chat is over")
    if transitions is None:
        _hub(graph, members, manager, own)
    else:
        rules = allowed_transitions(names, transitions, transitions_type)
        _selectors(graph, members, rules, manager, sender, own)
    graph.variables.update(counters(members))
    steps = max_steps or 4 * (max_round or 50) + 20
    graph.limits(max_steps=steps)
    graph.models = section_of(models)
    return graph


_ROUTER_DEFAULTS: dict[str, Any] = {"selection": "auto", "max_round": None,
                                    "allow_repeat_speaker": True, "max_retries": 2,
                                    "fallback": "round_robin", "seed": 0,
                                    "is_termination_msg": DEFAULT_TERMINATION}  # fmt: skip


def _member_edges(graph: Graph, member: Agent, target: str) -> None:
    tools = add_tools(graph, member)
    for node, condition in tools:
        graph.add_edge(member.name, node, when=condition)
    graph.add_edge(member.name, target, otherwise=bool(tools))


def _hub(graph: Graph, members: Sequence[Agent], manager: str, own: dict[str, Any]) -> None:
    graph.add_node(manager, kind="router", description="picks the next speaker", **own)
    graph.set_entry(manager)
    for member in members:
        graph.add_edge(manager, _entry_of(member))
    graph.add_edge(manager, "done")
    for member in members:
        _member_edges(graph, member, manager)


def _selectors(graph: Graph, members: Sequence[Agent], rules: dict[str, list[str]],
               manager: str, sender: str | None, own: dict[str, Any]) -> None:  # fmt: skip
    by_name = {m.name: m for m in members}
    for member in members:
        selector = f"{member.name}_next"
        graph.add_node(selector, kind="router",
                       description=f"picks who speaks after {member.name}", **own)  # fmt: skip
        for target in rules[member.name]:
            graph.add_edge(selector, _entry_of(by_name[target]))
        graph.add_edge(selector, "done")
        _member_edges(graph, member, selector)
    if sender is not None:
        graph.set_entry(f"{sender}_next")
        return
    graph.add_node(manager, kind="router", description="picks the first speaker", **own)
    for member in members:
        graph.add_edge(manager, _entry_of(member))
    graph.add_edge(manager, "done")
    graph.set_entry(manager)


async def initiate_group_chat(
    members: Sequence[Agent],
    message: str | Message,
    *,
    sender: str | None = None,
    summary_method: SummaryMethod = "last_msg",
    summary_args: Mapping[str, Any] | None = None,
    store: Store | str | Path | None = None,
    run_id: str | None = None,
    models: Any = None,
    human_input: HumanInput = None,
    on_event: Callable[[Any], None] | None = None,
    work_dir: str | Path | None = None,
    **options: Any,
) -> ChatResult:
    """Run a group chat (AutoGen's ``user_proxy.initiate_chat(manager, message=...)``).

    Args:
        members: the agents (see :func:`group_chat`).
        message: the first message; said by ``sender`` (a member) when given, else by
            ``user`` from outside the group.
        summary_method, summary_args: as for :func:`~graphflow.patterns.initiate_chat`
            (reflection uses the manager's ``model``, else the first member's, and reads
            the chat as the manager saw it).
        store, run_id, models, human_input, on_event, work_dir: as for ``initiate_chat``.
        **options: :func:`group_chat` options (``selection``, ``max_round``,
            ``transitions`` …).

    Example:
        >>> from graphflow.models import ScriptedModel
        >>> team = [Agent("a", human_input_mode="NEVER"), Agent("b", human_input_mode="NEVER")]
        >>> result = initiate_group_chat_sync(team, "Go.", selection="round_robin",
        ...                                   models=ScriptedModel(["one", "two TERMINATE"]))
        >>> [m["name"] for m in result.chat_history], result.summary
        (['user', 'a', 'b'], 'two ')
    """
    check_summary_method(summary_method)
    graph = group_chat(members, sender=sender, models=models, **options).compile()
    first = message if isinstance(message, Message) else Message(
        role="user", name=sender or "user", content=message)  # fmt: skip
    runner = Runner(graph, store=store, models=models, human_input=human_input,
                    on_event=on_event, work_dir=work_dir)  # fmt: skip
    result = await runner.start([first], run_id=run_id)
    sides = ChatSides(first.name, options.get("manager", "manager"),
                      [options.get("model"), *(m.model for m in members)])
    return await chat_result(runner, result, sides, summary_method, dict(summary_args or {}))


def initiate_group_chat_sync(members: Sequence[Agent], message: str | Message,
                             **options: Any) -> ChatResult:  # fmt: skip
    """Synchronous :func:`initiate_group_chat`."""
    from graphflow.runs import run_sync

    return run_sync(initiate_group_chat(members, message, **options))
