"""The HTTP API's handlers: runs and graphs as JSON, run events as Server-Sent Events.

Every handler reads through the store's reader protocol and hands runs to start or
continue to the dispatcher (:mod:`graphflow.serve.dispatch`); errors are JSON
(:mod:`graphflow.serve.errors`). The shapes are documented in docs/serve.md and served as
an OpenAPI schema at ``/api/openapi.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from graphflow.errors import DefinitionError, RenderError, RunInUse, RunNotFound, StoreError
from graphflow.serve.errors import ApiError
from graphflow.serve.feed import EventHub, parse_cursor
from graphflow.serve.graphs import graph_for_stored_run, list_graphs, resolve_graph
from graphflow.serve.inputs import json_body, optional_text, query_int, run_id_field
from graphflow.serve.views import list_runs, model_calls, questions_of, redacted, run_detail
from graphflow.store import RUN_STATUSES
from graphflow.store.retention import entry_frontier

if TYPE_CHECKING:
    from starlette.requests import Request

    from graphflow.serve.dispatch import Dispatcher
    from graphflow.store import RunStore

__all__ = ["Api"]


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(redacted(data), status_code=status)


def _taken(run_id: str) -> ApiError:
    return ApiError(409, "run_id_taken", f"run id {run_id!r} is taken; choose another "
                    "\"run_id\", or leave it out to get a new one")  # fmt: skip


@dataclass
class Api:
    """The handlers, bound to the server's store, dispatcher and event hub."""

    store: RunStore
    dispatcher: Dispatcher
    hub: EventHub

    def _run_id(self, request: Request) -> str:
        run_id = run_id_field(request.path_params["run_id"], "run")
        try:
            self.store.get_run(run_id)
        except RunNotFound:  # the store's own message may name where it is: not sent
            raise ApiError(404, "run_not_found", f"no run {run_id!r} in this server's store; "
                           "GET /api/runs lists the runs") from None  # fmt: skip
        return run_id

    def _check_free(self, run_id: str) -> None:
        """Refuse a new run's id that a stored run has (409 ``run_id_taken``)."""
        try:
            self.store.get_run(run_id)
        except RunNotFound:
            return
        raise _taken(run_id)

    async def graphs(self, request: Request) -> Response:
        """``GET /api/graphs``: ``{"graphs": [{"name", "description", "variables", "bundled"}]}``."""
        return _json({"graphs": await run_in_threadpool(list_graphs)})

    async def runs(self, request: Request) -> Response:
        """``GET /api/runs?status=&graph=&text=&limit=``: ``{"runs": [summary, …]}``, newest first."""
        status = request.query_params.get("status") or None
        if status is not None and status not in RUN_STATUSES:
            raise ApiError(400, "bad_query", f"?status={status[:40]!r} is not a run status; use "
                           f"one of {', '.join(RUN_STATUSES)}")  # fmt: skip
        limit = query_int(request, "limit", 100, 1, 1000)
        return _json({"runs": list_runs(self.store, status=status,
                                        graph=request.query_params.get("graph") or None,
                                        text=request.query_params.get("text") or None,
                                        limit=limit)})  # fmt: skip

    async def run(self, request: Request) -> Response:
        """``GET /api/runs/{id}``: the run, with ``run_id``, ``status`` and ``question``."""
        return _json(run_detail(self.store, self._run_id(request)))

    async def calls(self, request: Request) -> Response:
        """``GET /api/runs/{id}/calls``: ``{"calls": [model call, …]}``."""
        return _json({"calls": model_calls(self.store, self._run_id(request))})

    async def events(self, request: Request) -> Response:
        """``GET /api/runs/{id}/events``: the run's events as Server-Sent Events, from the
        start or after ``Last-Event-ID`` (or ``?after=``)."""
        run_id = self._run_id(request)
        try:
            after = parse_cursor(request.headers.get("last-event-id")
                                 or request.query_params.get("after"))  # fmt: skip
        except ValueError as exc:
            raise ApiError(400, "bad_event_id", str(exc)) from None
        watcher = self.hub.open(run_id, after)
        return StreamingResponse(self.hub.stream(run_id, watcher), media_type="text/event-stream",
                                 headers={"cache-control": "no-store",
                                          "x-accel-buffering": "no"})  # fmt: skip

    async def start(self, request: Request) -> Response:
        """``POST /api/runs`` ``{"graph", "input"?, "variables"?, "run_id"?}``: 201
        ``{"run_id"}``."""
        from graphflow.scheduler import new_run_id

        data = await json_body(request, '{"graph": "quickstart", "input": "hello"}')
        graph_text = optional_text(data, "graph", required=True) or ""
        first = optional_text(data, "input")
        variables = data.get("variables") or {}
        if not isinstance(variables, dict):
            raise ApiError(400, "bad_field", '"variables" must be a JSON object {"name": value}')
        run_id = run_id_field(data["run_id"], "run_id") if data.get("run_id") else new_run_id()
        self._check_free(run_id)
        choice = await run_in_threadpool(resolve_graph, graph_text)  # compiling takes a while
        unknown = [k for k in variables if k not in choice.graph.spec.variables]
        if unknown:
            known = ", ".join(choice.graph.spec.variables) or "none"
            raise ApiError(400, "unknown_variable", f"graph {choice.graph.name!r} has no variable "
                           f"{unknown[0]!r}; its variables: {known}")  # fmt: skip
        try:
            await self.dispatcher.start(choice.graph, run_id=run_id, input=first,
                                        variables=variables, safe=choice.safe)  # fmt: skip
        except RunInUse:  # another request is starting a run of that id
            raise _taken(run_id) from None
        except StoreError:
            self._check_free(run_id)  # another request took the id meanwhile
            raise
        return _json({"run_id": run_id, "graph": choice.graph.name}, 201)

    async def answer(self, request: Request) -> Response:
        """``POST /api/runs/{id}/answer`` ``{"input", "question"?}``: 202 ``{"run_id",
        "question"}``; 409 when the question is not the one waiting."""
        run_id = self._run_id(request)
        data = await json_body(request, '{"input": "yes", "question": "approve@6"}')
        text = optional_text(data, "input", required=True) or ""
        question = optional_text(data, "question")
        record = self.store.get_run(run_id)
        waiting = {q["id"]: q for q in questions_of(record)}
        if not waiting:
            raise ApiError(409, "not_waiting", f"run {run_id!r} is not waiting for an answer "
                           f"(status {record.status}); nothing was recorded. Look at the run "
                           f"(GET /api/runs/{run_id})", question=question)  # fmt: skip
        if question is not None and question not in waiting:
            raise ApiError(409, "stale_answer", f"question {question!r} of run {run_id!r} is not "
                           f"waiting (answered already, or never asked); it waits on "
                           f"{', '.join(waiting)}. Nothing was recorded: answer the question "
                           "that waits now, if you still want to", question=question,
                           waiting=list(waiting))  # fmt: skip
        if question is None:
            if len(waiting) > 1:
                raise ApiError(400, "question_required", f"run {run_id!r} waits on several "
                               f"questions ({', '.join(waiting)}); name one in \"question\"")  # fmt: skip
            question = next(iter(waiting))
        choice = await run_in_threadpool(graph_for_stored_run, record)
        answers: Any = text if len(waiting) == 1 else {question: text}
        await self.dispatcher.resume(choice.graph, run_id, input=answers, question=question,
                                     safe=choice.safe)  # fmt: skip
        return _json({"run_id": run_id, "question": question}, 202)

    async def fork(self, request: Request) -> Response:
        """``POST /api/runs/{id}/fork`` ``{"step", "run_id"?, "start"?}``: 201 ``{"run_id",
        "forked_from", "at_step"}``; with ``"start": true`` the fork is also continued."""
        from graphflow.scheduler import new_run_id

        run_id = self._run_id(request)
        data = await json_body(request, '{"step": 2, "start": true}')
        step = data.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            raise ApiError(400, "bad_field", '"step" must be a whole number: the step to fork '
                           "before (0 … the run's last step)")  # fmt: skip
        start = data.get("start", False)
        if not isinstance(start, bool):
            raise ApiError(400, "bad_field", '"start" must be true or false')
        new_id = run_id_field(data["run_id"], "run_id") if data.get("run_id") else new_run_id()
        self._check_free(new_id)
        record = self.store.get_run(run_id)
        if not 0 <= step <= record.last_step + 1:
            raise ApiError(400, "bad_step", f"run {run_id!r} has steps 0 … {record.last_step}; "
                           f"fork before one of them, not {step}")  # fmt: skip
        frontier = entry_frontier(record)  # StoreCorrupt (500) for a spec that is not a graph
        choice = await run_in_threadpool(graph_for_stored_run, record) if start else None
        try:
            self.store.fork_run(run_id, step, new_id, frontier)
        except StoreError:
            self._check_free(new_id)  # another request took the id meanwhile
            raise
        if choice is not None:
            await self.dispatcher.resume(choice.graph, new_id, input=None, question=None,
                                         safe=choice.safe)  # fmt: skip
        return _json({"run_id": new_id, "forked_from": run_id, "at_step": step}, 201)

    async def diagram(self, request: Request) -> Response:
        """``GET /api/runs/{id}/diagram.svg?rankdir=TB``: the graph with the run's path."""
        from graphflow.render.dot import to_svg
        from graphflow.render.overlay import RunOverlay
        from graphflow.report.html import svg_for_page

        run_id = self._run_id(request)
        rankdir = request.query_params.get("rankdir", "TB")
        if rankdir not in ("TB", "LR", "BT", "RL"):
            raise ApiError(400, "bad_query", f"?rankdir={rankdir[:10]!r}: use TB, LR, BT or RL")
        record = self.store.get_run(run_id)
        try:
            graph = (await run_in_threadpool(graph_for_stored_run, record)).graph
        except DefinitionError as exc:
            raise ApiError(422, "no_diagram", f"the graph stored with run {run_id!r} cannot be "
                           f"rebuilt here, so it cannot be drawn: {exc}") from None  # fmt: skip
        overlay = RunOverlay.from_store(self.store, run_id)
        try:
            svg = await run_in_threadpool(to_svg, graph, overlay=overlay, rankdir=rankdir)
        except RenderError as exc:
            raise ApiError(503, "no_renderer", str(exc)) from None
        return Response(redacted(svg_for_page(svg)), media_type="image/svg+xml")
