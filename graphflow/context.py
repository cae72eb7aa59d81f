"""The run context: what one run (and the child runs of its subgraph nodes) shares.

A :class:`RunContext` is built once per run — by the CLI, by ``CompiledGraph.run``, by the
AutoGen-style patterns — and handed to every node as ``ctx.run``. It carries the run's
store, its event sink, its work directory, the command-line overrides (``--model``,
``--base-url``, ``--executor``), and the services nodes create on first use: model sets
and clients, the response cache, code executors. A child run (a subgraph node's inner
graph) gets :meth:`RunContext.child`, which shares all of these; only the run that built
the context closes them (:meth:`RunServices.aclose`).

Example:
    >>> ctx = RunContext(model="gpt-4o-mini")
    >>> child = ctx.child(parent=None)
    >>> child.model, child.services is ctx.services, child.close_at_end
    ('gpt-4o-mini', True, False)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from graphflow.events import Event
    from graphflow.execution.base import CodeExecutor
    from graphflow.kinds.base import NodeContext
    from graphflow.models import ModelSet, ResponseCache
    from graphflow.models.response import ChatModel
    from graphflow.store import RunWriter

__all__ = ["EventSink", "RunContext", "RunServices"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Receives every event of a run (see :mod:`graphflow.events`).
EventSink = Callable[["Event"], None]


def _ignore(event: Event) -> None:
    """The event sink of a run nobody listens to."""


@dataclass
class RunServices:
    """Services a run's nodes create on first use, shared by the run and its child runs.

    Attributes:
        models: models given to the run in Python (a ``ModelSet``), used by graphs
            without a ``models:`` section of their own.
        model_sets: the ``ModelSet`` of each ``models:`` section in use, created once.
        clients: one model client per model entry in use (shared so a scripted model's
            replies are served in conversation order across agents).
        cache: the response cache on the run database, opened on first use.
        executors: one code executor per configuration in use.
        notice_shown: the one-line "no model configured" notice was printed.
        extras: services of kinds outside graphflow, created through :meth:`get`.
        closers: called by :meth:`aclose`, newest first.
    """

    models: ModelSet | None = None
    model_sets: dict[str, ModelSet] = field(default_factory=dict)
    clients: dict[str, ChatModel] = field(default_factory=dict)
    cache: ResponseCache | None = None
    executors: dict[str, CodeExecutor] = field(default_factory=dict)
    notice_shown: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def executor(self, name: str, **options: Any) -> CodeExecutor:
        """The run's code executor ``name`` with ``options`` (see
        :func:`graphflow.execution.get_executor`), created on first use and closed with
        the run; every node asking for the same configuration gets the same executor."""
        key = f"{name}:{sorted((k, repr(v)) for k, v in options.items() if k != 'run_id')}"
        found = self.executors.get(key)
        if found is None:
            from graphflow.execution import get_executor

            found = self.executors[key] = get_executor(name, **options)
            self.closers.append(found.close)
        return found

    def get(self, key: str, factory: Callable[[], T]) -> T:
        """The extra service ``key``, created with ``factory`` the first time."""
        if key not in self.extras:
            self.extras[key] = factory()
        value: T = self.extras[key]
        return value

    async def aclose(self) -> None:
        """Close what the run's nodes opened (model clients, the cache, executors), newest
        first; a closer that fails does not stop the others."""
        while self.closers:
            close = self.closers.pop()
            with contextlib.suppress(Exception):
                outcome = close()
                if asyncio.iscoroutine(outcome) or isinstance(outcome, asyncio.Future):
                    await outcome


@dataclass
class RunContext:
    """What a run shares with its nodes and its child runs.

    Attributes:
        store: where the run is kept (set by the scheduler when not given).
        emit: the run's event sink (streamed tokens, usage, progress).
        work_dir: where code and file tools work (default ``./graphflow-work/RUN_ID``).
        model, base_url: override the model of every agent node (``--model``, ``--base-url``).
        models_recorded: ``model`` / ``base_url`` were not given but taken from what the
            resumed run recorded (so the run says so).
        record_calls: keep each model call's prompt and response with the run (shown by
            ``graphflow show --calls`` and the report); ``False`` keeps only usage.
        executor: the executor of every code node and code-running agent
            (``--executor``), overriding the graph's choice; see :meth:`executor_for`.
        services: what the nodes create on first use (models, cache, executors).
        close_at_end: the run closes ``services`` when it ends (False for a child run,
            which shares its parent's).
        parent: in a child run, the context of the node that runs it.
        responsive: the event loop the run is on must stay responsive (a server answering
            requests on it): sync function nodes then always run in worker threads.
    """

    store: RunWriter | None = None
    emit: EventSink = _ignore
    work_dir: Path | None = None
    model: str | None = None
    base_url: str | None = None
    models_recorded: bool = False
    record_calls: bool = True
    executor: str | None = None
    services: RunServices = field(default_factory=RunServices)
    close_at_end: bool = True
    parent: NodeContext | None = None
    responsive: bool = False

    @classmethod
    def with_models(cls, models: Any, **fields: Any) -> RunContext:
        """A context whose graphs without a ``models:`` section of their own use
        ``models``: a ``ModelSet``, one model (a ``ScriptedModel``, a ``ModelConfig``, a
        ``ModelClient``) or a list of configs tried in order; ``None`` for none.

        Example:
            >>> from graphflow.models import ScriptedModel
            >>> RunContext.with_models(ScriptedModel(["hi"])).services.models.names
            ['default']
        """
        context = cls(**fields)
        if models is not None:
            from graphflow.models import ModelSet

            context.services.models = (models if isinstance(models, ModelSet)
                                       else ModelSet({"default": models}))  # fmt: skip
        return context

    def prepare(self, store: RunWriter, run_id: str, on_event: EventSink | None,
                work_dir: str | Path | None) -> RunContext:  # fmt: skip
        """Fill in what the run of ``run_id`` needs and was not given: its store, its
        event sink (guarded: a listener that raises is logged and never fails the run,
        see :func:`graphflow.events.guarded`) and its work dir; returns ``self``."""
        from graphflow.events import guarded

        if on_event is not None:
            self.emit = on_event
        if self.emit is not RunContext.emit:
            self.emit = guarded(self.emit)
        if self.store is None:
            self.store = store
        if self.work_dir is None:
            self.work_dir = Path(work_dir or "graphflow-work").resolve() / run_id
        return self

    def executor_for(self, chosen: str, *, node: str) -> str:
        """The executor that runs the code of ``node``, which chose ``chosen``: the run's
        ``executor`` override when there is one — with a warning (once per node) when it
        isolates the code less than the graph's choice —, else the choice; ``auto``
        becomes ``sandbox`` or ``docker``, decided once per run.

        Raises:
            ExecutorUnavailable: ``auto`` and neither works here (the message names
                ``--executor local``).
        """
        from graphflow.execution.registry import resolve_auto, weakens_isolation

        name = chosen
        if self.executor and self.executor != chosen:
            warned: set[str] = self.services.get("executor_warnings", set)
            if weakens_isolation(chosen, self.executor) and node not in warned:
                warned.add(node)
                logger.warning("graphflow: node %r chose executor %r; --executor %s overrides "
                               "it and runs its code with less isolation", node, chosen,
                               self.executor)  # fmt: skip
            name = self.executor
        if name == "auto":
            name = self.services.get("executor:auto", resolve_auto)
        return name

    def child(self, parent: NodeContext | None) -> RunContext:
        """The context of a child run started by the node execution ``parent``: the same
        store, sink, work dir, overrides and services, closed by this context's run."""
        return replace(self, close_at_end=False, parent=parent)
