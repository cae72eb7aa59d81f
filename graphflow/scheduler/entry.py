"""Starting and resuming runs: the scheduler's entry points.

:func:`start_run` creates a run and executes it; :func:`resume_run` takes the run's lease,
checks the answers it is given and continues it; both drive an
:class:`~graphflow.scheduler.execution.Execution` until the run stops, keep the lease fresh
while it runs, and close the run's services when this run owns them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow import events as ev
from graphflow.context import RunContext
from graphflow.errors import StoreError, StoreFull
from graphflow.resuming import answering, input_messages, keep_model_overrides, take_lease
from graphflow.scheduler.execution import Execution, new_run_id
from graphflow.tracing import set_attributes, span

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph
    from graphflow.messages import Message
    from graphflow.results import RunResult
    from graphflow.store import RunRecord, RunWriter

__all__ = ["create_run", "resume_run", "start_run"]

logger = logging.getLogger("graphflow.scheduler")


async def _until_stop(execution: Execution, inputs: Mapping[str, str],
                      timeout: float | None) -> RunResult:  # fmt: skip
    if timeout is None:
        return await execution.loop(inputs)
    try:
        return await asyncio.wait_for(execution.loop(inputs), timeout)
    except asyncio.TimeoutError:
        return execution.finish("timeout", f"timeout ({timeout:g} s) reached")


def _keep_lease(store: RunWriter, run_id: str, every: float) -> Callable[[], None]:
    """Renew the run's lease every ``every`` seconds while its loop runs (commits renew it
    too, but a step may take longer than the lease); returns what stops it. A timer of
    the running loop, not a task: stopping it leaves nothing for the loop to finish."""
    loop = asyncio.get_running_loop()
    timer: asyncio.TimerHandle

    def renew() -> None:
        nonlocal timer
        with contextlib.suppress(Exception):
            store.renew_lease(run_id)
        timer = loop.call_later(every, renew)

    timer = loop.call_later(every, renew)
    return lambda: timer.cancel()


#: Why runs stopped that their store could not take down then (it was full): store →
#: {run_id: error}. Written the next time this process starts or resumes a run on that
#: store, once it can take writes again.
_UNRECORDED: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def _record_store_full(store: RunWriter, run_id: str, exc: StoreFull) -> None:
    """Say on the run's row that a full store stopped it (``reason="store_full"``, the
    error's text), and release its lease so that any process may resume it; when even
    that write does not fit, keep it for :func:`_record_unrecorded`."""
    try:
        store.set_status(run_id, "running", reason="store_full", error=str(exc))
    except StoreError:
        with contextlib.suppress(TypeError):  # a store without weak references keeps none
            _UNRECORDED.setdefault(store, {})[run_id] = str(exc)


def _record_unrecorded(store: RunWriter) -> None:
    """Write the reasons :func:`_record_store_full` could not (space is back), for runs
    nobody has taken over since."""
    pending = _UNRECORDED.get(store)
    while pending:
        run_id, error = next(iter(pending.items()))
        try:
            record = store.get_run(run_id)
            mine = record.lease_owner in (None, getattr(store, "lease_owner", None))
            if record.status == "running" and record.reason is None and mine:
                store.set_status(run_id, "running", reason="store_full", error=error)
        except StoreFull:
            return
        except StoreError:
            pass
        del pending[run_id]


async def start_run(
    graph: CompiledGraph,
    *,
    store: RunWriter,
    run_id: str | None = None,
    input: str | Message | list[Message] | None = None,
    variables: Mapping[str, Any] | None = None,
    context: RunContext | None = None,
    on_event: Callable[[ev.Event], None] | None = None,
    work_dir: str | Path | None = None,
    parent_run: str | None = None,
    parent_node: str | None = None,
    parent_visit: int | None = None,
) -> RunResult:
    """Start a run of ``graph`` in ``store`` and execute it until it stops (see
    :meth:`CompiledGraph.run <graphflow.graph.CompiledGraph.run>` for the arguments).

    A subgraph's child run names its parent: the run, the node that runs it, and that
    node's visit (``parent_run``, ``parent_node``, ``parent_visit``).

    Raises:
        StoreError: the run id is taken, or the store cannot be written.
    """
    _record_unrecorded(store)
    run_id, initial, messages = _new_run(graph, store, run_id, input, variables, parent_run,
                                         parent_node, parent_visit)  # fmt: skip
    return await _drive(graph, store, run_id, None, {}, context, on_event, work_dir,
                        fresh=(initial, messages))  # fmt: skip


def create_run(
    graph: CompiledGraph,
    *,
    store: RunWriter,
    run_id: str | None = None,
    input: str | Message | list[Message] | None = None,
    variables: Mapping[str, Any] | None = None,
    parent_run: str | None = None,
    parent_node: str | None = None,
    parent_visit: int | None = None,
) -> str:
    """Store a new run of ``graph`` at its entry (status ``running``, its lease held by
    ``store``), nothing executed yet; returns its id.

    Raises:
        StoreError: the run id is taken, or the store cannot be written.
        InvalidUpdate: the input or a variable is not valid for the graph.
    """
    return _new_run(graph, store, run_id, input, variables, parent_run, parent_node,
                    parent_visit)[0]


def _new_run(graph: CompiledGraph, store: RunWriter, run_id: str | None,
             input: str | Message | list[Message] | None, variables: Mapping[str, Any] | None,
             parent_run: str | None, parent_node: str | None,
             parent_visit: int | None) -> tuple[str, dict[str, Any], list[Message]]:  # fmt: skip
    """:func:`create_run`, also returning the variables and messages the run starts with
    (as stored), so that the process that created it needn't read them back."""
    run_id = run_id or new_run_id()
    initial = {**graph.spec.variables, **(variables or {})}
    for name in variables or {}:
        initial[name] = graph.state.prepare_value(name, initial[name], whole=True)
    messages = input_messages(input)
    store.create_run(run_id, graph=graph.name, spec=graph.spec_record(),
                     topology=graph.topology, frontier={"run": [graph.entry], "wait": []},
                     variables=initial, messages=messages, source=graph.spec.source,
                     parent_run=parent_run, parent_node=parent_node,
                     parent_visit=parent_visit)  # fmt: skip
    return run_id, initial, messages


async def resume_run(
    graph: CompiledGraph,
    run_id: str,
    *,
    store: RunWriter,
    answers: str | Mapping[str, str] | None = None,
    context: RunContext | None = None,
    on_event: Callable[[ev.Event], None] | None = None,
    allow_changed_graph: bool = False,
    work_dir: str | Path | None = None,
    question: str | None = None,
) -> RunResult:
    """Continue run ``run_id`` from its last committed step, under the store's lease (see
    :meth:`CompiledGraph.resume <graphflow.graph.CompiledGraph.resume>`). ``question``
    (or keys ``NODE@STEP`` of ``answers``) names the question the answer is for.

    Raises:
        RunNotFound: no such run. RunInUse: another process holds its lease.
        StaleAnswer: the question named is no longer waiting (answered already).
        RunNotResumable: it ended, or ``answers`` do not fit its waiting checkpoints.
        IncompatibleGraph: ``graph``'s topology differs from the run's (unless allowed).
    """
    _record_unrecorded(store)
    record, inputs = take_lease(store, run_id, graph, answers, question, allow_changed_graph)
    return await _drive(graph, store, run_id, record, inputs, context, on_event, work_dir)


async def _drive(graph: CompiledGraph, store: RunWriter, run_id: str,
                 record: RunRecord | None, inputs: Mapping[str, str],
                 context: RunContext | None, on_event: Callable[[ev.Event], None] | None,
                 work_dir: str | Path | None,
                 fresh: tuple[Mapping[str, Any], list[Message]] | None = None) -> RunResult:  # fmt: skip
    """Execute run ``run_id`` from its head (``record``: the row read under the lease when
    resuming; ``fresh``: the variables and messages of a run this process created just
    now) until it stops; close the run's services if this run owns them."""
    context = (context or RunContext()).prepare(store, run_id, on_event, work_dir)
    resumed = record is not None
    keep_model_overrides(store, run_id, record, context)
    execution = Execution(graph, store, run_id, context, resumed=resumed)
    if fresh is not None:
        execution.begin(*fresh)
    else:
        execution.load(record)
    if record is not None:
        store.set_status(run_id, "running", release=False, waiting=answering(record, inputs))
    execution.emit(ev.RunStarted(run_id, execution.state.step, graph.name, resumed=resumed))
    stop_keeping = _keep_lease(store, run_id, 20.0) if store.shared else None
    logger.info("run %s of graph %r %s at step %d", run_id, graph.name,
                "resumed" if resumed else "started", execution.state.step)  # fmt: skip
    try:
        with span("graphflow.run", {"graphflow.run_id": run_id, "graphflow.graph": graph.name,
                                    "graphflow.resumed": resumed}) as traced:  # fmt: skip
            result = await _until_stop(execution, inputs, graph.spec.limits.timeout)
            set_attributes(traced, {"graphflow.status": result.status})
        logger.info("run %s %s after %d steps%s", run_id, result.status, result.steps,
                    f" ({result.reason})" if result.reason else "")  # fmt: skip
        return result
    except StoreFull as exc:
        _record_store_full(store, run_id, exc)
        raise
    finally:
        if stop_keeping is not None:
            stop_keeping()
        if context.close_at_end:
            await context.services.aclose()
