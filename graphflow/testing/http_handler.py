"""The HTTP request handler of :class:`~graphflow.testing.server.ModelServer`."""

from __future__ import annotations

import contextlib
import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, cast

from graphflow.errors import GraphflowError
from graphflow.messages import Message
from graphflow.models.usage import estimate_prompt_tokens, estimate_tokens
from graphflow.testing.faults import Fault
from graphflow.testing.openai_wire import completion_body, error_body, stream_chunks, usage_body

if TYPE_CHECKING:
    from graphflow.testing.server import ModelServer

__all__ = ["ChatHandler"]


class ChatHandler(BaseHTTPRequestHandler):
    """Serves ``/v1/chat/completions`` and ``/v1/models`` from the owner's script."""

    protocol_version = "HTTP/1.1"
    server_version = "graphflow-model-server"
    timeout = 120

    @property
    def owner(self) -> ModelServer:
        return cast("ModelServer", self.server.owner)  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # the client may already have hung up
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.owner._lock:
            self.owner.connections.add(self.connection)

    def handle(self) -> None:
        """Serve the connection's requests; a client hanging up is not an error."""
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def finish(self) -> None:
        with self.owner._lock:
            self.owner.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""

    # ---- routes ---------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "graphflow"}
                for m in list(self.owner.models)
            ]
            self._json(200, {"object": "list", "data": data})
        elif path in ("", "/health"):
            self._json(200, {"status": "ok"})
        else:
            self._json(404, error_body(404, f"no route GET {path}; try /v1/models"))

    def _embeddings(self, raw: bytes) -> None:
        """``POST /v1/embeddings``: :func:`~graphflow.testing.embeddings.hashed_embedding`
        of each input, in OpenAI's shape."""
        from graphflow.testing.embeddings import hashed_embedding

        try:
            body = json.loads(raw or b"{}")
            inputs = body["input"]
            inputs = [inputs] if isinstance(inputs, str) else list(inputs)
            if not all(isinstance(text, str) for text in inputs):
                raise TypeError("input must be text or a list of texts")
        except (ValueError, KeyError, TypeError) as exc:
            self._json(400, error_body(400, f"invalid embeddings request: {exc}"))
            return
        data = [{"object": "embedding", "index": i, "embedding": hashed_embedding(text)}
                for i, text in enumerate(inputs)]  # fmt: skip
        tokens = sum(estimate_tokens(text) for text in inputs)
        self._json(200, {"object": "list", "data": data, "model": body.get("model", "hashed"),
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def do_POST(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path.endswith("/embeddings"):
            self._embeddings(raw)
            return
        if not path.endswith("/chat/completions"):
            self._json(404, error_body(404, f"no route POST {path}; use /v1/chat/completions"))
            return
        try:
            body = json.loads(raw or b"{}")
            messages = body["messages"]
            if not isinstance(messages, list):
                raise TypeError("messages must be a list")
        except (ValueError, KeyError, TypeError) as exc:
            self._json(400, error_body(400, f"invalid request body: {exc}"))
            return
        owner = self.owner
        number = owner.record(body, self.path)
        if owner.api_key is not None:
            sent = self.headers.get("Authorization", "")
            if sent != f"Bearer {owner.api_key}":
                self._json(401, error_body(401, "invalid API key"))
                return
        model = str(body.get("model") or "scripted")
        refusal = self._refusal(body, model)
        if refusal is not None:
            self._json(refusal[0], refusal[1])
            return
        fault = owner.next_fault(model)
        delay = owner.latency + (fault.seconds if fault and fault.kind == "latency" else 0.0)
        if delay and owner.stopping.wait(delay):
            return self._drop()
        if fault is None or fault.kind in ("latency", "zero_usage"):
            try:
                answer = owner.script.answer(
                    messages,
                    model=model,
                    tools=body.get("tools") or (),
                    params={k: v for k, v in body.items() if k not in ("messages", "tools")},
                )
            except GraphflowError as exc:
                self._json(400, error_body(400, str(exc)))
                return
            except Exception as exc:  # the script is user code: report, do not crash
                self._json(500, error_body(500, f"the script raised {type(exc).__name__}: {exc}"))
                return
            if isinstance(answer, Message):
                zero = fault is not None and fault.kind == "zero_usage"
                self._answer(body, answer, model, f"chatcmpl-{number}", zero_usage=zero)
                return
            if not isinstance(answer, Fault):  # another failure: report it as a server error
                self._json(500, error_body(500, str(answer.error(model))))
                return
            fault = answer
        self._fault(fault, body, model, f"chatcmpl-{number}")

    def _refusal(self, body: dict[str, Any], model: str) -> tuple[int, dict[str, Any]] | None:
        """What a stricter server answers before looking at the script: an unknown model,
        or ``stream_options`` it does not support."""
        owner = self.owner
        if owner.only_models and model not in owner.models:
            status = owner.unknown_model_status
            payload = error_body(status, f"The model `{model}` does not exist or you do not "
                                         "have access to it.")  # fmt: skip
            payload["error"].update(type="invalid_request_error", code="model_not_found")
            return status, payload
        if owner.refuse_stream_options and "stream_options" in body:
            payload = error_body(400, "Unrecognized request argument supplied: stream_options")
            payload["error"]["type"] = "invalid_request_error"
            return 400, payload
        return None

    # ---- answers --------------------------------------------------------------------

    def _answer(self, body: dict[str, Any], message: Message, model: str, cid: str,
                zero_usage: bool = False) -> None:  # fmt: skip
        prompt = estimate_prompt_tokens(body["messages"])
        completion = estimate_tokens(message.content) + sum(
            3 + estimate_tokens(c["function"]["arguments"]) for c in message.tool_calls or ()
        )
        usage: dict[str, Any] = dict(usage_body(0, 0) if zero_usage
                                     else usage_body(prompt, completion))  # fmt: skip
        if self.owner.usage_cost is not None:
            usage["cost"] = self.owner.usage_cost
        if not body.get("stream"):
            self._json(200, completion_body(message, model=model, completion_id=cid, usage=usage))
            return
        include = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = stream_chunks(
            message, model=model, completion_id=cid, usage=usage if include else None
        )
        self._stream(chunks)

    def _stream(self, chunks: list[dict[str, Any]], *, cut: bool = False) -> None:
        self.send_response(200)
        self._cost_header()
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        delay = self.owner.stream_delay
        try:
            for index, chunk in enumerate(chunks):
                if cut and index >= max(len(chunks) // 2, 1):
                    self.wfile.flush()
                    return self._drop()
                self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                if delay and self.owner.stopping.wait(delay):
                    return self._drop()
            self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _fault(self, fault: Fault, body: dict[str, Any], model: str, cid: str) -> None:
        if fault.kind == "status":
            self._json(fault.status, error_body(fault.status, fault.message))
        elif fault.kind == "timeout":
            self.owner.stopping.wait(fault.seconds)
            self._drop()
        elif fault.kind == "disconnect":
            self._drop()
        elif fault.kind == "malformed":
            self._send(
                200,
                b'{"id": "' + cid.encode() + b'", "object": "chat.completion", "choices": [{"ind',
            )
        elif fault.kind == "empty":
            empty = completion_body(
                Message(content=""), model=model, completion_id=cid, usage=usage_body(0, 0)
            )
            empty["choices"] = []
            self._json(200, empty)
        elif fault.kind == "content_filter":
            filtered = completion_body(Message(content=None), model=model, completion_id=cid,
                                       usage=usage_body(0, 0))  # fmt: skip
            filtered["choices"][0]["finish_reason"] = "content_filter"
            if body.get("stream"):
                self._stream([{**filtered, "object": "chat.completion.chunk",
                               "choices": [{"index": 0, "delta": {"role": "assistant"},
                                            "finish_reason": "content_filter"}]}])  # fmt: skip
            else:
                self._json(200, filtered)
        elif fault.kind == "truncate":
            message = Message(content="This answer will be cut off before it ends, mid-stream.")
            if body.get("stream"):
                self._stream(
                    stream_chunks(message, model=model, completion_id=cid, usage=None), cut=True
                )
            else:
                data = json.dumps(
                    completion_body(message, model=model, completion_id=cid, usage=usage_body(1, 1))
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self._drop()
        else:
            text = f"a {fault.kind} fault cannot answer a request by itself"
            self._json(500, error_body(500, text))

    # ---- plumbing -------------------------------------------------------------------

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode())

    def _cost_header(self) -> None:
        if self.owner.cost_header is not None:
            self.send_header("x-litellm-response-cost", repr(self.owner.cost_header))

    def _send(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            if status == 200:
                self._cost_header()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _drop(self) -> None:
        """Close the connection without (finishing) an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
