"""The OpenAI chat-completions wire format, as the test server writes it: whole
completions, streamed chunks (server-sent events) and error bodies."""

from __future__ import annotations

import time
from typing import Any

from graphflow.messages import Message
from graphflow.models.streaming import split_text

__all__ = ["completion_body", "error_body", "stream_chunks", "usage_body"]


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """The ``usage`` object of a completion."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _finish_reason(message: Message) -> str:
    return "tool_calls" if message.tool_calls else "stop"


def completion_body(
    message: Message, *, model: str, completion_id: str, usage: dict[str, Any]
) -> dict[str, Any]:
    """A whole (non-streamed) chat completion answering with ``message``."""
    body: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        body["tool_calls"] = message.tool_calls
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": body,
                "finish_reason": _finish_reason(message),
                "logprobs": None,
            }
        ],
        "usage": usage,
    }


def stream_chunks(
    message: Message,
    *,
    model: str,
    completion_id: str,
    usage: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """The chunks of a streamed completion: the role, content word by word, each tool
    call (id and name first, then its arguments in pieces), the finish reason and, when
    ``usage`` is given, a last chunk with no choices that carries it."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in split_text(message.content or "")]
    for index, call in enumerate(message.tool_calls or ()):
        function = call["function"]
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": function["name"], "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [head]}))
        arguments = function.get("arguments", "")
        for start in range(0, len(arguments), 8):
            piece = {"index": index, "function": {"arguments": arguments[start : start + 8]}}
            chunks.append(chunk({"tool_calls": [piece]}))
    chunks.append(chunk({}, _finish_reason(message)))
    if usage is not None:
        chunks.append(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    return chunks


def error_body(status: int, message: str) -> dict[str, Any]:
    """An OpenAI-style error body."""
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
