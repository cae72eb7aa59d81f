"""The run facade: start a run of a compiled graph, or resume one, in any store.

Every way into a run goes through here — ``CompiledGraph.run``/``resume``, the
``graphflow run``/``resume`` commands, the AutoGen-style patterns — so a run is set up
the same way whoever starts it: the store is opened (from a path) or taken as given, a
:class:`~graphflow.context.RunContext` is built once (or taken from the caller, to share
models and executors), and the scheduler executes the run until it stops.

Example:
    >>> from graphflow import Graph
    >>> from graphflow.runs import run_sync, start
    >>> g = Graph("hello", entry="greet")
    >>> _ = g.add_node("greet", lambda state: "hello!")
    >>> run_sync(start(g.compile())).status
    'completed'
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from graphflow.blocking import run_blocking
from graphflow.scheduler import resume_run, start_run
from graphflow.store import RunStore, open_store

if TYPE_CHECKING:
    from graphflow.context import RunContext
    from graphflow.events import Event
    from graphflow.graph import CompiledGraph
    from graphflow.messages import Message
    from graphflow.results import RunResult

__all__ = ["resume", "run_sync", "start"]

T = TypeVar("T")


async def start(
    graph: CompiledGraph,
    input: str | Message | list[Message] | None = None,
    *,
    variables: Mapping[str, Any] | None = None,
    store: RunStore | str | Path | None = None,
    run_id: str | None = None,
    context: RunContext | None = None,
    on_event: Callable[[Event], None] | None = None,
    work_dir: str | Path | None = None,
) -> RunResult:
    """Start a run of ``graph`` and execute it until it completes, waits for a person,
    or stops.

    Args:
        graph: the compiled graph.
        input: the first message (text, a Message or a list of Messages), if any.
        variables: values for the graph's variables (defaults come from the graph).
        store: a store (``Store``, ``MemoryStore``), or the path of an SQLite database
            file; ``None`` keeps the run in memory only (no durability).
        run_id: choose the run id (default: a random one).
        context: the run context to use (to share models, executors and overrides with
            other runs); default: a new one.
        on_event: called with every event as the run progresses.
        work_dir: where code and file tools work (default ``./graphflow-work/RUN_ID``).

    Returns:
        The run's result: status ``completed``, ``waiting``, ``failed``, ``limit_reached``,
        ``budget_exceeded`` or ``timeout``, its messages and variables.

    Raises:
        StoreError: the store cannot be opened or written, or ``run_id`` is taken.
    """
    opened, owned = open_store(store)
    try:
        return await start_run(graph, store=opened, run_id=run_id, input=input,
                               variables=variables, context=context,
                               on_event=on_event, work_dir=work_dir)  # fmt: skip
    finally:
        if owned:
            opened.close()


async def resume(
    graph: CompiledGraph,
    run_id: str,
    *,
    input: str | Mapping[str, str] | None = None,
    store: RunStore | str | Path | None = None,
    context: RunContext | None = None,
    on_event: Callable[[Event], None] | None = None,
    allow_changed_graph: bool = False,
    work_dir: str | Path | None = None,
    question: str | None = None,
    person: str | None = None,
) -> RunResult:
    """Continue run ``run_id`` from its last committed step: after a crash (no
    ``input``), or with the answer to the checkpoint it waits at (``input``; a dict
    ``{node: answer}`` when it waits at several). ``question`` is the id of the question
    answered (``RunResult.question_id``, ``NODE@STEP``; dict keys may be ids too): the
    answer is recorded only if that question still waits. ``person`` names who answers:
    a checkpoint that names another person (``person:``) refuses the answer.

    Raises:
        RunNotFound: no such run. RunInUse: another process holds its lease.
        StaleAnswer: the question answered is no longer waiting (answered already).
        RunNotResumable: it ended, ``input`` does not fit its waiting checkpoints, or
            ``person`` is not the person of a checkpoint answered.
        IncompatibleGraph: ``graph``'s topology differs from the run's (unless
            ``allow_changed_graph``).
    """
    opened, owned = open_store(store)
    try:
        if person is not None and input is not None:
            from graphflow.resuming import check_person

            check_person(opened.get_run(run_id), input, question, person)
        return await resume_run(graph, run_id, store=opened, answers=input,
                                context=context, on_event=on_event,
                                allow_changed_graph=allow_changed_graph,
                                work_dir=work_dir, question=question)  # fmt: skip
    finally:
        if owned:
            opened.close()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code (also inside Jupyter, where a
    loop is already running, by using a worker thread; see :mod:`graphflow.blocking`)."""
    return run_blocking(lambda: coro)
