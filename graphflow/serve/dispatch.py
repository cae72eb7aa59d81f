"""Who advances the runs the server is asked to start or continue.

The HTTP handlers never run a graph themselves: they hand the work to a
:class:`Dispatcher`. :class:`InProcessDispatcher` (the default) runs each run in the
server's event loop, as an asyncio task, through the run facade
(:func:`graphflow.runs.start` / :func:`graphflow.runs.resume`), so each run is advanced
under the store's lease like any other. A queue of workers plugs in by implementing the
same two methods; the server then only reads the store.

Both methods return once the run is safely under way — created and its lease taken, or
the answer checked under the lease and accepted — and raise the errors that refuse the
request (an answer to a question no longer waiting, a run in use …), so the HTTP answer
tells the truth. What happens after (the run completes, fails, waits) is read from the
store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from graphflow.errors import RunInUse

if TYPE_CHECKING:
    from graphflow.events import Event
    from graphflow.graph import CompiledGraph
    from graphflow.store import RunStore

__all__ = ["Dispatcher", "InProcessDispatcher"]

logger = logging.getLogger("graphflow.serve")


class Dispatcher(Protocol):
    """Starts and continues runs on the server's behalf.

    ``safe`` asks for the graph to be run in safe mode (graph text sent over HTTP, or a
    stored run of a graph file the server does not list).
    """

    async def start(self, graph: CompiledGraph, *, run_id: str, input: str | None,
                    variables: Mapping[str, Any], safe: bool) -> None:  # fmt: skip
        """Start run ``run_id`` of ``graph``; return once it is stored.

        Raises:
            StoreError: the id is taken. InvalidUpdate: the input or a variable cannot
                be stored.
        """
        ...

    async def resume(self, graph: CompiledGraph, run_id: str, *, input: str | Mapping[str, str] | None,
                     question: str | None, safe: bool) -> None:  # fmt: skip
        """Continue run ``run_id`` (with the answer ``input`` to ``question``); return
        once its lease is taken and the answer accepted.

        Raises:
            RunNotFound, RunInUse, StaleAnswer, RunNotResumable, IncompatibleGraph.
        """
        ...

    def running(self) -> list[str]:
        """The ids of the runs this dispatcher is advancing now (``[]`` for a queue)."""
        ...

    async def aclose(self) -> None:
        """Stop: cancel or hand back what is in flight (a cancelled run keeps its last
        committed step and is resumed later)."""
        ...


class InProcessDispatcher:
    """Runs runs in this process's event loop, each as an asyncio task under the store's
    lease; ``on_event`` receives every event of every run (the server streams tokens from
    it); ``work_dir`` is where code and file tools work."""

    def __init__(self, store: RunStore, *, on_event: Callable[[Event], None] | None = None,
                 work_dir: str | None = None) -> None:  # fmt: skip
        self.store = store
        self.on_event = on_event
        self.work_dir = work_dir
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def running(self) -> list[str]:
        return [run_id for run_id, task in self._tasks.items() if not task.done()]

    async def start(self, graph: CompiledGraph, *, run_id: str, input: str | None,
                    variables: Mapping[str, Any], safe: bool) -> None:  # fmt: skip
        from graphflow import runs

        await self._launch(run_id, safe, lambda listener, context: runs.start(
            graph, input, variables=variables, store=self.store, run_id=run_id,
            context=context, on_event=listener, work_dir=self.work_dir))  # fmt: skip

    async def resume(self, graph: CompiledGraph, run_id: str, *, input: str | Mapping[str, str] | None,
                     question: str | None, safe: bool) -> None:  # fmt: skip
        from graphflow import runs

        await self._launch(run_id, safe, lambda listener, context: runs.resume(
            graph, run_id, input=input, question=question, store=self.store,
            context=context, on_event=listener, work_dir=self.work_dir))  # fmt: skip

    async def _launch(self, run_id: str, safe: bool, make: Callable[..., Any]) -> None:
        """Run ``make(listener, context)`` as a task; return when the run has started
        (its ``run_started`` event) or raise what stopped it before that."""
        from graphflow.context import RunContext
        from graphflow.events import RunStarted

        if run_id in self.running():
            raise RunInUse(f"run {run_id!r} is being advanced by this server right now; wait "
                           "until it stops (watch GET /api/runs/{id}/events), then try again")  # fmt: skip
        started = asyncio.get_running_loop().create_future()

        def listener(event: Event) -> None:
            if isinstance(event, RunStarted) and event.run_id == run_id and not started.done():
                started.set_result(None)
            if self.on_event is not None:
                self.on_event(event)

        async def body() -> None:
            try:
                if safe:
                    from graphflow.import_policy import safe_imports

                    with safe_imports():
                        await make(listener, RunContext(store=self.store, responsive=True))
                else:
                    await make(listener, RunContext(store=self.store, responsive=True))
            except Exception as exc:
                if not started.done():
                    started.set_exception(exc)
                else:
                    logger.exception("run %s stopped with an error", run_id)

        task = asyncio.ensure_future(body())
        self._tasks[run_id] = task
        task.add_done_callback(lambda _t: self._forget(run_id, task))
        done_first = asyncio.ensure_future(asyncio.shield(task))
        try:
            await asyncio.wait({started, done_first}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done_first.cancel()
        if started.done():
            started.result()  # raises what refused the run
        elif task.done() and not started.done():
            started.cancel()

    def _forget(self, run_id: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(run_id) is task:
            del self._tasks[run_id]

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
