"""One process's execution of one run: its steps, from the run's head to a stop.

See :mod:`graphflow.scheduler` for what a step is; :mod:`graphflow.scheduler.entry` starts
and resumes runs with it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from graphflow import events as ev
from graphflow.context import RunContext
from graphflow.conversation import Conversation
from graphflow.errors import (
    ConditionError,
    GraphflowError,
    NodeError,
    NoTransitionError,
    RunError,
)
from graphflow.kinds.base import EffectRecorder, NodeContext, NodeKind
from graphflow.messages import Interrupt, Message, State, Update
from graphflow.models.usage import Budget, Usage, usage_by_node, usage_report
from graphflow.results import RunResult, update_from_payload, update_payload
from graphflow.resuming import question_id
from graphflow.scheduler.children import ChildRuns
from graphflow.secrets import redact
from graphflow.store import EffectWrites, RunRecord, RunStatus, RunWriter
from graphflow.store.codec import dumps, loads
from graphflow.tracing import collecting, span

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph

__all__ = ["Execution", "new_run_id"]

_MISSING = object()
logger = logging.getLogger(__name__)

#: The loop of a run hands control back to the event loop at least this often (seconds):
#: steps whose nodes never wait (quick sync functions run on the loop, a store written
#: synchronously) would otherwise hold the event loop for the whole run — its other tasks,
#: the lease renewal and a cancellation (Ctrl-C) would wait until the run ends.
YIELD_EVERY = 0.005

#: How a run ends: its status and reason.
Ending = tuple[RunStatus, "str | None"]


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


class Execution:
    """One process's execution of one run, from its current head to a stop."""

    def __init__(self, graph: CompiledGraph, store: RunWriter, run_id: str,
                 context: RunContext, *, resumed: bool = True) -> None:  # fmt: skip
        self.graph = graph
        self.store = store
        self.run_id = run_id
        # None when nobody listens, so that events are not even built
        self.on_event = None if context.emit is RunContext.emit else context.emit
        self.context = context
        self.state = State()
        self.frontier: list[str] = []
        self.waits: list[str] = []
        #: the reason the last branch to end gave (an end node's status), if any
        self.end_reason: str | None = None
        self.usage = Usage()  # run totals, stored with the run
        self.usage_by_node: dict[str, Usage] = {}
        self.turns = 0  # agent turns, counted by limits.max_rounds
        self.started = time.monotonic()
        # effects of an earlier, crashed attempt at the next step may be stored (a new
        # run has none)
        self.effects_dirty = resumed
        self.child_runs = ChildRuns(store)  # given to every node context
        self.traced = collecting()  # asked once: step and node spans cost nothing when off
        self.debug = logger.isEnabledFor(logging.DEBUG)  # asked once too
        limits = graph.spec.limits
        budget = Budget(limits.max_tokens, limits.max_cost)
        self.budget = budget if budget else None  # None: no limit to check after each step
        #: how the run ends after the step just committed (status, reason), if it does:
        #: that commit recorded it
        self.ending: Ending | None = None

    def emit(self, event: ev.Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    # -- loading -------------------------------------------------------------------

    def load(self, record: RunRecord | None = None) -> None:
        """Rebuild the state at the run's head (``record``: the run as already read)."""
        record = record or self.store.get_run(self.run_id)
        step = record.last_step
        variables, visits = self.store.load_variables(self.run_id, step)
        variables = self.graph.state.restore(variables)
        messages = self.store.load_conversation(self.run_id)  # the rest read when used
        self.state = State(messages=messages, variables=variables, visits=visits, step=step + 1)
        self.frontier = list(record.frontier.get("run", []))
        self.waits = list(record.frontier.get("wait", []))
        self.end_reason = record.frontier.get("reason")
        self.usage = Usage.from_dict({k: v for k, v in (record.usage or {}).items()
                                      if k != "by_node"})  # fmt: skip
        if self.usage:  # the newest snapshot's totals plus the steps since (<= 199 rows)
            self.usage_by_node = usage_by_node(self.store.node_usage_parts(self.run_id, step))
        if self.graph.spec.limits.max_rounds is not None:  # reads every message
            self.turns = self.graph.agent_turns(messages)

    def begin(self, variables: Mapping[str, Any], messages: list[Message]) -> None:
        """Set the state of a run created just now at its entry (``variables`` and
        ``messages`` as given to ``create_run``), as :meth:`load` would read it back: the
        variables through the store's encoding (what a later resume sees), the input
        messages read back (the form a resume sees), none of the rest read."""
        restored = self.graph.state.restore(loads(dumps(variables), self.run_id, "snapshot"))
        conversation = (self.store.load_conversation(self.run_id) if messages
                        else Conversation())  # fmt: skip
        self.state = State(messages=conversation, variables=restored, visits={}, step=0)
        self.frontier, self.waits, self.end_reason = [self.graph.entry], [], None
        if messages and self.graph.spec.limits.max_rounds is not None:
            self.turns = self.graph.agent_turns(conversation)

    # -- the loop ------------------------------------------------------------------

    async def loop(self, inputs: Mapping[str, str]) -> RunResult:
        graph, limits = self.graph, self.graph.spec.limits
        max_steps, timeout = limits.max_steps, limits.timeout
        capped = graph.visit_caps  # node → its max_visits (or the run's), where there is one
        yielded = time.perf_counter()
        while True:
            if time.perf_counter() - yielded > YIELD_EVERY:
                await asyncio.sleep(0)
                yielded = time.perf_counter()
            if not self.frontier and self.waits:
                self.frontier, self.waits = self.waits, []
            if not self.frontier:
                return self.finish("completed", self.end_reason)
            step = self.state.step
            if max_steps is not None and step >= max_steps:
                return self.finish("limit_reached", f"max_steps ({max_steps}) reached")
            if timeout is not None and time.monotonic() - self.started > timeout:
                return self.finish("timeout", f"timeout ({timeout:g} s) reached")
            if capped:
                for node_id in self.frontier:
                    cap = capped.get(node_id)
                    if cap is not None and self.state.visits.get(node_id, 0) >= cap:
                        return self.finish("limit_reached",
                                           f"node {node_id!r} reached max_visits ({cap})")  # fmt: skip
            outcome = await (self.run_step(step, inputs) if self.traced or self.debug
                             else self._step(step, inputs))  # fmt: skip
            inputs = {}
            if isinstance(outcome, RunResult):
                return outcome
            if self.ending is not None:
                return self.finish(*self.ending)
            if graph.stop_when is not None and self.frontier:
                try:
                    hit = graph.stop_when(self.state)
                except Exception as exc:
                    return self.fail(step, self.frontier[0], ConditionError(
                        f"limits.stop_when {limits.stop_when!r} failed: {type(exc).__name__}: "
                        f"{exc}; fix the expression", run_id=self.run_id, step=step))  # fmt: skip
                if hit:
                    return self.finish("completed", f"stop_when: {limits.stop_when}")

    async def run_step(self, step: int, inputs: Mapping[str, str]) -> RunResult | None:
        if self.debug:
            logger.debug("run %s step %d: %s", self.run_id, step, ", ".join(self.frontier))
        if not self.traced:
            return await self._step(step, inputs)
        with span("graphflow.step", {"graphflow.run_id": self.run_id, "graphflow.step": step,
                                     "graphflow.nodes": self.frontier}):  # fmt: skip
            return await self._step(step, inputs)

    def ends(self, stop: str | None, frontier: list[str], waits: list[str]) -> Ending | None:
        """How the run ends after a step that leaves ``frontier`` and ``waits`` (state,
        turns and usage counted), or ``None``: in this order, a node's stop, max_rounds,
        the budget, no node left (``stop_when`` comes after the commit: it may fail)."""
        limits = self.graph.spec.limits
        if stop:
            return "completed", stop
        if limits.max_rounds is not None and self.turns >= limits.max_rounds:
            return "limit_reached", f"max_rounds ({limits.max_rounds}) reached"
        over = self.budget.exceeded(self.usage) if self.budget is not None else None
        if over:
            return "budget_exceeded", over
        if not frontier and not waits:
            return "completed", self.end_reason
        return None

    async def _step(self, step: int, inputs: Mapping[str, str]) -> RunResult | None:
        started_at = time.time()
        t0 = time.perf_counter()
        nodes = self.frontier
        if self.on_event is not None:
            self.emit(ev.StepStarted(self.run_id, step, tuple(nodes)))
        results: dict[str, Update | Interrupt | BaseException] = {}
        parallel = len(nodes) > 1
        saved = False
        if parallel:
            done = self.store.load_writes(self.run_id, step)
            for node_id, payload in done.items():
                results[node_id] = self.graph.state.restore_update(update_from_payload(payload))
            saved = bool(done)
            saved |= await self.run_branches([n for n in nodes if n not in results], step,
                                             inputs, results)  # fmt: skip
        else:
            node_id = nodes[0]
            try:
                results[node_id] = await self.run_node(node_id, step,
                                                       inputs.get(node_id) if inputs else None)  # fmt: skip
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                    raise
                results[node_id] = exc

        if len(results) != 1 or type(results[nodes[0]]) is not Update:
            stopped = self._stopped(step, results)
            if stopped is not None:
                return stopped
        # every result is an Update now; one node's results are its updates already
        updates = cast("dict[str, Update]", results if len(nodes) == 1
                       else {n: results[n] for n in nodes})  # fmt: skip
        return self._apply(step, nodes, updates, started_at, t0, parallel and saved)

    def _stopped(self, step: int,
                 results: Mapping[str, Update | Interrupt | BaseException]) -> RunResult | None:  # fmt: skip
        """The run's result when a node of the step failed or asks a person; ``None``
        when every node returned an Update."""
        failures = {n: r for n, r in results.items() if isinstance(r, BaseException)}
        waiting = {n: r for n, r in results.items() if isinstance(r, Interrupt)}
        if failures:
            failed_node, error = next(iter(failures.items()))
            if isinstance(error, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                raise error
            return self.fail(step, failed_node, error)
        if waiting:
            questions = {n: r.question for n, r in waiting.items()}
            detail = {n: {"question": r.question, "options": list(r.options),
                          "payload": dict(r.payload), "id": question_id(n, step)}
                      for n, r in waiting.items()}  # fmt: skip
            self.store.set_status(self.run_id, "waiting", waiting={"step": step, "nodes": detail})
            for n, q in questions.items():
                self.emit(ev.Waiting(self.run_id, step, n, q))
            return self.result("waiting", None, waiting=questions,
                               questions={n: question_id(n, step) for n in waiting})  # fmt: skip
        return None

    def _apply(self, step: int, nodes: list[str], updates: dict[str, Update], started_at: float,
               t0: float, had_writes: bool) -> RunResult | None:  # fmt: skip
        """Apply the step's updates in frontier order (by the variables' merge rules),
        route, and commit the step."""
        state = self.state
        first_seq = len(state.messages)
        new_messages: list[Message] = []
        writes: list[tuple[str, Mapping[str, Any]]] = []
        step_usage: dict[str, Any] = {}
        stop: str | None = None
        ended: str | None = None
        for node_id in nodes:
            update = updates[node_id]
            for m in update.messages:
                new_messages.append(m if m.node else m.model_copy(update={"node": node_id}))
            if update.variables:
                writes.append((node_id, update.variables))
            if update.usage:
                used = Usage.from_dict(update.usage)
                step_usage[node_id] = dict(update.usage)
                self.usage = self.usage + used
                self.usage_by_node[node_id] = self.usage_by_node.get(node_id, Usage()) + used
            if update.stop and stop is None:
                stop = update.stop
            if update.reason and ended is None:
                ended = update.reason
        messages, variables, visits = state.messages, state.variables, state.visits
        try:
            changed, delta = self.graph.state.apply(variables, writes, step) if writes else ({}, {})
        except RunError as exc:
            exc.run_id = exc.run_id or self.run_id
            return self.fail(step, exc.node or nodes[0], exc)
        # Apply in place (copying the conversation every step would make long runs
        # quadratic); undo if routing fails, so memory matches what is stored.
        undo_vars = {k: variables.get(k, _MISSING) for k in changed}
        if new_messages:
            messages.extend(new_messages)
        variables.update(changed)
        for node_id in nodes:
            visits[node_id] = visits.get(node_id, 0) + 1
        try:  # ``state`` is now the state after the step (its ``step`` is this step)
            routing = self.graph.route(nodes, updates, state, self.waits)
        except RunError as exc:
            exc.run_id = exc.run_id or self.run_id
            del messages[first_seq:]
            for k, v in undo_vars.items():
                if v is _MISSING:
                    variables.pop(k, None)
                else:
                    variables[k] = v
            for node_id in nodes:
                visits[node_id] -= 1
            return self.fail(step, exc.node or nodes[0], exc)
        frontier, waits, via = routing
        if new_messages:
            self.turns += self.graph.agent_turns(new_messages)
        # An end node's status is the run's reason when its branch is the last one.
        self.end_reason = ended if not frontier and not waits else None
        head: dict[str, Any] = {"run": frontier, "wait": waits, "via": via}
        if self.end_reason:
            head["reason"] = self.end_reason
        ending = self.ends(stop, frontier, waits)
        self.store.commit_step(
            self.run_id, step, nodes=nodes, messages=new_messages, first_seq=first_seq,
            variables=delta, frontier=head,
            usage=step_usage,
            run_usage=self.usage.to_dict() if step_usage else None, started_at=started_at,
            state=(variables, visits), had_writes=had_writes,
            had_effects=self.effects_dirty, usage_by_node=self.usage_by_node,
            ending=ending)  # fmt: skip
        self.ending = ending  # recorded by that commit
        self.effects_dirty = False
        state.step = step + 1
        self.frontier, self.waits = frontier, waits
        if self.on_event is not None:
            for m in new_messages:
                self.emit(ev.MessageEvent(self.run_id, step, m.node or "", m))
            self.emit(ev.StepFinished(self.run_id, step, tuple(nodes), tuple(frontier),
                                      time.perf_counter() - t0))  # fmt: skip
        return None

    async def run_branches(self, todo: list[str], step: int, inputs: Mapping[str, str],
                           results: dict[str, Any]) -> bool:  # fmt: skip
        """Run the branches of a parallel step. Whenever some branches finished while
        others still run, the finished ones are saved (one transaction) before waiting
        again, so a crash re-runs only unfinished branches; branches that all finish
        together need no save, since the step's commit follows at once. Returns whether
        anything was saved."""
        nodes, context, graph = self.graph.nodes, self.context, self.graph
        if all(nodes[n].impl.finishes_at_once(context, graph) for n in todo):
            return await self._run_in_turn(todo, step, inputs, results)
        tasks = {asyncio.ensure_future(self.run_node(n, step, inputs.get(n))): n for n in todo}
        pending: set[asyncio.Future[Any]] = set(tasks)
        unsaved: dict[str, dict[str, Any]] = {}
        saved = False
        try:
            while pending:
                finished, pending = await asyncio.wait(pending,
                                                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                for task in finished:
                    node_id = tasks[task]
                    error = task.exception()
                    results[node_id] = error if error is not None else task.result()
                    if isinstance(results[node_id], Update):
                        unsaved[node_id] = update_payload(results[node_id])
                stalls = any(not isinstance(r, Update) for r in results.values())
                if unsaved and (pending or stalls):  # the step will not commit right now
                    self.store.save_writes(self.run_id, step, unsaved)
                    unsaved, saved = {}, True
        finally:
            for task in pending:
                task.cancel()
        return saved

    async def _run_in_turn(self, todo: list[str], step: int, inputs: Mapping[str, str],
                           results: dict[str, Any]) -> bool:  # fmt: skip
        """Run branches that all finish at once (see ``NodeKind.finishes_at_once``) one
        after the other, without a task each: none waits for anything, so nothing could
        overlap (one that waits after all only loses the overlap). When one fails or asks
        a person, the finished ones are saved, as :meth:`run_branches` does."""
        for node_id in todo:
            try:
                results[node_id] = await self.run_node(node_id, step, inputs.get(node_id))
            except Exception as exc:
                results[node_id] = exc
        if all(isinstance(r, Update) for r in results.values()):
            return False  # the step commits now: nothing to save first
        finished = {n: update_payload(r) for n, r in results.items() if isinstance(r, Update)}
        if finished:
            self.store.save_writes(self.run_id, step, finished)
        return bool(finished)

    async def run_node(self, node_id: str, step: int, answer: str | None) -> Update | Interrupt:
        node = self.graph.nodes[node_id]
        ctx = NodeContext(self.run_id, step, node_id, self.state, self.context, answer,
                          effects=self.effects_for(node_id, step), graph=self.graph,
                          child_runs=self.child_runs)  # fmt: skip
        if self.on_event is not None:
            self.emit(ev.NodeStarted(self.run_id, step, node_id))
            t0 = time.perf_counter()
        try:
            if not self.traced:  # as _started, without a coroutine of its own
                result = node.impl.start(ctx)
                if not isinstance(result, (Update, Interrupt)) and inspect.isawaitable(result):
                    result = await result
            else:
                with span("graphflow.node", {"graphflow.run_id": self.run_id,
                                             "graphflow.step": step, "graphflow.node": node_id,
                                             "graphflow.kind": node.kind}):  # fmt: skip
                    result = await self._started(node.impl, ctx)
        except GraphflowError as exc:
            if isinstance(exc, RunError) and exc.node is None:
                exc.node, exc.step, exc.run_id = node_id, step, self.run_id
            raise
        except Exception as exc:
            raise NodeError(f"node {node_id!r} ({node.kind}) raised {type(exc).__name__}: {exc}",
                            run_id=self.run_id, step=step, node=node_id) from exc  # fmt: skip
        if not isinstance(result, (Update, Interrupt)):
            raise NodeError(f"node {node_id!r} returned {type(result).__name__}, not an Update",
                            run_id=self.run_id, step=step, node=node_id)  # fmt: skip
        if isinstance(result, Update) and result.variables:
            try:
                result = self.graph.state.prepare(node_id, result, step)
            except RunError as exc:
                exc.run_id = self.run_id
                raise
        if self.on_event is not None:
            self.emit(ev.NodeFinished(self.run_id, step, node_id, time.perf_counter() - t0))
        return result

    @staticmethod
    async def _started(kind: NodeKind, ctx: NodeContext) -> Any:
        """What the node returns: ``kind.start(ctx)``, awaited unless it is a result
        already (a quick sync function's update)."""
        result = kind.start(ctx)
        if not isinstance(result, (Update, Interrupt)) and inspect.isawaitable(result):
            result = await result
        return result

    def effects_for(self, node_id: str, step: int) -> EffectRecorder:
        """The effect recorder of one node execution (see NodeContext.effect)."""
        store, run_id = self.store, self.run_id

        async def record(key: str, thunk: Callable[[], Any],
                         writes: EffectWrites | None = None, /) -> Any:  # fmt: skip
            found, value = store.get_effect(run_id, step, node_id, key)
            if found:
                return value
            value = await thunk()
            if writes:  # one transaction: the result and what goes with it
                store.put_effect(run_id, step, node_id, key, value, calls=writes.calls,
                                 joined=writes.joined)  # fmt: skip
            else:
                store.put_effect(run_id, step, node_id, key, value)
            self.effects_dirty = True
            return value

        return record

    # -- endings -------------------------------------------------------------------

    def result(self, status: RunStatus, reason: str | None, *, waiting: dict[str, str] | None = None,
               error: str | None = None, questions: dict[str, str] | None = None) -> RunResult:  # fmt: skip
        return RunResult(self.run_id, status, reason, self.state.messages,
                         dict(self.state.variables), dict(self.state.visits), self.state.step,
                         waiting or {}, error, self.usage_report(), questions or {})  # fmt: skip

    def usage_report(self) -> dict[str, Any]:
        return usage_report(self.usage, self.usage_by_node)

    def finish(self, status: RunStatus, reason: str | None) -> RunResult:
        if (status, reason) != self.ending:  # else the last step's commit recorded it
            self.store.set_status(self.run_id, status, reason=reason)
        self.emit(ev.RunFinished(self.run_id, self.state.step, status, reason or ""))
        return self.result(status, reason)

    def fail(self, step: int, node_id: str, exc: BaseException) -> RunResult:
        message = str(exc) if isinstance(exc, GraphflowError) else (
            f"node {node_id!r} raised {type(exc).__name__}: {exc}")  # fmt: skip
        detail = "".join(traceback.format_exception(exc)[-6:]) if not isinstance(
            exc, (NoTransitionError, ConditionError)) else ""  # fmt: skip
        message, detail = redact(message), redact(detail)  # keys never reach store or events
        logger.info("run %s: node %r failed at step %d: %s", self.run_id, node_id, step, message)
        self.store.set_status(self.run_id, "failed", reason=f"error in node {node_id!r}",
                              error=message + ("\n\n" + detail if detail else ""),
                              failed_node=node_id, failed_step=step)  # fmt: skip
        self.emit(ev.RunError(self.run_id, step, node_id, message))
        self.emit(ev.RunFinished(self.run_id, step, "failed", message))
        return self.result("failed", f"error in node {node_id!r}", error=message)
