"""Distributed execution on Celery: runs advanced by worker processes on many machines,
sharing one run store, with a Redis broker.

- :func:`submit` creates a run in the shared store (status ``ready``) and enqueues it;
  :func:`enqueue_resume` enqueues its continuation with a person's answer;
- :func:`make_app` builds the Celery app (late acknowledgement, requeue on a lost
  worker, prefetch 1, a broker visibility timeout) whose one task advances a run from
  its head under the store's lease (:func:`advance`); :func:`start_worker` runs a worker.

The unit of work is a whole run from its head until it stops, never a single branch:
see docs/scale-out.md. Celery is optional: ``pip install 'graphflow[workers]'``;
importing this package does not import it.
"""

from __future__ import annotations

from graphflow.distributed.advance import Advanced, advance, graph_for_worker
from graphflow.distributed.app import (
    ADVANCE_TASK,
    BrokerUnavailable,
    WorkersUnavailable,
    enqueue,
    make_app,
    require_celery,
    start_worker,
)
from graphflow.distributed.submitting import enqueue_resume, submit

__all__ = [
    "ADVANCE_TASK",
    "Advanced",
    "BrokerUnavailable",
    "WorkersUnavailable",
    "advance",
    "enqueue",
    "enqueue_resume",
    "graph_for_worker",
    "make_app",
    "require_celery",
    "start_worker",
    "submit",
]
