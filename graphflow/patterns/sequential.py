"""Sequential chats (AutoGen's ``initiate_chats``): several two-agent chats in order,
each starting with its message plus the summaries of the chats before it (carryover).

The whole sequence is one graph, so it checkpoints and resumes as one run (a person's
answer in the second chat resumes the whole pipeline). Each chat is a ``subgraph`` node
``chat_ID`` running a two-agent chat graph; its summary node ``summary_ID`` stores the
summary in the variable ``summary_ID``::

    chat_0 ──▶ summary_0 ──▶ chat_1 ──▶ summary_1 ──▶ done

When any chat lists ``prerequisites`` the chats form a DAG instead: a chat starts when
all its prerequisites are done (independent chats run in parallel) and carries over
only its prerequisites' summaries.

Example:
    >>> from graphflow.models import ScriptedModel
    >>> chats = [
    ...     {"sender": UserProxyAgent(human_input_mode="NEVER"), "recipient": AssistantAgent(),
    ...      "message": "Find the data.", "max_turns": 1},
    ...     {"sender": UserProxyAgent(human_input_mode="NEVER"), "recipient": AssistantAgent(),
    ...      "message": "Plot it.", "max_turns": 1}]
    >>> results = initiate_chats_sync(chats, models=ScriptedModel(["data in x.csv", "plotted"]))
    >>> results[1].chat_history[0]["content"]
    'Plot it.\\nContext: \\ndata in x.csv'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from graphflow.builder import Graph
from graphflow.errors import DefinitionError, Problem
from graphflow.patterns.agents import Agent, AssistantAgent, UserProxyAgent
from graphflow.patterns.runner import (
    ChatResult,
    HumanInput,
    Runner,
    autogen_cost,
    history,
    section_of,
)
from graphflow.patterns.summary import (
    SUMMARY_PROMPT,
    SummaryMethod,
    call_summary,
    check_summary_method,
)
from graphflow.patterns.two_agent import two_agent_chat
from graphflow.store import RunReader, Store

__all__ = [
    "AssistantAgent",
    "Chat",
    "UserProxyAgent",
    "chat_results",
    "initiate_chats",
    "initiate_chats_sync",
    "sequential_chats",
]


@dataclass(frozen=True)
class Chat:
    """One chat of a sequence (the keys of an AutoGen ``initiate_chats`` entry).

    Attributes:
        sender, recipient: the agents; ``sender`` says ``message``.
        message: the first message; ``None`` in a nested sequence means "the message
            that triggered it"; a callable is called when the chat starts as AutoGen's
            ``initiate_chat`` calls it, ``message(sender, recipient, {"carryover":
            [...]})``, and its result is the message (no carryover is appended).
        max_turns: exchanges before the chat ends.
        summary_method: ``last_msg``, ``reflection_with_llm`` or a function
            ``(messages[, summary_args]) -> str``.
        summary_args: ``{"summary_prompt": ...}`` for reflection.
        carryover: extra context for this chat, before the earlier summaries.
        chat_id: the chat's id (default: its position); node ids derive from it.
        prerequisites: ids of chats that must finish first (makes the sequence a DAG).
    """

    sender: Agent
    recipient: Agent
    message: str | Callable[..., Any] | None = None
    max_turns: int | None = None
    summary_method: SummaryMethod = "last_msg"
    summary_args: Mapping[str, Any] = field(default_factory=dict)
    carryover: str | Sequence[str] = ()
    chat_id: str | int | None = None
    prerequisites: Sequence[str | int] = ()


def _as_chat(item: Chat | Mapping[str, Any], index: int) -> Chat:
    if isinstance(item, Chat):
        return item
    known = set(Chat.__dataclass_fields__)
    unknown = set(item) - known
    if unknown:
        raise DefinitionError([Problem(f"chats[{index}]", f"unknown keys {sorted(unknown)}",
                                       f"use {sorted(known)}")])  # fmt: skip
    return Chat(**dict(item))


def begin(state: Any) -> None:
    """The no-op entry node of a DAG of chats with several independent first chats."""
    return None


def _summary_node(graph: Graph, chat: Chat, cid: str,
                  custom: Callable[..., Any] | None = None) -> str:  # fmt: skip
    node, source = f"summary_{cid}", f"chat_{cid}"
    args = {"messages": "messages", "node": json.dumps(source)}
    method = chat.summary_method
    if method == "last_msg":
        graph.add_node(node, "graphflow.patterns.summary:last_message", args=args,
                       output=node, message=True)  # fmt: skip
    elif method == "reflection_with_llm":
        prompt = chat.summary_args.get("summary_prompt")
        model = next((m for m in (chat.recipient.model, chat.sender.model) if m is not False),
                     None)  # fmt: skip
        options: dict[str, Any] = {
            "context": {"from": [source], "own": False, "task": False,
                        "as_speaker": chat.recipient.name},
            "instruction": SUMMARY_PROMPT if prompt is None else str(prompt),
            "output": node, "is_termination_msg": None, "name": chat.recipient.name}  # fmt: skip
        if model not in (None, True):
            options["model"] = model
        graph.add_node(node, kind="agent", **options)
    elif callable(method) or method is None:
        body = partial(_custom_summary, custom or method, dict(chat.summary_args), source,
                       custom is not None)  # fmt: skip
        graph.add_node(node, body, args={"messages": "messages"}, output=node, message=True)
    else:
        raise DefinitionError([Problem(f"chat {cid!r}", f"unknown summary_method {method!r}",
                                       "use last_msg, reflection_with_llm or a function")])  # fmt: skip
    return node


def _custom_summary(method: Callable[..., Any] | None, args: dict[str, Any], source: str,
                    own: bool, messages: list[Any]) -> str:  # fmt: skip
    if method is None:
        return ""
    mine = [m for m in messages if m.node == source]
    if own:
        value = method(mine)
        return "" if value is None else str(value)
    return call_summary(method, mine, args)


def _message_node(graph: Graph, chat: Chat, cid: str, carry_from: Sequence[str],
                  join: str | None) -> str:  # fmt: skip
    node = f"message_{cid}"
    assert callable(chat.message)
    body = partial(_call_message, chat.message, chat.sender, chat.recipient,
                   chat.carryover, [f"summary_{c}" for c in carry_from], node)  # fmt: skip
    graph.add_node(node, body, join=join, description=f"the first message of chat {cid}")
    return node


def _call_message(message: Callable[..., Any], sender: Agent, recipient: Agent,
                  own: str | Sequence[str], carried: Sequence[str], variable: str,
                  state: Any) -> dict[str, Any]:  # fmt: skip
    carryover = [own] if isinstance(own, str) else list(own)
    carryover += [str(state.variables.get(name) or "") for name in carried]
    value = message(sender, recipient, {"carryover": carryover})
    if isinstance(value, Mapping):
        value = value.get("content")
    return {variable: "" if value is None else str(value)}


def _input_expression(cid: str, chat: Chat, carry_from: Sequence[str], first: bool,
                      given: bool = False) -> str:  # fmt: skip
    base = "last.content" if chat.message is None and first else f'state["message_{cid}"]'
    if callable(chat.message) and not given:
        return base
    parts = []
    if chat.carryover:
        parts.append(f'state["carryover_{cid}"]')
    parts += [f'state["summary_{c}"]' for c in carry_from]
    if not parts:
        return base
    joined = ' + "\\n" + '.join(parts)
    return f'{base} + "\\nContext: \\n" + {joined}'


def sequential_chats(
    chats: Sequence[Chat | Mapping[str, Any]],
    *,
    name: str = "sequential_chats",
    models: Any = None,
    max_steps: int | None = None,
    given_messages: Sequence[str] = (),
    summaries: Mapping[str, Callable[..., Any]] | None = None,
) -> Graph:
    """The graph of ``chats`` run in sequence (or as a DAG; see the module docs).

    Args:
        chats: the chats (:class:`Chat` or mappings of its fields).
        name: the graph's name.
        models: the graph's ``models:`` section.
        max_steps: a safety limit on scheduler steps.
        given_messages: ids of chats whose message the run is given as the variable
            ``message_ID`` (a nested chat computes callable messages before it starts,
            as AutoGen does); carryover is appended to them.
        summaries: chat id → a function of the chat's messages that replaces its
            callable ``summary_method`` (used to call AutoGen's signature).

    Raises:
        DefinitionError: duplicate chat ids, unknown prerequisites, a cycle of
            prerequisites, a chat without a message (only the first chat of a nested
            sequence may leave it out), a summary function with another signature.
    """
    items = [_as_chat(c, i) for i, c in enumerate(chats)]
    for i, chat in enumerate(items):
        if not (summaries and str(chat.chat_id if chat.chat_id is not None else i) in summaries):
            check_summary_method(chat.summary_method, where=f"chats[{i}]: summary_method")
    ids = [str(c.chat_id) if c.chat_id is not None else str(i) for i, c in enumerate(items)]
    problems = []
    if len(set(ids)) != len(ids):
        problems.append(Problem(name, "two chats have the same chat_id", "make them unique"))
    dag = any(c.prerequisites for c in items)
    for i, (cid, chat) in enumerate(zip(ids, items, strict=True)):
        for pre in chat.prerequisites:
            if str(pre) not in ids[:i]:
                problems.append(Problem(f"chat {cid!r}", f"prerequisite {pre!r} is not an "
                                        "earlier chat", "list chats after their prerequisites"))  # fmt: skip
        if chat.message is None and (i > 0 or (dag and chat.prerequisites)):
            problems.append(Problem(f"chat {cid!r}", "has no message", "give it message:"))
    if not items:
        problems.append(Problem(name, "no chats"))
    if problems:
        raise DefinitionError(problems)
    graph = Graph(name, description=f"{len(items)} chats with carryover")
    section = section_of(models)
    dependents: dict[str, list[str]] = {cid: [] for cid in ids}
    starts: dict[str, str] = {}
    roots = []
    for i, (cid, chat) in enumerate(zip(ids, items, strict=True)):
        before = [str(p) for p in chat.prerequisites] if dag else ids[:i]
        parents = before if dag else ids[i - 1 : i]
        inner = two_agent_chat(chat.sender, chat.recipient, max_turns=chat.max_turns,
                               name=f"chat_{cid}")  # fmt: skip
        given = cid in set(given_messages)
        if isinstance(chat.message, str):
            graph.variables[f"message_{cid}"] = chat.message
        if chat.carryover:
            own = [chat.carryover] if isinstance(chat.carryover, str) else list(chat.carryover)
            graph.variables[f"carryover_{cid}"] = "\n".join(own)
        start = f"chat_{cid}"
        join = "all" if len(parents) > 1 else None
        if callable(chat.message) and not given:
            start = _message_node(graph, chat, cid, before, join)
        graph.add_node(f"chat_{cid}", kind="subgraph", graph=inner.to_spec().to_file(),
                       input=_input_expression(cid, chat, before, i == 0, given),
                       input_name=chat.sender.name, output="transcript",
                       join=join if start == f"chat_{cid}" else None,
                       description=f"{chat.sender.name} chats with {chat.recipient.name}")  # fmt: skip
        if start != f"chat_{cid}":
            graph.add_edge(start, f"chat_{cid}")
        starts[cid] = start
        summary = _summary_node(graph, chat, cid, (summaries or {}).get(cid))
        graph.add_edge(f"chat_{cid}", summary)
        for parent in parents:
            dependents[parent].append(cid)
        if not parents:
            roots.append(cid)
    leaves = [cid for cid in ids if not dependents[cid]]
    graph.add_node("done", kind="end", join="all" if len(leaves) > 1 else None)
    for cid in ids:
        for child in dependents[cid]:
            graph.add_edge(f"summary_{cid}", starts[child])
        if not dependents[cid]:
            graph.add_edge(f"summary_{cid}", "done")
    if len(roots) > 1:
        graph.add_node("start", "graphflow.patterns.sequential:begin")
        for cid in roots:
            graph.add_edge("start", starts[cid])
        graph.set_entry("start")
    else:
        graph.set_entry(starts[roots[0]])
    graph.limits(max_steps=max_steps or 10 * len(items) + 10)
    graph.models = section
    return graph


def chat_results(store: RunReader, run_id: str, chats: Sequence[Chat | Mapping[str, Any]],
                 given: Sequence[str] = ()) -> list[ChatResult]:  # fmt: skip
    """The :class:`ChatResult` of each chat of a sequential-chats run ``run_id`` (chats
    that did not start yet are left out)."""
    from graphflow.errors import RunNotFound

    items = [_as_chat(c, i) for i, c in enumerate(chats)]
    record = store.get_run(run_id)
    variables, _ = store.load_variables(run_id, record.last_step)
    out = []
    for i, chat in enumerate(items):
        cid = str(chat.chat_id) if chat.chat_id is not None else str(i)
        child = f"{run_id}.chat_{cid}.0"
        try:
            inner = store.get_run(child)
        except RunNotFound:
            continue
        messages = store.load_messages(child)
        waiting: dict[str, Any] = {}
        if inner.status == "waiting":
            waiting = dict((inner.waiting or {}).get("nodes", {}))
        first: dict[str, Any] = next(iter(waiting.values()), {})
        question = first.get("question")
        usage = dict(inner.usage or {})
        summary = variables.get(f"summary_{cid}")
        out.append(ChatResult(history(messages, chat.sender.name),
                              "" if summary is None else str(summary), autogen_cost(usage),
                              list(given), child, inner.status, inner.reason, messages, question,
                              inner.error, usage, chat.chat_id))  # fmt: skip
    return out


async def initiate_chats(
    chats: Sequence[Chat | Mapping[str, Any]],
    *,
    store: Store | str | Path | None = None,
    run_id: str | None = None,
    models: Any = None,
    human_input: HumanInput = None,
    on_event: Callable[[Any], None] | None = None,
    work_dir: str | Path | None = None,
) -> list[ChatResult]:
    """Run ``chats`` (see :func:`sequential_chats`) and return one result per chat.

    When a person's answer is needed and ``human_input`` has none left, the chats that
    ran are returned and the last one has status ``waiting``; continue the whole
    sequence with ``graph.resume(run_id, input=...)`` on ``sequential_chats(chats)``.
    """
    graph = sequential_chats(chats, models=models).compile()
    runner = Runner(graph, store=store, models=models, human_input=human_input,
                    on_event=on_event, work_dir=work_dir)  # fmt: skip
    result = await runner.start(None, run_id=run_id)
    if result.status == "failed":
        from graphflow.errors import RunError

        raise RunError(f"the chats failed: {result.error}", run_id=result.run_id)
    results = chat_results(runner.store, result.run_id, chats, runner.given)
    runner.close()
    return results


def initiate_chats_sync(
    chats: Sequence[Chat | Mapping[str, Any]], **options: Any
) -> list[ChatResult]:
    """Synchronous :func:`initiate_chats`."""
    from graphflow.runs import run_sync

    return run_sync(initiate_chats(chats, **options))
