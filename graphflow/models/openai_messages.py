"""A request's messages, already in the OpenAI chat shape, with their token estimate.

Agents build the messages of each model request from the whole conversation. Doing so
from scratch every turn makes a turn cost grow with the conversation; instead, an agent
keeps its converted messages and their token estimates and adds only what is new (see
:mod:`graphflow.agents.views`), and hands the model an :class:`OpenAIMessages`: an
immutable sequence of OpenAI-shaped dicts that the model layer neither converts nor
checks again, whose prompt-token estimate is known
(:func:`~graphflow.models.usage.estimate_prompt_tokens` reads it instead of scanning
every message), and which is built without copying the conversation: it reads the
agent's converted messages, which only ever grow, up to their length when it was built.

The dicts are shared with the requests of later turns: read them, never change them.

Example:
    >>> body = [{"role": "user", "content": "Hello, world!"}]
    >>> view = OpenAIMessages.build([{"role": "system", "content": "Be brief"}], body)
    >>> body.append({"role": "user", "content": "later"})  # a later turn's message
    >>> len(view), view[-1]["content"], view.prompt_tokens
    (2, 'Hello, world!', 15)
    >>> from graphflow.models.usage import estimate_prompt_tokens
    >>> view.prompt_tokens == estimate_prompt_tokens(list(view))
    True
    >>> asked = view.plus({"role": "user", "content": "Who speaks next?"})
    >>> len(asked), asked.prompt_tokens
    (3, 22)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from graphflow.models.usage import message_tokens

__all__ = ["OpenAIMessages"]

_Item = dict[str, Any]


class OpenAIMessages(Sequence[_Item]):
    """OpenAI-shaped message dicts, checked, with their prompt-token estimate (see the
    module docs). Build one with :meth:`build`; compare it with a list, index it, slice
    it (a slice is a list) or ``list()`` it like any sequence.

    Attributes:
        prompt_tokens: the prompt-token estimate of the messages (what
            :func:`~graphflow.models.usage.estimate_prompt_tokens` returns for them).
    """

    __slots__ = ("__weakref__", "_body", "_count", "_head", "_tail", "prompt_tokens")

    def __init__(self, head: Sequence[_Item], body: Sequence[_Item], count: int,
                 tail: Sequence[_Item], prompt_tokens: int) -> None:  # fmt: skip
        self._head = head
        self._body = body
        self._count = count
        self._tail = tail
        self.prompt_tokens = prompt_tokens

    @classmethod
    def build(cls, head: Sequence[_Item], body: Sequence[_Item], tail: Sequence[_Item] = (),
              *, body_tokens: int | None = None) -> OpenAIMessages:  # fmt: skip
        """``head + body + tail``, in the OpenAI shape already. ``body`` is not copied:
        it may grow later (never change otherwise), and the messages keep its first
        ``len(body)`` items. ``body_tokens`` is the sum of
        :func:`~graphflow.models.usage.message_tokens` over ``body`` when the caller
        keeps it (computed here otherwise)."""
        if body_tokens is None:
            body_tokens = sum(message_tokens(m) for m in body)
        tokens = (3 + body_tokens + sum(message_tokens(m) for m in head)
                  + sum(message_tokens(m) for m in tail))  # fmt: skip
        return cls(tuple(head), body, len(body), tuple(tail), tokens)

    def plus(self, *items: Mapping[str, Any]) -> OpenAIMessages:
        """A new request: these messages followed by ``items`` (checked and converted
        like any message the model layer receives).

        Raises:
            ModelError: an item is not a chat message.
        """
        from graphflow.models.response import to_openai_messages

        extra = list(to_openai_messages(list(items)))
        tokens = self.prompt_tokens + sum(message_tokens(m) for m in extra)
        return OpenAIMessages(self._head, self._body, self._count, (*self._tail, *extra),
                              tokens)  # fmt: skip

    def __len__(self) -> int:
        return len(self._head) + self._count + len(self._tail)

    @overload
    def __getitem__(self, index: int) -> _Item: ...

    @overload
    def __getitem__(self, index: slice) -> list[_Item]: ...

    def __getitem__(self, index: int | slice) -> _Item | list[_Item]:
        if isinstance(index, slice):
            start, stop, stride = index.indices(len(self))
            if stride != 1:
                return list(self)[index]
            return self._range(start, stop)
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("message index out of range")
        if index < len(self._head):
            return self._head[index]
        index -= len(self._head)
        if index < self._count:
            return self._body[index]
        return self._tail[index - self._count]

    def _range(self, start: int, stop: int) -> list[_Item]:
        """Items ``start`` to ``stop`` (within bounds), read from the parts without
        walking the ones before ``start``."""
        head, count = len(self._head), self._count
        out = list(self._head[start:stop])
        lo, hi = max(start - head, 0), min(max(stop - head, 0), count)
        if lo < hi:
            out.extend(self._body[lo:hi])
        lo, hi = max(start - head - count, 0), max(stop - head - count, 0)
        if lo < hi:
            out.extend(self._tail[lo:hi])
        return out

    def shared_prefix(self, other: object) -> int:
        """How many leading messages these share with ``other`` by construction: views
        built on the same growing body after the same head share the head and the
        shorter one's body (a later turn's view extends an earlier one); anything else
        shares none as far as this can tell (it never compares contents).

        Example:
            >>> body = [{"role": "user", "content": "a"}]
            >>> first = OpenAIMessages.build([{"role": "system", "content": "s"}], body)
            >>> body.append({"role": "user", "content": "b"})
            >>> later = OpenAIMessages.build([{"role": "system", "content": "s"}], body)
            >>> later.shared_prefix(first), later.shared_prefix([])
            (2, 0)
        """
        if not isinstance(other, OpenAIMessages) or other._body is not self._body:
            return 0
        if other._head is not self._head and other._head != self._head:
            return 0
        return len(self._head) + min(self._count, other._count)

    def __iter__(self) -> Iterator[_Item]:
        body = self._body if len(self._body) == self._count else \
            itertools.islice(self._body, self._count)  # fmt: skip
        return itertools.chain(self._head, body, self._tail)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Sequence[_Item]) -> list[_Item]:
        return [*self, *other]

    def __radd__(self, other: Sequence[_Item]) -> list[_Item]:
        return [*other, *self]

    def __repr__(self) -> str:
        return f"OpenAIMessages({list(self)!r})"
