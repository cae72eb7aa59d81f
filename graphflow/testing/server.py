"""An OpenAI-compatible HTTP server on 127.0.0.1 that answers from a script.

It serves ``POST /v1/chat/completions`` (whole and streamed answers, tool calls, usage;
any path ending in ``/chat/completions`` is accepted, so Azure-style deployment URLs work
too), ``GET /v1/models`` and ``POST /v1/embeddings`` (a lexical hashing embedding,
:mod:`graphflow.testing.embeddings`), so tests and benchmarks drive the real clients over
real HTTP. Faults are injected per request: a queue (:meth:`ModelServer.inject`), a
standing fault (:meth:`ModelServer.fail_always`), or rules of the script. Requests are
counted server-side (:attr:`ModelServer.requests`).

Example:
    >>> import json, urllib.request
    >>> with ModelServer(script=["Hello!"]) as server:
    ...     request = urllib.request.Request(
    ...         server.base_url + "/chat/completions", method="POST",
    ...         data=json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode(),
    ...         headers={"Content-Type": "application/json"})
    ...     body = json.load(urllib.request.urlopen(request))
    ...     body["choices"][0]["message"]["content"], server.requests
    ('Hello!', 1)
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Sequence
from http.server import ThreadingHTTPServer
from typing import Any

from graphflow.models.config import ModelConfig
from graphflow.models.reply_script import Script, ScriptRequest
from graphflow.models.retry import RetryPolicy
from graphflow.testing.faults import Fault, FaultScript

__all__ = ["FAST_RETRY", "ModelServer", "ScriptLike", "server_config"]

#: Backoff of a millisecond or two, so retry tests take no time.
FAST_RETRY = RetryPolicy(initial=0.001, maximum=0.004, jitter=0.0)

ScriptLike = Script | Sequence[Any] | Callable[[ScriptRequest], Any] | dict[str, Any] | str


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    owner: ModelServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client drops its connection; report anything else."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ModelServer:
    """A scripted, OpenAI-compatible chat server in a background thread.

    Args:
        script: a :class:`~graphflow.models.reply_script.Script`, a list of replies, a
            function of a :class:`~graphflow.models.reply_script.ScriptRequest`, a script
            mapping, or the path of a YAML/JSON script file (rules may inject faults, as
            in a :class:`~graphflow.testing.faults.FaultScript`).
        host: the address to bind (keep 127.0.0.1).
        port: the port; 0 picks a free one.
        latency: seconds every answer is delayed.
        stream_delay: seconds between streamed chunks.
        api_key: when set, requests must carry ``Authorization: Bearer <api_key>``.
        models: names listed by ``/v1/models`` (requested names are added as seen,
            unless ``only_models``).

    Behaviours of third-party servers and proxies, to reproduce in tests (off by default):

    Args:
        only_models: serve only the ``models`` listed; another name is answered
            ``model_not_found`` with HTTP ``unknown_model_status`` (404 as OpenAI, or 400
            as LiteLLM's proxy does).
        usage_cost: report this cost (US dollars) in each answer's ``usage.cost``, as
            OpenRouter and LiteLLM do.
        cost_header: report this cost in the ``x-litellm-response-cost`` header of each
            answer, as LiteLLM's proxy does.
        refuse_stream_options: answer a request that carries ``stream_options`` with
            HTTP 400, as some servers do.
    """

    def __init__(
        self,
        script: ScriptLike = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        stream_delay: float = 0.0,
        api_key: str | None = None,
        models: Sequence[str] = ("scripted",),
        only_models: bool = False,
        unknown_model_status: int = 404,
        usage_cost: float | None = None,
        cost_header: float | None = None,
        refuse_stream_options: bool = False,
    ) -> None:
        self.script = _as_script(script)
        self.host = host
        self.port = port
        self.latency = latency
        self.stream_delay = stream_delay
        self.api_key = api_key
        self.models = list(models)
        self.only_models = only_models
        self.unknown_model_status = unknown_model_status
        self.usage_cost = usage_cost
        self.cost_header = cost_header
        self.refuse_stream_options = refuse_stream_options
        self.requests = 0
        self.request_log: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.stopping = threading.Event()
        self._faults: list[Fault] = []
        self._always: Fault | None = None
        self._lock = threading.Lock()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.connections: set[Any] = set()

    # ---- lifecycle ------------------------------------------------------------------

    def start(self) -> ModelServer:
        """Bind and serve in a background thread; returns ``self``."""
        from graphflow.testing.http_handler import ChatHandler

        if self._server is not None:
            return self
        self.stopping.clear()
        server = _HTTPServer((self.host, self.port), ChatHandler)
        server.owner = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"model-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake held requests and drop open connections."""
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self.connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(2)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server, e.g. ``http://127.0.0.1:43121/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    # ---- faults and counters ----------------------------------------------------------

    def inject(self, *faults: Fault | str | int, model: str | None = None) -> None:
        """Queue faults: each following request (for ``model``, if given) takes the first
        queued fault that applies to it, in order."""
        parsed = [Fault.parse(f) for f in faults]
        with self._lock:
            self._faults.extend(f.for_model(model) if model else f for f in parsed)

    def fail_always(self, fault: Fault | str | int | None, *, model: str | None = None) -> None:
        """Apply ``fault`` to every request (for ``model``, if given); ``None`` clears it."""
        parsed = None if fault is None else Fault.parse(fault)
        with self._lock:
            self._always = parsed.for_model(model) if parsed and model else parsed

    def next_fault(self, model: str | None) -> Fault | None:
        """Take the fault for the next request to ``model`` (used by the handler)."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.applies_to(model):
                    return self._faults.pop(index)
            if self._always is not None and self._always.applies_to(model):
                return self._always
        return None

    def record(self, body: dict[str, Any], path: str = "/v1/chat/completions") -> int:
        """Count a chat request and keep its body and path; returns its number from 1."""
        with self._lock:
            self.requests += 1
            self.request_log.append(body)
            self.paths.append(path)
            model = body.get("model")
            if isinstance(model, str) and model not in self.models and not self.only_models:
                self.models.append(model)
            return self.requests

    def requests_for(self, model: str) -> int:
        """How many chat requests asked for ``model``."""
        with self._lock:
            return sum(1 for body in self.request_log if body.get("model") == model)

    def reset(self) -> None:
        """Forget counted requests, queued faults and the script's position."""
        with self._lock:
            self.requests = 0
            self.request_log.clear()
            self.paths.clear()
            self._faults.clear()
            self._always = None
        self.script.reset()


def server_config(server: ModelServer, model: str = "scripted", **options: Any) -> ModelConfig:
    """A config for ``server`` with test-friendly defaults (2 s timeout, 2 retries).

    Example:
        >>> server_config(ModelServer(port=8808), timeout=5).base_url
        'http://127.0.0.1:8808/v1'
    """
    values: dict[str, Any] = {"timeout": 2.0, "max_retries": 2, **options}
    return ModelConfig(model=model, base_url=server.base_url, **values)


def _as_script(script: ScriptLike) -> Script:
    if isinstance(script, Script):
        return script
    if callable(script):
        return FaultScript(function=script)
    if isinstance(script, (dict, str)):
        return FaultScript.from_data(script)
    return FaultScript(list(script))
