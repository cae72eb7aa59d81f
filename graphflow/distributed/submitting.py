"""Submitting runs to workers: create a run in the shared store and enqueue it, or enqueue
the continuation of a run (with a person's answer) instead of running it here.

Both check what can be checked before anything is enqueued — the graph can be rebuilt by
a worker, the answer is for the question that waits now — and the worker checks again
under the run's lease (one answer per question, see :mod:`graphflow.resuming`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow.errors import DefinitionError, Problem, RunNotResumable

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph
    from graphflow.messages import Message

__all__ = ["enqueue_resume", "submit"]


def submit(graph: CompiledGraph | str | Path, input: str | Message | list[Message] | None = None,
           *, variables: Mapping[str, Any] | None = None, store: str | Path, broker: str,
           run_id: str | None = None) -> str:  # fmt: skip
    """Create a run of ``graph`` in ``store`` (status ``ready``, nothing executed) and
    enqueue it on ``broker`` for a worker (``graphflow worker``) to run.

    Args:
        graph: a compiled graph whose nodes name import paths, or a graph file's path.
        input: the first message (text, a Message or a list of Messages).
        variables: values for the graph's variables.
        store: the shared run store: a database path (SQLite) or URL.
        broker: the broker URL (``redis://HOST:PORT/DB``).
        run_id: choose the run id (default: a random one).

    Returns:
        The run id: follow it with ``graphflow show RUN`` or :class:`~graphflow.Store`.

    Raises:
        DefinitionError: the graph holds Python callables, which a worker cannot rebuild.
        StoreError: the store cannot be written, or ``run_id`` is taken.
        WorkersUnavailable: Celery is not installed.
        BrokerUnavailable: the broker cannot be reached (the run stays ``ready``; enqueue
            it again with :func:`enqueue_resume`).

    Example (with a broker and a worker running)::

        run_id = graphflow.submit("graphs/quickstart.yaml", store="runs.db",
                                  broker="redis://127.0.0.1:6379/0")
    """
    from graphflow.distributed.app import enqueue, require_celery
    from graphflow.scheduler.entry import create_run
    from graphflow.store import open_store

    require_celery()
    compiled = _compiled(graph)
    opened, owned = open_store(store)
    try:
        run_id = create_run(compiled, store=opened, run_id=run_id, input=input,
                            variables=variables)  # fmt: skip
        opened.set_status(run_id, "ready", reason="submitted: waits for a worker")
    finally:
        if owned:
            opened.close()
    enqueue(broker, run_id)
    return run_id


def _compiled(graph: CompiledGraph | str | Path) -> CompiledGraph:
    from graphflow.spec.base import NOT_SERIALIZABLE

    if isinstance(graph, (str, Path)):
        from graphflow.loader import load

        graph = load(graph)
    if NOT_SERIALIZABLE in json.dumps(graph.spec_record(), default=str):
        raise DefinitionError([Problem(
            f"graph {graph.name!r}", "it holds Python callables, which a worker cannot rebuild "
            "from the run's stored graph", "name nodes and conditions by import path "
            "(call: module:function) or in a graph file, or run it in this process")],
            source=graph.spec.source or graph.name)  # fmt: skip
    return graph


def enqueue_resume(run_id: str, *, input: str | Mapping[str, str] | None = None,
                   question: str | None = None, store: str | Path, broker: str) -> str:  # fmt: skip
    """Enqueue the continuation of run ``run_id`` for a worker: with the answer to the
    question it waits on (``input``; ``question`` its id ``NODE@STEP``, default the one
    waiting now), or without, after a crash or a refusal.

    The answer is checked against the run now (it must be for a question that waits, and
    that no other answer is on its way to: the first answer enqueued claims the question,
    see :mod:`graphflow.distributed.claims`) and again by the worker under the run's
    lease.

    Returns:
        The id of the question answered (``NODE@STEP``), or ``""`` without an answer.

    Raises:
        RunNotFound: no such run. StaleAnswer: the question answered no longer waits, or
            another answer to it was enqueued first. RunInUse: another process holds the
            run right now.
        RunNotResumable: the run ended, or the answer does not fit what it waits for.
        WorkersUnavailable, BrokerUnavailable: as :func:`submit`.
    """
    from graphflow.distributed.app import BrokerUnavailable, enqueue, require_celery
    from graphflow.distributed.claims import claim, withdraw
    from graphflow.resuming import RESUMABLE, answers_for, check_answers, question_ids
    from graphflow.store import open_store

    require_celery()
    opened, owned = open_store(store)
    try:
        record = opened.get_run(run_id)
        if record.status not in RESUMABLE:
            raise RunNotResumable(f"run {run_id!r} already ended (status {record.status}); "
                                  "nothing to enqueue")  # fmt: skip
        asked = question_ids(record)
        if isinstance(input, str) and question is None and len(asked) == 1:
            question = next(iter(asked.values()))
        check_answers(record, input, question)
        answers_for(record, input)
        claimed = [] if input is None else claim(opened, run_id, input, question)
        try:
            enqueue(broker, run_id, answers=input, question=question)
        except BrokerUnavailable:
            withdraw(opened, run_id, claimed)
            raise
    finally:
        if owned:
            opened.close()
    return question or ""
