"""The ``router`` kind: a group-chat manager that picks who speaks next.

A router's **candidates are its outgoing edges**: it may only send the conversation to
a successor, so the diagram shows every allowed transition. Its successor of kind
``end`` (or the node named by ``end:``) is where the chat goes when it is over.
Each time it runs, in order:

1. the chat ends when the last message satisfies ``is_termination_msg``, or when the
   conversation holds ``max_round`` messages (AutoGen counts the first one too);
2. the candidates are its successors (minus the last speaker with
   ``allow_repeat_speaker: false``); none left ends the chat;
3. ``selection`` picks one: ``auto`` (a model reads the conversation and the members'
   descriptions and names the next speaker; an answer naming none or several
   candidates is re-asked up to ``max_retries`` times, then ``fallback`` decides and the
   variable ``speaker_fallbacks`` records it), ``round_robin`` (in ``order``),
   ``random`` (seeded by ``seed`` and the round), ``manual`` (the run waits for a
   person to name the speaker: ``graphflow resume RUN --input NAME``), or an import
   path of a function ``(last_speaker, chat: GroupChatView) -> node | name | method | None``.

The chosen node id is stored in the variable ``next_speaker``. When the chat ends at an
``end`` node the run completes with the reason (``terminated: ...``, ``max_round ...``).

For allowed/disallowed transitions, give each speaker its own router whose edges are the
speakers allowed after it (:func:`graphflow.patterns.group_chat` does this for you).
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field

from graphflow.agents.conventions import CHAT_END, DEFAULT_TERMINATION, NEXT_SPEAKER
from graphflow.agents.modelcalls import ask, model_for, usage_total
from graphflow.agents.neighbourhood import Member, Neighbourhood, neighbourhood
from graphflow.agents.replies import load_callable
from graphflow.agents.selection import (
    SELECT_PROMPT,
    SELECT_SYSTEM,
    GroupChatView,
    next_in_order,
    reask_text,
    resolve_speaker,
    roles_text,
)
from graphflow.agents.views import agent_view, speaker_of
from graphflow.conditions import compile_option
from graphflow.errors import DefinitionError, Problem
from graphflow.kinds.base import BuildContext, KindConfig, NodeContext, NodeKind
from graphflow.messages import Interrupt, Update
from graphflow.models.usage import Usage

__all__ = ["METHODS", "RouterConfig", "RouterKind"]

METHODS = ("auto", "round_robin", "random", "manual")


class RouterConfig(KindConfig):
    """Options of a ``router`` node (see the module docs)."""

    selection: str | Any = Field(default="auto", description="auto, round_robin, random, "
                                 "manual, or module:function")  # fmt: skip
    members: list[str] | None = Field(default=None, description="speakers (default: successors)")
    order: list[str] | None = Field(default=None, description="round-robin order")
    end: str | None = Field(default=None, description="node to go to when the chat ends")
    is_termination_msg: str | Any | None = DEFAULT_TERMINATION
    max_round: int | None = Field(default=None, ge=1, description="messages in the chat")
    allow_repeat_speaker: bool = True
    model: str | dict[str, Any] | list[Any] | None = None
    select_message: str = Field(default=SELECT_SYSTEM, description="system prompt for auto")
    select_prompt: str = Field(default=SELECT_PROMPT, description="last message for auto")
    max_retries: int = Field(default=2, ge=0, description="re-asks after an unusable answer")
    fallback: Literal["round_robin", "first", "end"] = "round_robin"
    seed: int = 0
    prompt: str = Field(default="Who speaks next? Candidates: {candidates}",
                        description="question of manual selection")  # fmt: skip
    cache_seed: int | Literal["default"] | None = "default"


class RouterKind(NodeKind):
    """A group-chat manager; see the module docs."""

    kind = "router"
    Config = RouterConfig
    dynamic_routing = True
    shape = "hexagon"

    def __init__(self, node_id: str, config: RouterConfig, build: BuildContext) -> None:
        super().__init__(node_id, config, build)
        problems: list[Problem] = []
        place = f"node {node_id!r}"
        self.terminates = (config.is_termination_msg if callable(config.is_termination_msg)
                           else compile_option(config.is_termination_msg,
                                               f"{place}: is_termination_msg", problems))  # fmt: skip
        self.method = config.selection if config.selection in METHODS else "function"
        self.function = None
        if self.method == "function":
            try:
                self.function = load_callable(config.selection, build.base_dir)
            except LookupError as exc:
                problems.append(Problem(f"{place}: selection", str(exc),
                                        f"use one of {', '.join(METHODS)} or module:function"))  # fmt: skip
        if problems:
            raise DefinitionError(problems)

    def serializable(self) -> bool:
        config: RouterConfig = self.config  # type: ignore[assignment]
        return isinstance(config.selection, str) and not callable(config.is_termination_msg)

    # -- running -------------------------------------------------------------------

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        config: RouterConfig = self.config  # type: ignore[assignment]
        state = ctx.state
        hood = neighbourhood(ctx, self.node_id, members=config.members, end=config.end)
        last = state.last
        last_speaker = None
        if last is not None:
            last_speaker = last.node if last.node in hood.by_node else None
            last_speaker = (
                last_speaker or hood.by_name.get(last.name or "") or last.node or last.name
            )
        if last is not None and self.terminates is not None and self.terminates(state):
            return self._end(hood, f"terminated: {speaker_of(last)} sent a termination message")
        if config.max_round is not None and len(state.messages) >= config.max_round:
            return self._end(hood, f"max_round ({config.max_round}) reached")
        candidates = list(hood.members)
        if not config.allow_repeat_speaker and len(candidates) > 1:
            candidates = [m for m in candidates if m.node != last_speaker]
        if not candidates:
            return self._end(hood, "no eligible speaker")
        return await self._select(ctx, hood, candidates, last_speaker, self.method)

    async def _select(self, ctx: NodeContext, hood: Neighbourhood, candidates: list[Member],
                      last_speaker: str | None, method: str) -> Update | Interrupt:  # fmt: skip
        config: RouterConfig = self.config  # type: ignore[assignment]
        state = ctx.state
        order = hood.speaking_order(config.order)
        nodes = [m.node for m in candidates]
        if method == "round_robin":
            return self._go(next_in_order(order, last_speaker, nodes))
        if method == "random":
            rng = random.Random(f"{config.seed}:{len(state.messages)}")
            return self._go(rng.choice(nodes))
        if method == "manual":
            return self._manual(ctx, hood, candidates, last_speaker, order)
        if method == "function":
            return await self._function(ctx, hood, candidates, last_speaker)
        return await self._auto(ctx, hood, candidates, last_speaker, order)

    def _go(self, node: str | None, variables: dict[str, Any] | None = None,
            usage: dict[str, Any] | None = None) -> Update:  # fmt: skip
        return Update(goto=node, variables={NEXT_SPEAKER: node, **(variables or {})},
                      usage=usage)  # fmt: skip

    def _end(self, hood: Neighbourhood, reason: str, usage: dict[str, Any] | None = None) -> Update:
        if not hood.ends:
            from graphflow.errors import RunError

            raise RunError(f"router {self.node_id!r} ended the chat ({reason}) but has no end "
                           f"node to go to; add a node of kind end and an edge "
                           f"{self.node_id} → it, or name one with end:", node=self.node_id)  # fmt: skip
        target = hood.ends[0]
        stop = reason if target.kind == "end" else None
        return Update(goto=target.node, variables={NEXT_SPEAKER: None, CHAT_END: reason},
                      usage=usage, stop=stop)  # fmt: skip

    def _fallback(self, hood: Neighbourhood, nodes: list[str], last_speaker: str | None,
                  order: list[str], record: dict[str, Any], state: Any,
                  usage: dict[str, Any] | None = None) -> Update:  # fmt: skip
        config: RouterConfig = self.config  # type: ignore[assignment]
        log = list(state.variables.get("speaker_fallbacks") or [])
        if config.fallback == "end":
            log.append({**record, "fallback": "end"})
            update = self._end(hood, f"speaker selection failed ({record['why']})", usage)
            return Update(goto=update.goto, stop=update.stop, usage=usage,
                          variables={**update.variables, "speaker_fallbacks": log})  # fmt: skip
        chosen = (
            nodes[0] if config.fallback == "first" else next_in_order(order, last_speaker, nodes)
        )
        log.append({**record, "fallback": config.fallback, "chosen": chosen})
        return self._go(chosen, {"speaker_fallbacks": log}, usage)

    def _manual(self, ctx: NodeContext, hood: Neighbourhood, candidates: list[Member],
                last_speaker: str | None, order: list[str]) -> Update | Interrupt:  # fmt: skip
        config: RouterConfig = self.config  # type: ignore[assignment]
        names = [m.name for m in candidates]
        question = config.prompt.replace("{candidates}", ", ".join(names))
        if ctx.input is None:
            return Interrupt(question, options=names, payload={"candidates": names})
        answer = ctx.input.strip()
        nodes = [m.node for m in candidates]
        if answer.lower() == "exit":
            return self._end(hood, "exit: the person ended the chat")
        if not answer:
            return self._go(next_in_order(order, last_speaker, nodes))
        if answer.isdigit() and 1 <= int(answer) <= len(candidates):
            return self._go(candidates[int(answer) - 1].node)
        found = resolve_speaker(answer, candidates)
        if found.member is None or _normal(answer) not in _forms(found.member):
            return Interrupt(f"{answer!r} is not one of the candidates. {question}",
                             options=names, payload={"candidates": names})  # fmt: skip
        return self._go(found.member.node)

    async def _function(self, ctx: NodeContext, hood: Neighbourhood, candidates: list[Member],
                        last_speaker: str | None) -> Update | Interrupt:  # fmt: skip
        assert self.function is not None
        state = ctx.state
        view = GroupChatView(last_speaker, tuple(m.node for m in candidates),
                             {m.node: m.name for m in candidates}, tuple(state.messages),
                             dict(state.variables), len(state.messages))  # fmt: skip
        choice = self.function(last_speaker, view)
        if hasattr(choice, "__await__"):
            choice = await choice
        if choice is None:
            return self._end(hood, "the selection function ended the chat")
        choice = str(choice)
        if choice in METHODS:
            return await self._select(ctx, hood, candidates, last_speaker, choice)
        for m in candidates:
            if choice in (m.node, m.name):
                return self._go(m.node)
        from graphflow.errors import RunError

        raise RunError(f"router {self.node_id!r}: the selection function chose {choice!r}, "
                       f"which is not a candidate ({', '.join(view.candidates)}); return a "
                       "candidate, a method name or None", node=self.node_id)  # fmt: skip

    async def _auto(self, ctx: NodeContext, hood: Neighbourhood, candidates: list[Member],
                    last_speaker: str | None, order: list[str]) -> Update:  # fmt: skip
        config: RouterConfig = self.config  # type: ignore[assignment]
        if len(candidates) == 1:
            return self._go(candidates[0].node)
        agentlist = "[" + ", ".join(m.name for m in candidates) + "]"
        system = config.select_message.replace("{roles}", roles_text(candidates)).replace(
            "{agentlist}", agentlist)  # fmt: skip
        prompt = config.select_prompt.replace("{agentlist}", agentlist)
        view = agent_view(ctx.state.messages, node_id=self.node_id, name=self.node_id,
                          system=system).plus({"role": "user", "content": prompt})  # fmt: skip
        model = model_for(ctx, self.build, config.model, where=f"node {self.node_id!r}: model")
        seed = ... if config.cache_seed == "default" else config.cache_seed
        usages: list[Usage] = []
        answers: list[str] = []
        for attempt in range(config.max_retries + 1):
            answer = await ask(ctx, model, view, key=f"select:{attempt}", cache_seed=seed)
            usages.append(answer.usage)
            answers.append(answer.text)
            found = resolve_speaker(answer.text, candidates)
            if found.member is not None:
                return self._go(found.member.node, usage=usage_total(usages))
            view = view.plus({"role": "assistant", "content": answer.text},
                             {"role": "user", "content": reask_text(found, candidates)})
        record = {"round": len(ctx.state.messages), "method": "auto", "answers": answers,
                  "why": f"{len(answers)} answers named no single candidate"}  # fmt: skip
        return self._fallback(hood, [m.node for m in candidates], last_speaker, order, record,
                              ctx.state, usage_total(usages))  # fmt: skip


def _normal(text: str) -> str:
    return " ".join(text.strip().strip("\"'`.").lower().split())


def _forms(member: Member) -> set[str]:
    return {_normal(member.name), _normal(member.node), _normal(member.name.replace("_", " "))}
