"""Running AutoGen chats as graph runs: ``initiate_chat`` (two agents, or a group through
its manager), ``initiate_chats`` / ``a_initiate_chats`` (sequences with carryover).

Each chat compiles to a graph (:mod:`graphflow.patterns`), runs under the scheduler
(every step checkpointed; in memory unless ``store=`` names a database), and ends in
AutoGen's ``ChatResult``. Human checkpoints are answered by the agents'
``get_human_input``; manual speaker picks by ``input()``, as AutoGen does.
"""

from __future__ import annotations

import builtins
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphflow.autogen.agent import ConversableAgent
from graphflow.autogen.config import llm_entry
from graphflow.autogen.groupchat import GroupChatManager
from graphflow.errors import DefinitionError, Problem
from graphflow.events import MessageEvent
from graphflow.messages import Message
from graphflow.models import ModelSet
from graphflow.patterns import Agent, group_chat, two_agent_chat
from graphflow.patterns.chatrun import ChatSides, chat_result
from graphflow.patterns.nested import nested_chat
from graphflow.patterns.runner import ChatResult, Runner, history
from graphflow.patterns.summary import carryover_text, check_summary_method
from graphflow.tools import Tool

__all__ = ["a_initiate_chats", "chat_graph", "executor_of", "initiate_chat", "initiate_chats"]


def executor_of(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The graphflow executor for AutoGen's ``code_execution_config``.

    ``use_docker`` unset or true (AutoGen 0.2's default: Docker, an error when it is not
    running) → ``auto``: an isolated executor (the bubblewrap sandbox, else Docker; never
    the bare machine); ``AUTOGEN_USE_DOCKER=0`` or ``use_docker: False`` → ``local`` (the
    current environment, as AutoGen); an image name (or list) → ``docker`` with it.

    Raises:
        DefinitionError: ``executor`` objects (AutoGen's newer API) are not supported.
    """
    if config.get("executor") is not None:
        raise DefinitionError([Problem(f"agent {name!r}: code_execution_config",
                                       "an executor object is not supported",
                                       "use work_dir, use_docker and timeout")])  # fmt: skip
    use_docker = config.get("use_docker")
    if use_docker is None:
        flag = os.environ.get("AUTOGEN_USE_DOCKER", "True").strip().lower()
        use_docker = flag not in ("0", "false", "no", "f")
    spec: dict[str, Any] = {"executor": "auto" if use_docker is True else "local"}
    if isinstance(use_docker, (str, list)) and use_docker:
        spec = {"executor": "docker",
                "image": use_docker if isinstance(use_docker, str) else use_docker[0]}  # fmt: skip
    if config.get("timeout"):
        spec["timeout"] = float(config["timeout"])
    return spec


def _work_dir(agents: Sequence[ConversableAgent]) -> str | None:
    for agent in agents:
        config = agent._code_execution_config
        if config is not False and config.get("work_dir"):
            return str(config["work_dir"])
    return None


def _with_nested(agents: Sequence[ConversableAgent]) -> list[ConversableAgent]:
    """``agents`` and every agent of their nested chats (recursively)."""
    found: list[ConversableAgent] = []
    todo = list(agents)
    while todo:
        agent = todo.pop(0)
        if any(agent is known for known in found):
            continue
        found.append(agent)
        for queue, _ in agent._nested:
            todo += [a for item in queue for a in (item.get("sender"), item.get("recipient"))
                     if isinstance(a, ConversableAgent)]  # fmt: skip
    return found


def _models(agents: Sequence[ConversableAgent]) -> ModelSet | None:
    everyone = _with_nested(agents)
    entries = {a.name: llm_entry(a.llm_config, f"agent {a.name!r}: llm_config")
               for a in everyone if a.llm_config}  # fmt: skip
    for agent in everyone:  # a Teachability analyzer with an llm_config of its own
        analyzer = agent._teachability.analyzer_entry(agent.name) if agent._teachability else None
        if analyzer is not None:
            name, config = analyzer
            entries[name] = llm_entry(config, f"agent {agent.name!r}: Teachability llm_config")
    return ModelSet(entries) if entries else None


def _executed_by(caller: ConversableAgent, executor: ConversableAgent | None) -> list[Tool]:
    """The caller's tools, each running the function its executor registered (AutoGen
    answers a call nobody executes with "Function X not found")."""
    table = executor.function_map if executor is not None else {}
    tools = []
    for name, offered in caller._llm_tools.items():
        function = table.get(name) or caller.function_map.get(name)
        if function is None:
            def missing(*args: Any, _name: str = name, **kwargs: Any) -> Any:
                raise LookupError(f"Function {_name} not found.")

            function = missing
        tools.append(dataclasses.replace(offered, fn=function))
    return tools


def _spec(agent: ConversableAgent, partner: ConversableAgent | None,
          executor: ConversableAgent | None) -> Agent:  # fmt: skip
    options: dict[str, Any] = {}
    queue = agent.nested_for(partner)
    if queue is not None:
        options["nested"] = _nested(agent, queue, partner)
    spec = agent.spec(options=options)
    return spec.with_options(tools=_executed_by(agent, executor)) if spec.tools else spec


def _nested(recipient: ConversableAgent, queue: list[dict[str, Any]],
            partner: ConversableAgent | None) -> dict[str, Any]:  # fmt: skip
    """The agent kind's ``nested`` option for AutoGen's nested chat queue."""
    from graphflow.patterns import Chat

    chats, summaries, callables = [], {}, {}
    for index, item in enumerate(queue):
        sender = item.get("sender") or recipient
        target = item["recipient"]
        cid = str(item.get("chat_id", index))
        message = item.get("message")
        if callable(message):
            callables[cid] = message
        chats.append(Chat(_spec(sender, target, target), _spec(target, sender, sender),
                          message, item.get("max_turns"), item.get("summary_method", "last_msg"),
                          dict(item.get("summary_args") or {}), item.get("carryover", ()),
                          item.get("chat_id"), tuple(item.get("prerequisites", ()))))  # fmt: skip
        if callable(item.get("summary_method")):
            summaries[cid] = _autogen_summary(item["summary_method"], sender, target,
                                              dict(item.get("summary_args") or {}))  # fmt: skip
    options = nested_chat(chats, summaries=summaries)

    def prepare(state: Any) -> dict[str, Any]:
        """AutoGen's ``_get_chats_to_run``: message functions see the outer chat."""
        outer = history(state.messages, recipient.name)
        out = {}
        for cid, function in callables.items():
            value = function(recipient, outer, partner, None)
            out[f"message_{cid}"] = value.get("content") if isinstance(value, Mapping) else value
        return out

    return {"graph": options["graph"], "prepare": prepare if callables else None}


def _autogen_summary(method: Callable[..., Any], sender: ConversableAgent, recipient: Any,
                     args: dict[str, Any]) -> Callable[[Sequence[Message]], Any]:  # fmt: skip
    def summary(messages: Sequence[Message]) -> Any:
        _remember(sender, recipient, messages)
        return method(sender, recipient, {"cache": None, **args})

    return summary


def _remember(sender: ConversableAgent, recipient: Any, messages: Sequence[Message]) -> None:
    sender._oai_messages[recipient] = history(messages, sender.name)
    if isinstance(recipient, ConversableAgent):
        recipient._oai_messages[sender] = history(messages, recipient.name)


def _answerer(agents: Sequence[ConversableAgent]) -> Callable[[str, str | None], str]:
    by_node = {f"{a.name}_human": a for a in agents}

    def answer(question: str, node: str | None) -> str:
        agent = by_node.get(node or "")
        if agent is None:  # a manual speaker pick, or a checkpoint inside nested chats
            return builtins.input(question)
        return agent.get_human_input(question)

    return answer


def _printer(sides: Mapping[str, str]) -> Callable[[Any], None]:
    def show(event: Any) -> None:
        if isinstance(event, MessageEvent):
            m = event.message
            who = m.name or m.node or m.role
            if m.role == "tool":
                print(f"{who} (to {sides.get(who, 'the caller')}):\n\n***** Response from "
                      f"calling tool ({m.tool_call_id}) *****\n{m.content}\n{'*' * 69}\n\n"
                      f"{'-' * 80}", flush=True)  # fmt: skip
                return
            text = m.content or ""
            if m.tool_calls:
                calls = "\n".join(f"***** Suggested tool call ({c.get('id')}): "
                                  f"{c['function']['name']} *****\nArguments: \n"
                                  f"{c['function']['arguments']}" for c in m.tool_calls)  # fmt: skip
                text = (text + "\n" if text else "") + calls
            print(f"{who} (to {sides.get(who, 'chat_manager')}):\n\n{text}\n\n{'-' * 80}",
                  flush=True)  # fmt: skip

    return show


def _first_message(sender: ConversableAgent, recipient: Any, message: Any,
                   kwargs: Mapping[str, Any]) -> str:  # fmt: skip
    """AutoGen's ``generate_init_message``: a callable is called with
    ``(sender, recipient, kwargs)``; ``None`` asks the person (``>``); carryover is
    appended to a string or dict message."""
    if callable(message):
        value = message(sender, recipient, dict(kwargs))
        return str(value.get("content") if isinstance(value, Mapping) else value)
    if message is None:
        message = sender.get_human_input(">")
    text = str(message.get("content") or "") if isinstance(message, Mapping) else str(message)
    carryover = kwargs.get("carryover") or []
    return carryover_text(text, [carryover] if isinstance(carryover, str) else list(carryover))


def _agents(sender: ConversableAgent, recipient: Any) -> list[ConversableAgent]:
    members = list(recipient.groupchat.agents) if isinstance(recipient, GroupChatManager) \
        else [recipient]
    return [sender, *[m for m in members if m is not sender]]


def chat_graph(sender: ConversableAgent, recipient: Any, *, max_turns: int | None = None) -> Any:
    """The graph ``sender.initiate_chat(recipient)`` runs (a builder
    :class:`~graphflow.Graph`: ``.compile()``, ``.to_dot()``, ``.render(...)``).

    Example:
        >>> from graphflow.autogen import AssistantAgent, UserProxyAgent
        >>> graph = chat_graph(UserProxyAgent("user_proxy"), AssistantAgent("assistant"))
        >>> sorted(graph.compile().nodes)
        ['assistant', 'done', 'user_proxy', 'user_proxy_exit', 'user_proxy_human']
    """
    if isinstance(recipient, GroupChatManager):
        return _group_graph(sender, recipient, recipient.groupchat)
    return two_agent_chat(_spec(sender, recipient, recipient), _spec(recipient, sender, sender),
                          max_turns=max_turns)  # fmt: skip


async def initiate_chat(sender: ConversableAgent, recipient: Any, *, clear_history: bool = True,
                        silent: bool | None = False, max_turns: int | None = None,
                        summary_method: Any = "last_msg",
                        summary_args: Mapping[str, Any] | None = None, message: Any = None,
                        store: Any = None, run_id: str | None = None,
                        on_event: Callable[[Any], None] | None = None,
                        **kwargs: Any) -> ChatResult:  # fmt: skip
    """Run ``sender.initiate_chat(recipient, ...)`` as a graph run (see the module docs).

    Raises:
        DefinitionError: a bad agent, chat or ``summary_method`` (before the chat runs).
    """
    form = check_summary_method(summary_method, autogen=True)
    if callable(summary_method) and form != "autogen":
        raise DefinitionError([Problem("summary_method", "AutoGen calls a summary function "
                                       "with (sender, recipient, summary_args)",
                                       "give it those three parameters")])  # fmt: skip
    group = recipient.groupchat if isinstance(recipient, GroupChatManager) else None
    agents = _agents(sender, recipient)
    graph = chat_graph(sender, recipient, max_turns=max_turns)
    text = _first_message(sender, recipient, message, kwargs)
    recipient_node = recipient.name
    if group is not None:
        models = _models([*agents, recipient])
        sides_names = {a.name: recipient.name for a in agents}
    else:
        models = _models(agents)
        sides_names = {sender.name: recipient.name, recipient.name: sender.name}
    earlier: list[Message] = []
    if not clear_history:
        earlier = list(getattr(sender, "_graph_messages", {}).get(recipient.name, []))
    first = Message(role="user", name=sender.name, content=text)
    events: list[Callable[[Any], None]] = [] if silent else [_printer(sides_names)]
    if events:
        events[0](MessageEvent("", 0, "", first))
    if on_event is not None:
        events.append(on_event)

    def emit(event: Any) -> None:
        for listener in events:
            listener(event)

    runner = Runner(graph.compile(), store=store, models=models, human_input=_answerer(agents),
                    on_event=emit if events else None, work_dir=_work_dir(agents))  # fmt: skip
    result = await runner.start([*earlier, first], run_id=run_id)
    if result.status == "failed":  # AutoGen raises; the run stays in the store to resume
        from graphflow.errors import RunError

        runner.close()
        raise RunError(f"the chat failed: {result.error}", run_id=result.run_id)
    custom = None
    if form == "autogen":
        custom = _autogen_summary(summary_method, sender, recipient, dict(summary_args or {}))
    refs = [recipient.name if recipient.llm_config else False,
            sender.name if sender.llm_config else False]  # fmt: skip
    sides = ChatSides(sender.name, recipient_node, refs, custom)
    chat = await chat_result(runner, result, sides, summary_method, dict(summary_args or {}))
    _remember(sender, recipient, result.messages)
    if group is not None:
        group.messages = history(result.messages)
    sender.__dict__.setdefault("_graph_messages", {})[recipient.name] = list(result.messages)
    return chat


def _group_graph(sender: ConversableAgent, manager: GroupChatManager, group: Any) -> Any:
    members = [_spec(a, manager, _executor_in(a, group.agents)) for a in group.agents]
    allow = group.allow_repeat_speaker
    term = manager._is_termination_msg
    from graphflow.agents.conventions import AUTOGEN_TERMINATION
    from graphflow.autogen.agent import _termination

    options: dict[str, Any] = {
        "selection": group.selection(), "max_round": group.max_round,
        "allow_repeat_speaker": True if allow is None else bool(allow),
        "is_termination_msg": _termination(term) if term else AUTOGEN_TERMINATION,
        "manager": manager.name, "max_retries": group.max_retries_for_selecting_speaker,
        "sender": sender.name if sender in group.agents else None}  # fmt: skip
    if manager.llm_config:
        options["model"] = manager.name
    rules = group.transitions()
    if rules is not None:
        options["transitions"] = rules
        options["transitions_type"] = group.speaker_transitions_type
    return group_chat(members, **options)


def _executor_in(agent: ConversableAgent, members: Sequence[ConversableAgent]) -> Any:
    """Who executes ``agent``'s tool calls in a group: the member that registered them."""
    for other in members:
        if any(name in other.function_map for name in agent._llm_tools):
            return other
    return agent


def initiate_chats(chat_queue: list[dict[str, Any]]) -> list[ChatResult]:
    """AutoGen's ``initiate_chats``: chats in order, each carrying over the summaries of
    the chats before it (``finished_chat_indexes_to_exclude_from_carryover`` honoured).
    Each chat is its own graph run."""
    from graphflow.runs import run_sync

    return run_sync(_run_queue(chat_queue))


async def _run_queue(chat_queue: list[dict[str, Any]]) -> list[ChatResult]:
    finished: list[ChatResult] = []
    for index, info in enumerate(chat_queue):
        if "recipient" not in info or "sender" not in info:
            raise DefinitionError([Problem(f"chat_queue[{index}]", "needs sender and recipient")])
        exclude = set(info.get("finished_chat_indexes_to_exclude_from_carryover", []))
        own = info.get("carryover", [])
        carry = ([own] if isinstance(own, str) else list(own)) + [
            r.summary for i, r in enumerate(finished) if i not in exclude]  # fmt: skip
        options = {k: v for k, v in info.items()
                   if k not in ("sender", "recipient", "carryover", "chat_id", "prerequisites",
                                "finished_chat_indexes_to_exclude_from_carryover", "cache",
                                "verbose")}  # fmt: skip
        result = await initiate_chat(info["sender"], info["recipient"], carryover=carry, **options)
        result.chat_id = info.get("chat_id")
        finished.append(result)
    return finished


async def a_initiate_chats(chat_queue: list[dict[str, Any]]) -> dict[Any, ChatResult]:
    """AutoGen's ``a_initiate_chats``: chats with ``chat_id`` and ``prerequisites``; a
    chat starts when its prerequisites finished, carrying over their summaries."""
    import asyncio

    book = {info["chat_id"]: info for info in chat_queue}
    tasks: dict[Any, asyncio.Task[ChatResult]] = {}

    async def run(chat_id: Any) -> ChatResult:
        info = book[chat_id]
        before = [await tasks[p] for p in info.get("prerequisites", [])]
        own = info.get("carryover", [])
        carry = ([own] if isinstance(own, str) else list(own)) + [r.summary for r in before]
        options = {k: v for k, v in info.items()
                   if k not in ("sender", "recipient", "carryover", "chat_id", "prerequisites",
                                "cache", "verbose")}  # fmt: skip
        result = await initiate_chat(info["sender"], info["recipient"], carryover=carry, **options)
        result.chat_id = chat_id
        return result

    for chat_id in book:
        tasks[chat_id] = asyncio.ensure_future(run(chat_id))
    return {chat_id: await task for chat_id, task in tasks.items()}

