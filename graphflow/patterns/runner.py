"""Running a pattern's graph to the end: answering human checkpoints, and the
:class:`ChatResult` a chat returns (AutoGen's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphflow.context import RunContext
from graphflow.errors import DefinitionError, Problem
from graphflow.messages import Message
from graphflow.results import RunResult
from graphflow.store import RunStore, open_store

__all__ = ["ChatResult", "HumanInput", "Runner", "autogen_cost", "history", "run_context"]

#: Answers for human checkpoints: a list used in order, or a function of the question
#: (or of the question and the waiting node, when it takes two arguments).
HumanInput = Sequence[str] | Callable[..., str | None] | None


@dataclass
class ChatResult:
    """The outcome of a chat (AutoGen's ``ChatResult``), plus where the run stands.

    Attributes:
        chat_history: the messages as the chat's initiator (the sender) saw them, as
            AutoGen's ``sender.chat_messages[recipient]``: its own messages are
            ``assistant``, everyone else's ``user`` (tool results ``tool``); each has
            ``content``, ``role`` and ``name`` (no ``name`` on tool calls and results).
        summary: the chat's summary (by its ``summary_method``).
        cost: AutoGen's shape: ``{"usage_including_cached_inference": {"total_cost":
            x, MODEL: {"cost", "prompt_tokens", "completion_tokens", "total_tokens"}},
            "usage_excluding_cached_inference": {...}}`` (:func:`autogen_cost`).
        human_input: the answers people gave at human checkpoints, in order (not the
            speaker picks of manual selection, as in AutoGen).
        chat_id: the chat's id in a sequence of chats (``None`` for a single chat).
        run_id: the run's id in the store (resume it, show it, render it).
        status: ``completed``, ``waiting`` (a person must answer), ``failed``,
            ``limit_reached``, ``budget_exceeded`` or ``timeout``.
        reason: which stop condition fired (e.g. ``user_proxy: termination message from
            assistant``).
        messages: the conversation as :class:`~graphflow.messages.Message` objects.
        question: what the run waits for, when ``status`` is ``waiting``.
        error: why the run failed, when ``status`` is ``failed``.
        usage: graphflow's usage report of the run (``calls``, ``prompt_tokens``,
            ``cost``, ``cached_calls`` …, and ``by_node``).
    """

    chat_history: list[dict[str, Any]]
    summary: str
    cost: dict[str, Any]
    human_input: list[str]
    run_id: str
    status: str
    reason: str | None = None
    messages: list[Message] = field(default_factory=list)
    question: str | None = None
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    chat_id: Any = None
    _resume: Callable[[str], Awaitable[ChatResult]] | None = field(
        default=None, repr=False, compare=False
    )

    async def resume(self, answer: str) -> ChatResult:
        """Answer the waiting human checkpoint and continue the chat.

        Raises:
            RunNotResumable: the chat is not waiting for a person.
        """
        from graphflow.errors import RunNotResumable

        if self.status != "waiting" or self._resume is None:
            raise RunNotResumable(f"chat run {self.run_id!r} is not waiting for input "
                                  f"(status {self.status})")  # fmt: skip
        return await self._resume(answer)

    def resume_sync(self, answer: str) -> ChatResult:
        """Synchronous :meth:`resume`."""
        from graphflow.runs import run_sync

        return run_sync(self.resume(answer))

    def _repr_html_(self) -> str:
        """The chat as a notebook shows it: status, summary, conversation, cost."""
        from graphflow.display import chat_result_html

        return chat_result_html(self)


def history(messages: Sequence[Message], initiator: str | None = None) -> list[dict[str, Any]]:
    """The messages as the ``initiator`` (the speaker name of the chat's sender) saw them,
    in AutoGen's ``chat_messages`` shape: its own messages are ``assistant``, the others'
    ``user``, tool results ``tool``; ``name`` is the speaker (left out on tool calls and
    tool results, as AutoGen does). Without an initiator, roles are kept as they are.

    Example:
        >>> history([Message(role="user", name="boss", content="go"),
        ...          Message(role="assistant", name="bot", node="bot", content="done")], "boss")
        [{'content': 'go', 'role': 'assistant', 'name': 'boss'}, {'content': 'done', 'role': 'user', 'name': 'bot'}]
    """
    out = []
    for m in messages:
        item: dict[str, Any] = {"content": m.content}
        if m.role == "tool":
            item["role"] = "tool"
            if m.tool_call_id:
                item["tool_call_id"] = m.tool_call_id
        elif initiator is None:
            item["role"] = m.role
        else:
            item["role"] = "assistant" if m.name == initiator else "user"
        if m.tool_calls:
            item["tool_calls"] = m.tool_calls
            item["role"] = "assistant" if initiator is None or m.name == initiator else "user"
        elif m.role != "tool" and (m.name or m.node):
            item["name"] = m.name or m.node
        out.append(item)
    return out


def autogen_cost(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """A usage report in AutoGen's ``ChatResult.cost`` shape
    (``agentchat/utils.py``, ``gather_usage_summary``): per model, ``cost``,
    ``prompt_tokens``, ``completion_tokens`` and ``total_tokens``, with and without the
    calls answered from the cache, and ``total_cost``.

    Example:
        >>> from graphflow.models.usage import Usage
        >>> cost = autogen_cost(Usage.of_call(10, 2, cost=0.5, model="m").to_dict())
        >>> cost["usage_excluding_cached_inference"]
        {'total_cost': 0.5, 'm': {'cost': 0.5, 'prompt_tokens': 10, 'completion_tokens': 2, 'total_tokens': 12}}
    """
    from graphflow.models.usage import read_usage_report

    total, _ = read_usage_report(usage)
    including: dict[str, Any] = {"total_cost": 0}
    excluding: dict[str, Any] = {"total_cost": 0}
    for name, u in sorted(total.models.items()):
        prompt = u.prompt_tokens + u.cached_prompt_tokens
        completion = u.completion_tokens + u.cached_completion_tokens
        if u.calls:
            including[name] = {"cost": u.cost + u.cached_cost, "prompt_tokens": prompt,
                               "completion_tokens": completion,
                               "total_tokens": prompt + completion}  # fmt: skip
            including["total_cost"] += u.cost + u.cached_cost
        if u.calls - u.cached_calls:
            excluding[name] = {"cost": u.cost, "prompt_tokens": u.prompt_tokens,
                               "completion_tokens": u.completion_tokens,
                               "total_tokens": u.prompt_tokens + u.completion_tokens}  # fmt: skip
            excluding["total_cost"] += u.cost
    return {"usage_including_cached_inference": including,
            "usage_excluding_cached_inference": excluding}  # fmt: skip


def run_context(models: Any = None, *, on_event: Callable[[Any], None] | None = None,
                options: Mapping[str, Any] | None = None) -> RunContext:
    """The run context of a pattern run: ``models`` given as Python objects (a
    ``ModelSet``, a ``ScriptedModel``, a ``ModelConfig`` or a list of them) become the
    models of every graph in the run that has no ``models:`` section of its own;
    ``options`` may override ``model``, ``base_url`` and ``executor``. The pattern's
    runner closes it when its chat ends (it spans the chat's answers and resumes)."""
    given = {k: v for k, v in (options or {}).items() if k in ("model", "base_url", "executor")}
    context = RunContext.with_models(None if isinstance(models, (dict, list, str)) else models,
                                     close_at_end=False, **given)  # fmt: skip
    if on_event is not None:
        context.emit = on_event
    return context


def section_of(models: Any) -> Any:
    """The part of ``models`` a graph file can hold (a mapping or list), else ``None``."""
    return models if isinstance(models, (dict, list)) else None


class Runner:
    """Runs a compiled graph to completion, answering its human checkpoints from
    ``human_input`` while answers last.

    Args:
        graph: the compiled graph.
        store: a store (``Store``, ``MemoryStore``), a database path, or ``None`` (in memory).
        models: models given as Python objects (see :func:`run_context`).
        human_input: answers for human checkpoints.
        on_event: called with every event.
        options: run options (``model``/``base_url`` overrides).
        work_dir: where code runs.
    """

    def __init__(self, graph: Any, *, store: RunStore | str | Path | None = None, models: Any = None,
                 human_input: HumanInput = None, on_event: Callable[[Any], None] | None = None,
                 options: Mapping[str, Any] | None = None,
                 work_dir: str | Path | None = None) -> None:  # fmt: skip
        self.graph = graph
        self.store, self.owns_store = open_store(store)
        self.models = models
        self.answers = list(human_input) if isinstance(human_input, (list, tuple)) else []
        self.ask = human_input if callable(human_input) else None
        self.on_event = on_event
        self.options = dict(options or {})
        self.work_dir = work_dir
        self.given: list[str] = []
        self.context: RunContext | None = None

    def close(self) -> None:
        """Close the store when the runner opened it (a path was given)."""
        if self.owns_store and self.store.shared:
            self.store.close()

    def _context(self) -> RunContext:
        context = run_context(self.models, on_event=self.on_event, options=self.options)
        context.store = self.store
        if self.work_dir is not None:  # code runs in work_dir itself, not in work_dir/RUN_ID
            context.work_dir = Path(self.work_dir).resolve()
        return context

    def _next_answer(self, question: str, node: str | None = None) -> str | None:
        if self.answers:
            return self.answers.pop(0)
        if self.ask is not None:
            answer = self.ask(question, node) if _takes_two(self.ask) else self.ask(question)
            return None if answer is None else str(answer)
        return None

    def _is_checkpoint(self, node: str | None) -> bool:
        """Whether an answer for ``node`` is a person's input (AutoGen's ``human_input``),
        not a speaker pick of manual selection."""
        compiled = self.graph.nodes.get(node) if node is not None else None
        return compiled is None or compiled.kind != "router"

    async def start(self, input: Any, variables: Mapping[str, Any] | None = None,
                    run_id: str | None = None) -> RunResult:  # fmt: skip
        """Start the run and continue it while answers last."""
        self.context = self._context()
        try:
            result = await self.graph.run(input, variables=variables, store=self.store,
                                          run_id=run_id, on_event=self.on_event,
                                          work_dir=self.work_dir, context=self.context)  # fmt: skip
            return await self._answer_loop(result)
        finally:
            await self.context.services.aclose()

    async def resume(self, run_id: str, answer: str, node: str | None = None) -> RunResult:
        """Answer the checkpoint run ``run_id`` waits at (``node``) and continue."""
        self.context = self._context()
        try:
            if self._is_checkpoint(node):
                self.given.append(answer)
            result = await self.graph.resume(run_id, input=answer, store=self.store,
                                             on_event=self.on_event, work_dir=self.work_dir,
                                             context=self.context)  # fmt: skip
            return await self._answer_loop(result)
        finally:
            await self.context.services.aclose()

    async def _answer_loop(self, result: RunResult) -> RunResult:
        while result.status == "waiting":
            if len(result.waiting) > 1:
                raise DefinitionError([Problem(f"run {result.run_id!r}",
                                               "waits at several checkpoints at once",
                                               "answer them with graph.resume(run_id, "
                                               "input={node: answer})")])  # fmt: skip
            node = next(iter(result.waiting), None)
            answer = self._next_answer(result.question or "", node)
            if answer is None:
                return result
            if self._is_checkpoint(node):
                self.given.append(answer)
            result = await self.graph.resume(result.run_id, input=answer, store=self.store,
                                             on_event=self.on_event, work_dir=self.work_dir,
                                             context=self.context)  # fmt: skip
        return result


def _takes_two(function: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    return len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) >= 2
