"""Runs handed to workers: the dispatcher ``graphflow serve --broker URL`` uses.

With a broker, the server advances no run itself: starting a run creates it in the
shared store (status ``ready``) and enqueues it for ``graphflow worker``
(:func:`graphflow.distributed.submit`); an answer is checked against the question waiting
now and its continuation enqueued (:func:`graphflow.distributed.enqueue_resume`); the
worker checks it again under the run's lease. Watchers see each step as the worker
commits it (the event stream reads the store); tokens are not streamed, since no model
call happens in the server.

Graph text uploaded through the API is refused here: a worker rebuilds a run's graph from
what the store recorded, outside the server's safe mode, so only the graphs the server
lists (bundled or ``--graphs`` files) go to the queue. Start the server without
``--broker`` to run uploaded graphs in safe mode in the server itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow.blocking import in_thread
from graphflow.serve.errors import ApiError

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph

__all__ = ["QueueDispatcher"]


class QueueDispatcher:
    """A :class:`~graphflow.serve.dispatch.Dispatcher` that enqueues on ``broker`` (a
    Redis URL) for workers sharing the store ``store`` (its path or URL, as the workers
    were given it)."""

    def __init__(self, store: str | Path, broker: str) -> None:
        from graphflow.distributed.app import require_celery

        require_celery()  # WorkersUnavailable now, not at the first request
        self.store = str(store)
        self.broker = broker

    def running(self) -> list[str]:
        return []

    async def start(self, graph: CompiledGraph, *, run_id: str, input: str | None,
                    variables: Mapping[str, Any], safe: bool) -> None:  # fmt: skip
        from graphflow.distributed import submit

        if safe:
            raise ApiError(400, "uploaded_graph_on_workers",
                           "this server hands runs to workers, which rebuild a graph from "
                           "what the store recorded: only the graphs the server lists "
                           "(GET /api/graphs) can be started here. Start one of those, or "
                           "run the server without --broker to run uploaded graphs itself, "
                           "in safe mode")  # fmt: skip
        await in_thread(submit, graph, input, variables=variables, store=self.store,
                        broker=self.broker, run_id=run_id)  # fmt: skip

    async def resume(self, graph: CompiledGraph, run_id: str, *,
                     input: str | Mapping[str, str] | None, question: str | None,
                     safe: bool) -> None:  # fmt: skip
        from graphflow.distributed import enqueue_resume

        await in_thread(enqueue_resume, run_id, input=input, question=question,
                        store=self.store, broker=self.broker)  # fmt: skip

    async def aclose(self) -> None:
        return None
