"""``graphflow serve``: runs in the browser — live, inspectable and answerable.

An ASGI app (Starlette, served by uvicorn) over any run store:

- :mod:`~graphflow.serve.app` — :func:`create_app`, routes and error handlers;
- :mod:`~graphflow.serve.api` — the handlers of the HTTP API;
- :mod:`~graphflow.serve.views` — what the API answers about runs (JSON shapes);
- :mod:`~graphflow.serve.feed` — run events as Server-Sent Events, read from the store;
- :mod:`~graphflow.serve.dispatch` — who advances the runs (this process, or a queue);
- :mod:`~graphflow.serve.graphs` — the graphs a run can be started of;
- :mod:`~graphflow.serve.security` — host and token checks, cross-site protection, headers;
- :mod:`~graphflow.serve.server` — the bind check and uvicorn;
- ``static/`` — the web UI (HTML, JS, CSS; no build step, nothing from a CDN).

Starlette and uvicorn are optional: ``pip install 'graphflow[serve]'``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["INSTALL_HINT", "create_app", "require_serve_dependencies", "serve"]

INSTALL_HINT = ("graphflow serve needs Starlette and uvicorn, which are not installed; "
                "install them with: pip install 'graphflow[serve]'")  # fmt: skip


def require_serve_dependencies() -> None:
    """Raise ImportError with :data:`INSTALL_HINT` unless Starlette and uvicorn import."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None


def create_app(*args: Any, **kwargs: Any) -> Any:
    """:func:`graphflow.serve.app.create_app`, after checking the optional dependencies."""
    require_serve_dependencies()
    from graphflow.serve.app import create_app as build

    return build(*args, **kwargs)


def serve(*args: Any, **kwargs: Any) -> None:
    """:func:`graphflow.serve.server.serve`, after checking the optional dependencies."""
    require_serve_dependencies()
    from graphflow.serve.server import serve as run

    run(*args, **kwargs)
