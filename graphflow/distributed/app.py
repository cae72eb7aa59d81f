"""The Celery side of distributed execution: the app, its one task, enqueueing, workers.

:func:`make_app` builds a Celery app on a broker (Redis) for one run store, configured
for at-least-once delivery of long tasks:

- ``task_acks_late``: a task's message is acknowledged when the task returns, not when a
  worker takes it, so a worker that dies mid-run leaves its message to be delivered again;
- ``task_reject_on_worker_lost``: a worker process killed mid-task (SIGKILL, out of
  memory) gives its message back at once instead of acknowledging it;
- ``worker_prefetch_multiplier = 1``: a worker process reserves one message at a time, so
  waiting work is not stuck behind a long run on a busy process;
- the broker's ``visibility_timeout``: a message taken by a worker that vanished (the
  whole machine) is delivered again after this many seconds.

Its one task, :data:`ADVANCE_TASK`, is "advance this run from its head"
(:func:`graphflow.distributed.advance.advance`); when another live process holds the
run's lease it retries later (backing off to :data:`RETRY_MAX_SECONDS`) instead of
running the run twice.

Celery is an optional dependency: ``pip install 'graphflow[workers]'``.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graphflow.errors import GraphflowError, RunInUse, StoreError

if TYPE_CHECKING:
    from celery import Celery

    from graphflow.graph import CompiledGraph
    from graphflow.store import RunStore

__all__ = [
    "ADVANCE_TASK",
    "QUEUE",
    "RETRY_MAX_SECONDS",
    "BrokerUnavailable",
    "WorkersUnavailable",
    "enqueue",
    "make_app",
    "require_celery",
    "start_worker",
]

logger = logging.getLogger("graphflow.distributed")

#: The name of the task that advances a run from its head.
ADVANCE_TASK = "graphflow.advance"
#: The queue runs are enqueued on.
QUEUE = "graphflow"
#: The longest wait between two tries of a run whose lease another process holds.
RETRY_MAX_SECONDS = 30.0
#: How many times a run whose store failed is tried again (from its head) before the
#: task fails; the run can then be enqueued again with ``graphflow resume RUN --broker``.
STORE_RETRIES = 10
#: Default seconds before a message taken by a vanished worker is delivered again.
VISIBILITY_TIMEOUT = 300.0


class WorkersUnavailable(GraphflowError):
    """Distributed execution needs Celery, which is not installed."""


class BrokerUnavailable(GraphflowError):
    """The broker cannot be reached to enqueue work."""


def require_celery() -> Any:
    """The ``celery`` module.

    Raises:
        WorkersUnavailable: Celery (with Redis support) is not installed; the message
            names the install command.
    """
    try:
        import celery
    except ImportError:
        raise WorkersUnavailable(
            "distributed execution needs Celery with Redis support, which is not installed; "
            "install it with: pip install 'graphflow[workers]'") from None  # fmt: skip
    return celery


def _transport_options(visibility_timeout: float) -> dict[str, Any]:
    # Look for abandoned messages often enough for the visibility timeout chosen.
    return {"visibility_timeout": visibility_timeout,
            "unacked_restore_interval": max(1.0, min(10.0, visibility_timeout / 3)),
            "unacked_restore_throttle": 1}  # fmt: skip


def make_app(broker: str, store: str | os.PathLike[str] | None = None, *,
             visibility_timeout: float = VISIBILITY_TIMEOUT,
             graphs: Mapping[str, CompiledGraph] | None = None,
             acks_late: bool = True) -> Celery:  # fmt: skip
    """A Celery app on ``broker`` whose task advances runs of ``store``.

    Args:
        broker: the broker URL (``redis://HOST:PORT/DB``).
        store: the run store the task works on (a database path, or a URL its store
            understands); ``None`` for an app that only enqueues.
        visibility_timeout: seconds before a message taken by a worker that vanished is
            delivered again (keep it above the time a worker can be cut off and come
            back; a too short one only costs duplicate deliveries, which find the run's
            lease held and wait).
        graphs: this worker's own versions of graphs, by name (see
            :func:`~graphflow.distributed.advance.graph_for_worker`).
        acks_late: acknowledge messages when the task returns (keep it on: off, a worker
            killed mid-run loses its run until someone resumes it by hand).

    Raises:
        WorkersUnavailable: Celery is not installed.
    """
    celery = require_celery()
    app = celery.Celery("graphflow", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=acks_late,
        task_reject_on_worker_lost=acks_late,
        worker_prefetch_multiplier=1,
        broker_transport_options=_transport_options(visibility_timeout),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    if store is not None:
        _register(app, str(store), dict(graphs or {}))
    return app


_STORES: dict[str, RunStore] = {}


def _store(url: str) -> RunStore:
    """The store at ``url`` for this worker process, opened on first use (after the
    pool forked, so each process has its own connection and lease owner)."""
    if url not in _STORES:
        from graphflow.store import open_store

        _STORES[url] = open_store(url)[0]
    return _STORES[url]


def _backoff(retries: int) -> float:
    return min(RETRY_MAX_SECONDS, 0.5 * 2 ** min(retries, 8)) * random.uniform(0.8, 1.2)


def _register(app: Celery, store_url: str, graphs: dict[str, CompiledGraph]) -> None:
    from graphflow.distributed.advance import advance

    @app.task(name=ADVANCE_TASK, bind=True, max_retries=None)
    def advance_task(self: Any, run_id: str, answers: str | dict[str, str] | None = None,
                     question: str | None = None) -> dict[str, Any]:  # fmt: skip
        try:
            done = advance(_store(store_url), run_id, answers=answers, question=question,
                           graphs=graphs)  # fmt: skip
        except RunInUse as exc:
            logger.info("run %s is in use; trying again later: %s", run_id, exc)
            raise self.retry(countdown=_backoff(self.request.retries), exc=exc) from None
        except StoreError as exc:  # the store unreachable, or a commit lost: from the head
            if self.request.retries >= STORE_RETRIES:
                raise
            logger.warning("run %s: store error; trying again later: %s", run_id, exc)
            raise self.retry(countdown=_backoff(self.request.retries), exc=exc) from None
        logger.info("run %s: %s (%s) %s", run_id, done.outcome, done.status, done.detail)
        return {"run_id": run_id, "outcome": done.outcome, "status": done.status}


def enqueue(broker: str, run_id: str, *, answers: str | Mapping[str, str] | None = None,
            question: str | None = None) -> str:  # fmt: skip
    """Put "advance run ``run_id``" (with the answer, if any) on ``broker``'s queue;
    returns the task id.

    Raises:
        WorkersUnavailable: Celery is not installed.
        BrokerUnavailable: the broker cannot be reached.
    """
    app = make_app(broker)
    kwargs: dict[str, Any] = {"answers": dict(answers) if isinstance(answers, Mapping)
                              else answers, "question": question}  # fmt: skip
    try:
        from kombu.exceptions import OperationalError

        try:
            sent = app.send_task(ADVANCE_TASK, args=[run_id], kwargs=kwargs, queue=QUEUE,
                                 retry_policy={"max_retries": 2, "interval_start": 0.2,
                                               "interval_step": 0.5})  # fmt: skip
        except OperationalError as exc:
            raise BrokerUnavailable(
                f"cannot enqueue run {run_id!r}: the broker at {_safe(broker)} cannot be "
                f"reached ({exc}); start it or fix --broker, then enqueue the run again with "
                f"`graphflow resume {run_id} --broker URL`") from None  # fmt: skip
        return str(sent.id)
    finally:
        app.close()


def _safe(url: str) -> str:
    """``url`` without a password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def start_worker(app: Celery, *, concurrency: int | None = None, pool: str = "prefork",
                 loglevel: str = "INFO") -> None:  # fmt: skip
    """Run a Celery worker of ``app`` in this process until it is stopped (SIGTERM: warm
    shutdown, the running tasks finish; SIGKILL: their messages are delivered again).

    Args:
        concurrency: worker processes (prefork) or threads; default: one per CPU.
        pool: Celery's pool, ``prefork`` (default) or ``solo``.
    """
    argv = ["worker", f"--pool={pool}", f"--loglevel={loglevel}", f"--queues={QUEUE}",
            f"--hostname=graphflow-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat"]  # fmt: skip
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv=argv)
