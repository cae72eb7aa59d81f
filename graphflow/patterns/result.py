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

__all__ = ["ChatResult", "HumanInput", "Runner", "run_context"]

#: Answers for human checkpoints: a list used in order, or a function of the question.
HumanInput = Sequence[str] | Callable[[str], str] | None


@dataclass
class ChatResult:
    """The outcome of a chat (AutoGen's ``ChatResult``), plus where the run stands.

    Attributes:
        chat_history: the messages as OpenAI-style dicts (``role``, ``content``,
            ``name`` …).
        summary: the chat's summary (by its ``summary_method``).
        cost: token and cost totals of the run (``prompt_tokens``, ``completion_tokens``,
            ``cost``, ``cached_calls`` …, and ``by_node``).
        human_input: the answers people gave during the chat, in order.
        run_id: the run's id in the store (resume it, show it, render it).
        status: ``completed``, ``waiting`` (a person must answer), ``failed``,
            ``limit_reached``, ``budget_exceeded`` or ``timeout``.
        reason: which stop condition fired (e.g. ``user_proxy: termination message from
            assistant``).
        messages: the conversation as :class:`~graphflow.messages.Message` objects.
        question: what the run waits for, when ``status`` is ``waiting``.
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


def history(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages as OpenAI-style dicts that keep the speaker's name as given."""
    out = []
    for m in messages:
        item = m.to_openai()
        if m.name:
            item["name"] = m.name
        out.append(item)
    return out


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
        return context

    def _next_answer(self, question: str) -> str | None:
        if self.answers:
            return self.answers.pop(0)
        if self.ask is not None:
            return str(self.ask(question))
        return None

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

    async def resume(self, run_id: str, answer: str) -> RunResult:
        """Answer the checkpoint run ``run_id`` waits at and continue."""
        self.context = self._context()
        try:
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
            answer = self._next_answer(result.question or "")
            if answer is None:
                return result
            self.given.append(answer)
            result = await self.graph.resume(result.run_id, input=answer, store=self.store,
                                             on_event=self.on_event, work_dir=self.work_dir,
                                             context=self.context)  # fmt: skip
        return result
