"""Advancing a run from its head: the one unit of work a worker does.

:func:`advance` reads the run, rebuilds its graph from what the store recorded (or takes
the worker's own version of that graph), checks the topology, and continues the run under
the store's lease until it stops — completes, waits for a person, fails or hits a limit.
It does not depend on Celery: the task in :mod:`graphflow.distributed.app` calls it, and
so can anything else that delivers work at least once.

What each delivery of the same work does (so delivering it twice is harmless):

- the run ended, or waits for a person and no answer came with the work: nothing
  (``nothing to do``);
- another live process holds the run's lease: :class:`~graphflow.errors.RunInUse` is
  raised, and the caller tries again later;
- the answer is for a question that no longer waits: nothing (``stale answer``), the run
  is not touched;
- the worker's graph differs from the run's (topology), or cannot be built here: the run
  is left alone and the refusal is recorded on it (``refused``): its reason names this
  worker and the two topologies;
- otherwise the run continues from its last committed step (``advanced``): committed
  steps are never executed again, the step in flight is.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from graphflow.errors import (
    DefinitionError,
    IncompatibleGraph,
    RunNotFound,
    RunNotResumable,
    StaleAnswer,
)
from graphflow.resuming import RESUMABLE
from graphflow.store.lease import HOST

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph
    from graphflow.store import RunRecord, RunStore

__all__ = ["Advanced", "Outcome", "advance", "graph_for_worker"]

logger = logging.getLogger("graphflow.distributed")

Outcome = Literal["advanced", "nothing to do", "stale answer", "refused", "not found"]

#: Graphs rebuilt from stored specs, by what they were built from (a worker serves
#: many runs of few graphs).
_BUILT: dict[str, CompiledGraph] = {}
_BUILT_MAX = 64


@dataclass(frozen=True)
class Advanced:
    """What one delivery of "advance run ``run_id``" did: its ``outcome``, the run's
    ``status`` afterwards (``None`` when the run is not in the store) and a ``detail``
    for the worker's log."""

    run_id: str
    outcome: Outcome
    status: str | None
    detail: str = ""


def graph_for_worker(record: RunRecord,
                     graphs: Mapping[str, CompiledGraph] | None = None) -> CompiledGraph:  # fmt: skip
    """The graph a worker continues ``record`` with: its own version of the run's graph
    when it was started with one of that name (``graphs``, by graph name), else the graph
    rebuilt from the spec the run recorded.

    Raises:
        DefinitionError: the recorded spec cannot be built here (a node's import path is
            missing, or the graph was built in Python with callables).
    """
    if graphs and record.graph in graphs:
        return graphs[record.graph]
    from graphflow.loader import graph_for_run

    key = json.dumps([record.source, record.topology, record.spec], sort_keys=True, default=str)
    graph = _BUILT.get(key)
    if graph is None:
        graph = graph_for_run(record)
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = graph
    return graph


def advance(store: RunStore, run_id: str, *, answers: str | Mapping[str, str] | None = None,
            question: str | None = None, graphs: Mapping[str, CompiledGraph] | None = None,
            allow_changed_graph: bool = False) -> Advanced:  # fmt: skip
    """Continue run ``run_id`` of ``store`` from its head until it stops (see the module
    docs for what each delivery does).

    Args:
        answers, question: the answer to the question the run waits on, and that
            question's id (``NODE@STEP``), as :func:`graphflow.runs.resume` takes them.
        graphs: this worker's own graph versions, by graph name.
        allow_changed_graph: continue even when the topology differs.

    Returns:
        an :class:`Advanced`.

    Raises:
        RunInUse: another live process holds the run's lease; try again later.
        StoreError: the store cannot be read or written.
    """
    from graphflow.context import RunContext
    from graphflow.runs import run_sync
    from graphflow.scheduler.entry import resume_run

    try:
        record = store.get_run(run_id)
    except RunNotFound:
        logger.warning("run %s is not in this worker's store; nothing to do", run_id)
        return Advanced(run_id, "not found", None, "no such run in this worker's store")
    idle = _idle(record, answers)
    if idle:
        return Advanced(run_id, "nothing to do", record.status, idle)
    try:
        graph = graph_for_worker(record, graphs)
    except DefinitionError as exc:
        return _refuse(store, record, f"its graph cannot be built on this worker: {exc}")
    if graph.topology != record.topology and not allow_changed_graph:
        return _refuse(store, record, (
            f"this worker's version of graph {record.graph!r} has topology {graph.topology}, "
            f"the run was checkpointed with {record.topology}; continue it on a worker "
            "that serves the run's version (or start this worker without --graph)"))  # fmt: skip
    try:
        result = run_sync(resume_run(graph, run_id, store=store, answers=answers,
                                     question=question, context=RunContext(store=store),
                                     allow_changed_graph=allow_changed_graph))  # fmt: skip
    except StaleAnswer as exc:
        logger.warning("run %s: answer not recorded: %s", run_id, exc)
        return Advanced(run_id, "stale answer", store.get_run(run_id).status, str(exc))
    except RunNotResumable as exc:  # it stopped between the read and the lease
        return Advanced(run_id, "nothing to do", store.get_run(run_id).status, str(exc))
    except IncompatibleGraph as exc:
        return _refuse(store, store.get_run(run_id), str(exc))
    return Advanced(run_id, "advanced", result.status, result.reason or "")


def _idle(record: RunRecord, answers: object) -> str:
    """Why there is nothing to do for ``record`` (empty when there is something)."""
    if record.status not in RESUMABLE:
        return f"the run already ended ({record.status})"
    if record.status == "waiting" and answers is None:
        return "the run waits for a person's answer"
    return ""


def _refuse(store: RunStore, record: RunRecord, why: str) -> Advanced:
    """Record on the run that this worker refused it, under its lease, and leave the rest
    as it was: a waiting run keeps waiting (its question stays open, its claim withdrawn:
    see :mod:`graphflow.distributed.claims`), any other becomes
    ``failed`` with the refusal as its reason, so that ``graphflow resume`` on a fitting
    worker continues it. Raises RunInUse when another process holds the run."""
    reason = f"refused by worker {HOST}:{os.getpid()}: {why}"
    current = store.acquire_lease(record.run_id)
    if current.status not in RESUMABLE:  # it ended meanwhile: nothing to refuse
        store.release_lease(record.run_id)
        return Advanced(record.run_id, "nothing to do", current.status, "the run ended")
    waiting = current.status == "waiting"
    if waiting:  # the answer this delivery carried is not applied: free its question
        from graphflow.distributed.claims import withdraw
        from graphflow.resuming import question_ids

        withdraw(store, record.run_id, question_ids(current).values())
    store.set_status(record.run_id, "waiting" if waiting else "failed", reason=reason,
                     error=reason, waiting=current.waiting if waiting else None)  # fmt: skip
    logger.error("run %s %s", record.run_id, reason)
    return Advanced(record.run_id, "refused", "waiting" if waiting else "failed", reason)
