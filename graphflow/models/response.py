"""What every model answers with (:class:`ModelResponse`, the one answer type from the
endpoint to the node) and the interface every model offers (:class:`ChatModel`): the
OpenAI-backed client and the scripted model alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from graphflow.errors import ModelError
from graphflow.messages import Message
from graphflow.models.openai_messages import OpenAIMessages
from graphflow.models.usage import Usage

__all__ = [
    "ChatModel",
    "MessageLike",
    "ModelResponse",
    "ResponseFormat",
    "response_format_dict",
    "to_openai_messages",
]

MessageLike = Message | Mapping[str, Any]
ResponseFormat = Mapping[str, Any] | type[BaseModel]


@dataclass(frozen=True)
class ModelResponse:
    """One model answer: what every model returns, what the response cache keeps and what
    a run's journal records (so a re-executed node replays it instead of asking again).

    Attributes:
        message: the assistant message (content and/or OpenAI-shaped ``tool_calls``).
        usage: this call's :class:`~graphflow.models.usage.Usage` (one call; a cache hit
            counts under ``cached_*`` and costs nothing).
        finish_reason: ``stop``, ``tool_calls``, ``length`` … as the endpoint reported.
        raw: the endpoint's completion as a dict (``None`` for streamed, scripted and
            journaled answers).
        model: the model that answered (as the endpoint named it).
        base_url: the endpoint that answered (``None`` for in-process models).

    Example:
        >>> answer = ModelResponse(Message(role="assistant", content="hi"),
        ...                        Usage.of_call(5, 1, model="m"), "stop", model="m")
        >>> again = ModelResponse.from_record(answer.to_record())
        >>> again == answer, again.text, again.cached
        (True, 'hi', False)
    """

    message: Message
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    raw: dict[str, Any] | None = field(default=None, compare=False)
    model: str = ""
    base_url: str | None = None

    @property
    def text(self) -> str:
        """The answer's content ('' when it only calls tools)."""
        return self.message.content or ""

    @property
    def cached(self) -> bool:
        """Whether the answer came from the response cache."""
        return self.usage.cached

    def to_record(self) -> dict[str, Any]:
        """A compact JSON-ready dict for a run's journal; :meth:`from_record` reads it back.

        The usage of one call is written as that call's tokens, cost and ``cached`` flag
        (what :meth:`Usage.from_dict <graphflow.models.usage.Usage.from_dict>` reads as one
        call); any other usage as its full dict.
        """
        u = self.usage
        usage: dict[str, Any] = u.to_dict()
        if u.calls == 1 and list(u.models) == [self.model or "unknown"]:
            usage = {"prompt_tokens": u.prompt_tokens + u.cached_prompt_tokens,
                     "completion_tokens": u.completion_tokens + u.cached_completion_tokens,
                     "cost": u.cost + u.cached_cost if u.cost_known else None,
                     "cached": u.cached}  # fmt: skip
        record = {"message": self.message.to_record(), "usage": usage, "model": self.model,
                  "finish_reason": self.finish_reason, "base_url": self.base_url}  # fmt: skip
        return {k: v for k, v in record.items() if v is not None}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> ModelResponse:
        """Read a dict written by :meth:`to_record` (also records that hold only
        ``message`` and one call's ``usage``, as earlier versions journaled them)."""
        message = Message(**{k: v for k, v in data["message"].items() if k != "node"})
        usage = data.get("usage") or {}
        model = str(data.get("model") or usage.get("model") or "")
        if "calls" not in usage:  # one call: its model is the answer's
            usage = {**usage, "model": model}
        return cls(message, Usage.from_dict(usage), data.get("finish_reason"), model=model,
                   base_url=data.get("base_url") or usage.get("base_url"))  # fmt: skip

    def to_cache(self) -> dict[str, Any]:
        """The JSON-ready row the response cache keeps (no endpoint, no key): the answer,
        its tokens and, when known, its cost (what a replay would have cost)."""
        usage = self.usage
        return {
            "message": self.message.to_openai(),
            "finish_reason": self.finish_reason,
            "prompt_tokens": usage.prompt_tokens + usage.cached_prompt_tokens,
            "completion_tokens": usage.completion_tokens + usage.cached_completion_tokens,
            "cost": usage.cost + usage.cached_cost if usage.cost_known else None,
            "model": self.model,
            "raw": self.raw,
        }

    @classmethod
    def from_cache(
        cls, row: Mapping[str, Any], *, cost: float | None, base_url: str | None
    ) -> ModelResponse:
        """A response replayed from a cache row; ``cost`` is what it would have cost
        (``None``: unknown)."""
        model = str(row.get("model") or "")
        usage = Usage.of_call(int(row.get("prompt_tokens") or 0),
                              int(row.get("completion_tokens") or 0),
                              cost=cost, cached=True, model=model)  # fmt: skip
        message = Message.model_validate(row["message"])
        return cls(message, usage, row.get("finish_reason"), row.get("raw"),
                   model=model, base_url=base_url)  # fmt: skip


@runtime_checkable
class ChatModel(Protocol):
    """The interface of every model: :class:`~graphflow.models.client.ModelClient` and
    :class:`~graphflow.models.scripted_model.ScriptedModel`.

    ``cache_seed``: ``...`` uses the model's default, ``None`` bypasses the response
    cache, an integer selects a cache namespace (a different seed asks again).
    ``params`` overrides request options (``temperature``, ``max_tokens``, ``seed`` …).
    """

    usage: Usage

    async def complete(
        self,
        messages: Sequence[MessageLike],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        response_format: ResponseFormat | None = None,
        stream: bool = False,
        on_token: Callable[[str], None] | None = None,
        cache_seed: int | EllipsisType | None = ...,
        params: Mapping[str, Any] | None = None,
    ) -> ModelResponse: ...

    async def aclose(self) -> None: ...


def to_openai_messages(messages: Sequence[MessageLike]) -> Sequence[dict[str, Any]]:
    """Messages in the OpenAI chat shape (``node`` dropped, names made API-safe).

    An :class:`~graphflow.models.openai_messages.OpenAIMessages` (an agent's view of the
    conversation) is in that shape already and is returned as it is, neither copied,
    converted nor checked again; anything else gives a new list.

    Raises:
        ModelError: an item is neither a Message nor a valid message mapping.

    Example:
        >>> to_openai_messages([{"role": "user", "content": "hi"}])
        [{'role': 'user', 'content': 'hi'}]
    """
    if isinstance(messages, OpenAIMessages):
        return messages
    out: list[dict[str, Any]] = []
    for index, item in enumerate(messages):
        if isinstance(item, Mapping):
            try:
                item = Message.model_validate(dict(item))
            except ValidationError as exc:
                raise ModelError(
                    f"messages[{index}] is not a chat message ({exc.errors()[0]['msg']}); "
                    "pass graphflow Message objects or {role, content} mappings"
                ) from None
        if not isinstance(item, Message):
            raise ModelError(
                f"messages[{index}] is a {type(item).__name__}, not a Message; "
                "pass graphflow Message objects or {role, content} mappings"
            )
        out.append(item.to_openai())
    return out


def response_format_dict(response_format: ResponseFormat | None) -> dict[str, Any] | None:
    """The ``response_format`` request field: a mapping as given, or a JSON-schema format
    built from a pydantic model class.

    Example:
        >>> from pydantic import BaseModel
        >>> class Verdict(BaseModel):
        ...     approved: bool
        >>> response_format_dict(Verdict)["json_schema"]["name"]
        'Verdict'
    """
    if response_format is None:
        return None
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):
        return {
            "type": "json_schema",
            "json_schema": {
                "name": response_format.__name__,
                "schema": response_format.model_json_schema(),
            },
        }
    if isinstance(response_format, Mapping):
        return dict(response_format)
    raise ModelError(
        f"response_format must be a mapping such as {{'type': 'json_object'}} or a pydantic "
        f"model class, not {type(response_format).__name__}"
    )
