"""The ``agent`` kind: an LLM-backed conversation participant (AutoGen's ConversableAgent).

Each time it runs, an agent answers the conversation through AutoGen's reply chain:

1. **human input**: when its human checkpoint (a ``human`` node storing the answer in
   the agent's ``human_input`` variable) just ran, a non-empty answer becomes the
   agent's reply, ``exit`` ends the chat, and an empty answer means "auto-reply" (or
   "end" when the message it answers is a termination message);
2. **limits and termination**: without a fresh human answer, it ends the run when its
   ``max_consecutive_auto_reply`` is used up or the message it answers satisfies its
   ``is_termination_msg`` condition;
3. **code execution**: with ``code_execution`` set, code blocks of the message it
   answers are run and the exit code and output are its reply;
4. **model reply**: its model answers its view of the conversation (tool calls
   included); with ``model: false`` it replies ``default_auto_reply``.

Consecutive auto-replies are counted in the variable ``NODE_auto_replies`` (a person's
answer resets it), so edge conditions can read them, e.g.
``state.coder_auto_replies >= 3``. When the agent ends the chat it sets the
variable ``chat_end`` to the reason and the run completes with that reason; give it an
edge ``{from: coder, to: done, when: state.chat_end}`` so the diagram shows where the
chat ends.

Example graph-file node::

    coder:
      kind: agent
      system_message: "You write Python for {topic}. Say TERMINATE when done."
      model: default
      context: {last: 10}
      max_consecutive_auto_reply: 5
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from graphflow.agents.conventions import (
    CHAT_END,
    DEFAULT_TERMINATION,
    counter_variable,
    input_variable,
)
from graphflow.agents.modelcalls import ask, model_for, usage_total
from graphflow.agents.replies import ReplyTools, execute_code_reply, has_code, load_callable
from graphflow.agents.teaching import TeachabilityConfig, Teacher, TurnMemory, with_memos
from graphflow.agents.views import ContextConfig, agent_view, is_own, speaker_of
from graphflow.conditions import compile_option
from graphflow.errors import DefinitionError, Problem
from graphflow.kinds.base import BuildContext, KindConfig, NodeContext, NodeKind
from graphflow.messages import Interrupt, Message, State, Update

__all__ = [
    "CHAT_END",
    "DEFAULT_TERMINATION",
    "AgentConfig",
    "AgentKind",
    "counter_of",
    "input_variable",
]


class AgentConfig(KindConfig):
    """Options of an ``agent`` node (see the module docs for the reply chain)."""

    name: str | None = Field(default=None, description="speaker name (default: the node id)")
    system_message: str | None = Field(
        default=None, description="system prompt; {placeholders} are filled from run variables"
    )
    template: bool = Field(default=True, description="fill {placeholders} in system_message")
    model: str | dict[str, Any] | list[Any] | bool | None = Field(
        default=None,
        description="an entry of the graph's models: (None: the default), an inline config, "
        "or false for an agent without a model",
    )
    context: ContextConfig | Literal["all"] = Field(
        default="all", description="which messages it sees: all, or {from, last, own, task}"
    )
    instruction: str | None = Field(
        default=None, description="a system message appended after the conversation"
    )
    is_termination_msg: str | Any | None = Field(
        default=DEFAULT_TERMINATION,
        description="condition on the message it answers (as `last`) that ends the chat "
        "(or, in builder graphs, a callable of the state); null never ends",
    )
    max_consecutive_auto_reply: int = Field(default=100, ge=0)
    human_input: str | None = Field(
        default=None, description="variable its human checkpoint writes (default NODE_input)"
    )
    default_auto_reply: str = Field(default="", description="reply of an agent without a model")
    tools: list[Any] = Field(
        default_factory=list, description="tools offered to the model (names or import paths)"
    )
    code_execution: str | dict[str, Any] | None = Field(
        default=None, description="executor that runs code blocks of the message it answers"
    )
    stream: bool = Field(default=False, description="stream tokens as events")
    cache_seed: int | Literal["default"] | None = Field(
        default="default", description="response-cache namespace; null bypasses the cache"
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="request options (temperature …)"
    )
    postprocess: str | Any | None = Field(
        default=None, description="function(Message) -> Message | str applied to model replies"
    )
    nested: dict[str, Any] | None = Field(
        default=None, description="nested chats (AutoGen's register_nested_chats): {graph: "
        "inner graph, prepare: callable of the state → inner variables}; after the "
        "termination and human checks, the reply is the inner run's summary")
    output: str | None = Field(default=None, description="also store the reply text here")
    message: bool = Field(default=True, description="append the reply to the conversation")
    teachability: bool | TeachabilityConfig | None = Field(
        default=None, description="learn memos from received messages and recall them in "
        "later chats (AutoGen's Teachability): true, or {db, agent, learn, learn_from, "
        "recall, recall_threshold, max_recalled, model, analyzer_prompt}")


def _executor_problems(spec: str | dict[str, Any] | None, place: str) -> list[Problem]:
    if spec is None:
        return []
    from graphflow.execution.registry import EXECUTOR_NAMES

    name = spec if isinstance(spec, str) else spec.get("executor", spec.get("name", "auto"))
    if name in (*EXECUTOR_NAMES, "auto"):
        return []
    return [Problem(f"{place}: code_execution", f"unknown executor {name!r}",
                    f"use one of auto, {', '.join(EXECUTOR_NAMES)}")]  # fmt: skip


def counter_of(state: State, node_id: str) -> int:
    """The agent's consecutive auto-reply count in ``state``."""
    value = state.variables.get(counter_variable(node_id))
    return int(value) if isinstance(value, (int, float)) else 0


class AgentKind(NodeKind):
    """An agent node; see the module docs."""

    kind = "agent"
    Config = AgentConfig
    shape = "box"
    speaker = True

    def __init__(self, node_id: str, config: AgentConfig, build: BuildContext) -> None:
        super().__init__(node_id, config, build)
        problems: list[Problem] = []
        place = f"node {node_id!r}"
        self.name = config.name or node_id
        self.context = None if config.context == "all" else config.context
        self.terminates = (config.is_termination_msg if callable(config.is_termination_msg)
                           else compile_option(config.is_termination_msg,
                                               f"{place}: is_termination_msg", problems))  # fmt: skip
        if config.system_message and config.template:
            from graphflow.models import template_fields

            try:
                template_fields(config.system_message, where=f"{place}: system_message")
            except DefinitionError as exc:
                problems.extend(exc.problems)
        problems.extend(self._check_model(place))
        self.post = None
        if config.postprocess is not None:
            try:
                self.post = load_callable(config.postprocess, build.base_dir)
            except LookupError as exc:
                problems.append(Problem(f"{place}: postprocess", str(exc)))
        self.tools = ReplyTools.load(config.tools, build.base_dir, f"{place}: tools", problems)
        problems.extend(_executor_problems(config.code_execution, place))
        self.inner = None
        if config.nested is not None:
            if build.compile_subgraph is None or "graph" not in config.nested:
                problems.append(Problem(f"{place}: nested", "needs graph: (the inner chats)"))
            else:
                try:
                    self.inner = build.compile_subgraph(config.nested["graph"])
                except DefinitionError as exc:
                    problems.extend(Problem(f"{place}: nested", str(p)) for p in exc.problems)
        self.teacher = self._teacher(place, problems)
        if problems:
            raise DefinitionError(problems)
        self.var = input_variable(node_id, config.human_input)

    def _teacher(self, place: str, problems: list[Problem]) -> Teacher | None:
        config: AgentConfig = self.config  # type: ignore[assignment]
        option = config.teachability
        if option is None or option is False:
            return None
        settings = TeachabilityConfig() if option is True else option
        if config.model is False and settings.model is None:
            problems.append(Problem(f"{place}: teachability", "an agent with model: false "
                                    "never asks a model, so it can neither learn nor recall",
                                    "give the agent a model, or remove teachability"))  # fmt: skip
        elif settings.model is not None and self.build.models is not None:
            from graphflow.models import load_models

            try:
                models = load_models(self.build.models, base_dir=self.build.base_dir)
            except DefinitionError:
                models = None  # reported by the agent's own model check
            if models is not None:
                problems.extend(models.problems(settings.model,
                                                where=f"{place}: teachability.model"))
        return Teacher(settings, node_id=self.node_id, name=self.name,
                       base_dir=self.build.base_dir)  # fmt: skip

    def _check_model(self, place: str) -> list[Problem]:
        model = self.config.model  # type: ignore[attr-defined]
        if model is False or self.build.models is None:
            return []
        if model is True:
            model = None
        from graphflow.models import load_models

        try:
            models = load_models(self.build.models, base_dir=self.build.base_dir)
        except DefinitionError as exc:
            return list(exc.problems)
        return models.problems(model, where=f"{place}: model") if models is not None else []

    def subgraph(self) -> Any:
        return self.inner

    def serializable(self) -> bool:
        config: AgentConfig = self.config  # type: ignore[assignment]
        if config.nested is not None and (config.nested.get("prepare") is not None
                                          or not isinstance(config.nested.get("graph"),
                                                            (str, dict))):  # fmt: skip
            return False
        post_ok = config.postprocess is None or isinstance(config.postprocess, str)
        return (post_ok and all(isinstance(t, str) for t in config.tools)
                and not callable(config.is_termination_msg))  # fmt: skip

    # -- running -------------------------------------------------------------------

    async def run(self, ctx: NodeContext) -> Update | Interrupt:
        config: AgentConfig = self.config  # type: ignore[assignment]
        state = ctx.state
        incoming = next((m for m in reversed(state.messages)
                         if not is_own(m, self.node_id, self.name)), None)  # fmt: skip
        count = counter_of(state, self.node_id)
        pending = state.variables.get(self.var)
        cleared: dict[str, Any] = {self.var: None} if pending is not None else {}
        if pending is not None:
            answer = str(pending)
            if answer.strip().lower() == "exit":
                return self._stop(f"{self.name}: the person typed exit",
                                  {**cleared, **self._count(state, 0)})  # fmt: skip
            if answer.strip():
                reply = Message(role="user", name=self.name, content=answer, node=self.node_id)
                return self._reply(reply, {**cleared, **self._count(state, 0)})
            if self._is_termination(state, incoming):
                return self._stop(self._why_terminated(incoming), cleared)
        else:
            limit = config.max_consecutive_auto_reply
            if count >= limit:
                return self._stop(f"{self.name}: max_consecutive_auto_reply ({limit}) reached")
            if self._is_termination(state, incoming):
                return self._stop(self._why_terminated(incoming))
        variables = {**cleared, **self._count(state, count + 1)}
        return await self._auto_reply(ctx, incoming, variables)

    def _stop(self, reason: str, variables: dict[str, Any] | None = None) -> Update:
        return Update(variables={**(variables or {}), CHAT_END: reason}, stop=reason)

    def _count(self, state: State, value: int) -> dict[str, Any]:
        return {counter_variable(self.node_id): value}

    def _is_termination(self, state: State, incoming: Message | None) -> bool:
        if self.terminates is None or incoming is None or state.last is not incoming:
            return False
        view = State(state.messages, state.variables, state.visits, state.step, focus=incoming)
        return bool(self.terminates(view))

    def _why_terminated(self, incoming: Message | None) -> str:
        who = speaker_of(incoming) if incoming is not None else "?"
        return f"{self.name}: termination message from {who}"

    def _reply(self, message: Message, variables: dict[str, Any],
               usage: dict[str, Any] | None = None) -> Update:  # fmt: skip
        config: AgentConfig = self.config  # type: ignore[assignment]
        if config.output:
            variables = {**variables, config.output: message.content or ""}
        return Update(messages=[message] if config.message else [], variables=variables,
                      usage=usage)  # fmt: skip

    async def _auto_reply(self, ctx: NodeContext, incoming: Message | None,
                          variables: dict[str, Any]) -> Update | Interrupt:  # fmt: skip
        config: AgentConfig = self.config  # type: ignore[assignment]
        if self.inner is not None and incoming is not None:
            return await self._nested_reply(ctx, incoming, variables)
        if config.code_execution is not None and incoming is not None and has_code(incoming):
            text = await execute_code_reply(ctx, config.code_execution, incoming)
            message = Message(role="user", name=self.name, content=text, node=self.node_id)
            return self._reply(message, variables)
        if config.model is False:
            message = Message(role="assistant", name=self.name, node=self.node_id,
                              content=config.default_auto_reply)  # fmt: skip
            return self._reply(message, variables)
        memory = None
        if self.teacher is not None and self.teacher.applies(incoming):
            assert incoming is not None
            memory = await self._remember(ctx, incoming)
            variables = {**variables, **memory.variables(self.node_id)}
        answer = await self._ask(ctx, memory.recalled if memory is not None else ())
        message = answer.message.model_copy(update={"role": "assistant", "name": self.name,
                                                    "node": self.node_id})  # fmt: skip
        if self.post is not None:
            message = self._postprocess(message)
        usages = [*(memory.usages if memory is not None else ()), answer.usage]
        return self._reply(message, variables, usage_total(usages))

    async def _remember(self, ctx: NodeContext, incoming: Message) -> TurnMemory:
        """Recall memos for ``incoming`` and learn from it (graphflow.agents.teaching)."""
        config: AgentConfig = self.config  # type: ignore[assignment]
        assert self.teacher is not None
        ref: Any = self.teacher.config.model
        if ref is None:
            ref = None if config.model is True else config.model
        where = f"node {self.node_id!r}: teachability.model"
        seed = ... if config.cache_seed == "default" else config.cache_seed
        return await self.teacher.turn(ctx, incoming,
                                       lambda: model_for(ctx, self.build, ref, where=where),
                                       seed)  # fmt: skip

    async def _nested_reply(self, ctx: NodeContext, incoming: Message,
                            variables: dict[str, Any]) -> Update | Interrupt:  # fmt: skip
        """Run the nested chats on the received message; the reply is their summary."""
        nested: dict[str, Any] = self.config.nested or {}  # type: ignore[attr-defined]
        prepare = nested.get("prepare")
        inner_variables = dict(prepare(ctx.state) or {}) if callable(prepare) else {}
        opening = Message(role="user", name=speaker_of(incoming), content=incoming.text)
        assert self.inner is not None
        result = await ctx.run_subgraph(self.inner, input=opening, variables=inner_variables)
        if result.status == "waiting":
            return Interrupt(question=result.question or "", payload={"subrun": result.run_id})
        if result.status != "completed":
            from graphflow.errors import NodeError

            raise NodeError(f"the nested chats of {self.node_id!r} (run {result.run_id!r}) "
                            f"ended with status {result.status}: "
                            f"{result.error or result.reason}")  # fmt: skip
        produced = [m for m in result.messages if m.node is not None]
        text = (produced[-1].content or "").replace("TERMINATE", "") if produced else ""
        message = Message(role="assistant", name=self.name, node=self.node_id, content=text)
        return self._reply(message, variables, result.usage or None)

    async def _ask(self, ctx: NodeContext, memos: Any = ()) -> Any:
        config: AgentConfig = self.config  # type: ignore[assignment]
        system = config.system_message
        if system and config.template:
            from graphflow.models import render_template

            system = render_template(system, ctx.state.variables,
                                     where=f"node {self.node_id!r}: system_message")  # fmt: skip
        view = agent_view(ctx.state.messages, node_id=self.node_id, name=self.name,
                          system=system, context=self.context,
                          instruction=config.instruction)  # fmt: skip
        if memos:
            view = with_memos(view, memos)
        model_ref = None if config.model is True else config.model
        model = model_for(ctx, self.build, model_ref, where=f"node {self.node_id!r}: model")
        seed = ... if config.cache_seed == "default" else config.cache_seed
        return await ask(ctx, model, view, key="reply", tools=self.tools.schemas or None,
                         stream=config.stream, cache_seed=seed,
                         params=config.params or None)  # fmt: skip

    def _postprocess(self, message: Message) -> Message:
        assert self.post is not None
        result = self.post(message)
        if isinstance(result, Message):
            return result.model_copy(update={"name": self.name, "node": self.node_id})
        return message.model_copy(update={"content": "" if result is None else str(result)})
