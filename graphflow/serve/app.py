"""The ASGI application: routes, error handlers, the guard, the web UI's files.

:func:`create_app` builds a Starlette app over any run store; uvicorn serves it
(:mod:`graphflow.serve.server`), and tests drive it with httpx's ASGI transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from graphflow.errors import GraphflowError
from graphflow.serve.api import Api
from graphflow.serve.dispatch import Dispatcher, InProcessDispatcher
from graphflow.serve.errors import ApiError, error_body, from_graphflow_error
from graphflow.serve.feed import EventHub
from graphflow.serve.openapi import openapi_schema
from graphflow.serve.security import Guard

if TYPE_CHECKING:
    from starlette.requests import Request

    from graphflow.store import RunStore

__all__ = ["create_app"]

logger = logging.getLogger("graphflow.serve")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def _static_dir() -> str:
    return str(resources.files("graphflow.serve").joinpath("static"))


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc), status_code=exc.status)


async def _graphflow_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GraphflowError)
    error = from_graphflow_error(exc)
    return JSONResponse(error_body(error), status_code=error.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        message = (f"{request.method} is not allowed on {request.url.path}; see "
                   "/api/openapi.json for the methods each route takes")  # fmt: skip
    elif exc.status_code == 404:
        message = (f"no route {request.url.path}; the API's routes are listed at "
                   "/api/openapi.json")  # fmt: skip
    else:
        message = str(exc.detail)
    error = ApiError(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), message)
    return JSONResponse(error_body(error), status_code=exc.status_code,
                        headers=dict(exc.headers or {}))  # fmt: skip


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("%s %s failed", request.method, request.url.path)
    error = ApiError(500, "internal_error", f"the server failed on {request.method} "
                     f"{request.url.path} ({type(exc).__name__}); its log has the details, "
                     "nothing else was changed by this request")  # fmt: skip
    return JSONResponse(error_body(error), status_code=500)


def create_app(store: RunStore, *, dispatcher: Dispatcher | None = None,
               token: str | None = None, poll: float = 0.5, keepalive: float = 15.0,
               work_dir: str | None = None) -> Starlette:  # fmt: skip
    """The server's ASGI app over ``store``.

    Args:
        store: any run store (:class:`~graphflow.store.RunStore`); the caller closes it.
        dispatcher: who advances the runs the API starts or answers; default: this
            process, as asyncio tasks (:class:`InProcessDispatcher`).
        token: when set, every request must carry it (see :mod:`graphflow.serve.security`);
            without it, only requests addressed to a loopback host are answered.
        poll: seconds between reads of the store for each watched run.
        keepalive: seconds between keep-alive comments on a quiet event stream.
        work_dir: where code and file tools of the server's runs work.

    Example:
        >>> from graphflow.store import MemoryStore
        >>> app = create_app(MemoryStore())
        >>> sorted(r.path for r in app.routes if r.path.startswith("/api/runs/"))[:2]
        ['/api/runs/{run_id}', '/api/runs/{run_id}/answer']
    """
    if token is not None:
        from graphflow.secrets import register_secret

        register_secret(token)
    hub = EventHub(store, poll=poll, keepalive=keepalive)
    if dispatcher is None:
        dispatcher = InProcessDispatcher(store, on_event=hub.publish, work_dir=work_dir)
    api = Api(store, dispatcher, hub)

    async def index(request: Request) -> Response:
        return FileResponse(f"{_static_dir()}/index.html", media_type="text/html")

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_schema())

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        app.state.loop = asyncio.get_running_loop()
        try:
            yield
        finally:
            await hub.aclose()
            await dispatcher.aclose()

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/openapi.json", openapi, methods=["GET"]),
        Route("/api/graphs", api.graphs, methods=["GET"]),
        Route("/api/runs", api.runs, methods=["GET"]),
        Route("/api/runs", api.start, methods=["POST"]),
        Route("/api/runs/{run_id}", api.run, methods=["GET"]),
        Route("/api/runs/{run_id}/calls", api.calls, methods=["GET"]),
        Route("/api/runs/{run_id}/events", api.events, methods=["GET"]),
        Route("/api/runs/{run_id}/answer", api.answer, methods=["POST"]),
        Route("/api/runs/{run_id}/fork", api.fork, methods=["POST"]),
        Route("/api/runs/{run_id}/diagram.svg", api.diagram, methods=["GET"]),
        Mount("/static", StaticFiles(directory=_static_dir()), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, token=token)],
                    exception_handlers={ApiError: _api_error, GraphflowError: _graphflow_error,
                                        HTTPException: _http_error, Exception: _unexpected},
                    lifespan=lifespan)  # fmt: skip
    app.state.hub = hub
    app.state.dispatcher = dispatcher
    app.state.store = store
    return app
