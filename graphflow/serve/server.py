"""Running the server: check the bind and the token, open the store, start uvicorn."""

from __future__ import annotations

import os
import socket
from typing import Any

from graphflow.errors import GraphflowError
from graphflow.serve.security import is_loopback

__all__ = ["TOKEN_VARIABLE", "ServeRefused", "check_bind", "listen_socket", "serve"]

#: The environment variable ``graphflow serve`` reads its token from.
TOKEN_VARIABLE = "GRAPHFLOW_SERVE_TOKEN"


class ServeRefused(GraphflowError):
    """The server will not start as asked (an open bind without a token)."""


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token.

    Raises:
        ServeRefused: ``host`` is not loopback and ``token`` is empty.

    Example:
        >>> check_bind("127.0.0.1", None)
        >>> check_bind("0.0.0.0", None)
        Traceback (most recent call last):
        ...
        graphflow.serve.server.ServeRefused: --host 0.0.0.0 is not a loopback address: anyone who can reach it could read and answer runs. Give a token (--token TOKEN, or GRAPHFLOW_SERVE_TOKEN), or keep the default --host 127.0.0.1
    """
    if not is_loopback(host) and not token:
        raise ServeRefused(f"--host {host} is not a loopback address: anyone who can reach it "
                           f"could read and answer runs. Give a token (--token TOKEN, or "
                           f"{TOKEN_VARIABLE}), or keep the default --host 127.0.0.1")  # fmt: skip
    if token is not None and len(token) < 16:
        raise ServeRefused("the token is shorter than 16 characters; use a long random one, "
                           "e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`")  # fmt: skip


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, which ends the app's event streams as soon as it is asked to
        stop, so that its graceful shutdown does not wait for them."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            state = getattr(self.config.app, "state", None)
            hub, loop = getattr(state, "hub", None), getattr(state, "loop", None)
            if hub is not None and loop is not None:
                loop.call_soon_threadsafe(hub.end_streams)
            super().handle_exit(sig, frame)

    return Server


def serve(db: str, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
          poll: float = 0.5, work_dir: str | None = None, log_level: str = "warning",
          on_ready: Any = None, broker: str | None = None) -> None:  # fmt: skip
    """Serve the runs of store ``db`` (an SQLite path, or any URL ``open_store``
    accepts) until interrupted; the runs it runs work in ``work_dir`` (default
    ``./graphflow-work/RUN_ID``). With ``broker`` (a Redis URL), the runs it starts or
    answers are enqueued for ``graphflow worker`` processes sharing the store instead
    (:class:`~graphflow.serve.queue.QueueDispatcher`).

    Raises:
        ServeRefused: a non-loopback ``host`` without a token, or an address that cannot
            be listened on (``on_ready`` is called only once it is listened on, with the
            port bound).
        StoreError: the store cannot be opened.
        WorkersUnavailable: ``broker`` given, Celery not installed.
    """
    import uvicorn

    from graphflow.serve.app import create_app
    from graphflow.store import open_store

    token = token or os.environ.get(TOKEN_VARIABLE) or None
    check_bind(host, token)
    sock = listen_socket(host, port)
    try:
        store, owned = open_store(db)
    except BaseException:
        sock.close()
        raise
    try:
        dispatcher = None
        if broker:
            from graphflow.serve.queue import QueueDispatcher

            dispatcher = QueueDispatcher(db, broker)
        app = create_app(store, dispatcher=dispatcher, token=token, poll=poll,
                         work_dir=work_dir)  # fmt: skip
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                proxy_headers=False, server_header=False,
                                timeout_graceful_shutdown=2)  # fmt: skip
        server = _server_class()(config)
        if on_ready is not None:
            on_ready(host, sock.getsockname()[1])
        server.run(sockets=[sock])
    finally:
        sock.close()
        if owned:
            store.close()


def listen_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (``0``: any free port), before anything says
    the server is up.

    Raises:
        ServeRefused: the address cannot be listened on (the port is taken, the host is
            not an address of this machine …).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise ServeRefused(f"cannot listen on --host {host}: {exc.strerror or exc}; give an "
                           "address of this machine, e.g. 127.0.0.1") from None  # fmt: skip
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        shown = f"[{host}]" if ":" in host else host
        raise ServeRefused(f"cannot listen on {shown}:{port}: {exc.strerror or exc}; another "
                           "server may be using the port: stop it, or choose another with "
                           "--port") from None  # fmt: skip
    sock.set_inheritable(True)
    return sock
