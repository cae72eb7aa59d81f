"""The conversation of a run: its messages in order, read from the run store when first
used.

:class:`Conversation` is what ``State.messages`` and ``RunResult.messages`` hold during
and after a run. It behaves as a list of :class:`~graphflow.messages.Message` (index,
slice, iterate, ``len``, ``==`` with a list, ``+``), with two differences that keep long
runs cheap:

- **It may start partly loaded.** A resumed run's conversation knows how many messages
  the run has and holds its last few; the rest is read from the store the first time
  something needs it (an index before the loaded tail, iteration, a slice that reaches
  back). ``len()``, ``[-1]`` and walking back from the end (``reversed``) over the loaded
  tail read nothing. So resuming and finishing a run cost what the next step reads, not
  the length of the run.
- **It is append-only as far as derived data is concerned.** Layers that derive data
  from the messages (an agent's view of the conversation, see
  :mod:`graphflow.agents.views`) keep it in :attr:`Conversation.caches` and extend it
  with the messages appended since. Any change other than appending at the end (deleting
  the last messages when a step is rolled back, replacing or inserting one) bumps
  :attr:`Conversation.epoch`, which tells those caches to start over. Messages are
  frozen, so a message already in the conversation never changes.

Example:
    >>> from graphflow.messages import Message
    >>> convo = Conversation([Message(role="user", content="hi")])
    >>> convo.append(Message(content="hello"))
    >>> len(convo), convo[-1].content, convo == [convo[0], convo[1]]
    (2, 'hello', True)
    >>> lazy = Conversation.lazy(3, [Message(content="c")], lambda: [
    ...     Message(content="a"), Message(content="b"), Message(content="c")])
    >>> lazy[-1].content, lazy.loaded
    ('c', False)
    >>> [m.content for m in lazy], lazy.loaded
    (['a', 'b', 'c'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from typing import Any, overload

from graphflow.errors import StoreCorrupt
from graphflow.messages import Message

__all__ = ["Conversation", "MessageLoader"]

#: Returns the messages a partly loaded conversation has not loaded yet: all the
#: messages it started with, in order.
MessageLoader = Callable[[], Sequence[Message]]


class Conversation(MutableSequence[Message]):
    """A run's messages, in order; see the module docs.

    Args:
        messages: the messages it starts with (all loaded).

    Attributes:
        caches: data other layers derive from the messages, by their own keys; each
            entry records the :attr:`epoch` it was built for.
    """

    __slots__ = ("__weakref__", "_first", "_head", "_items", "_load", "_start", "caches",
                 "epoch")  # fmt: skip

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        #: every message, once loaded; the loaded tail while not
        self._items: list[Message] = list(messages)
        #: index of ``_items[0]`` in the conversation (> 0 only while partly loaded)
        self._start = 0
        #: how many messages the loader returns (the messages the run started with)
        self._head = 0
        self._load: MessageLoader | None = None
        #: the first message, when known while partly loaded (an agent's task)
        self._first: Message | None = None
        #: bumped by every change that is not an append at the end
        self.epoch = 0
        self.caches: dict[Any, Any] = {}

    @classmethod
    def lazy(cls, count: int, tail: Sequence[Message], load: MessageLoader, *,
             first: Message | None = None) -> Conversation:  # fmt: skip
        """A conversation of ``count`` messages of which only the last ones, ``tail``,
        (and the ``first``, when given) are in memory; ``load()`` returns all ``count``
        when they are needed.

        Raises:
            ValueError: ``tail`` holds more than ``count`` messages.
        """
        if len(tail) > count:
            raise ValueError(f"a tail of {len(tail)} messages cannot end {count} messages")
        convo = cls(tail)
        if len(tail) < count:
            convo._start = count - len(tail)
            convo._head = count
            convo._load = load
            convo._first = first
        return convo

    # ---- loading --------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether every message is in memory."""
        return self._load is None

    def _all(self) -> list[Message]:
        """Every message (reading the unloaded ones first)."""
        load = self._load
        if load is not None:
            head = list(load())
            if len(head) != self._head:
                raise StoreCorrupt(
                    f"the run's stored conversation has {len(head)} messages where "
                    f"{self._head} were committed; the database changed under the run"
                )
            self._items = head[: self._start] + self._items
            self._start = 0
            self._load = None
            self._first = None
        return self._items

    def load(self) -> Conversation:
        """Read the messages not in memory yet (a no-op once loaded); returns ``self``."""
        self._all()
        return self

    # ---- reading --------------------------------------------------------------------

    def __len__(self) -> int:
        return self._start + len(self._items)

    @overload
    def __getitem__(self, index: int) -> Message: ...

    @overload
    def __getitem__(self, index: slice) -> list[Message]: ...

    def __getitem__(self, index: int | slice) -> Message | list[Message]:
        if isinstance(index, slice):
            if self._start:
                wanted = range(*index.indices(len(self)))
                if not wanted:
                    return []
                if min(wanted[0], wanted[-1]) >= self._start:  # within the loaded tail
                    return [self._items[i - self._start] for i in wanted]
            return self._all()[index]
        if index < 0:
            index += len(self)
        if index < 0:
            raise IndexError("conversation index out of range")
        if index >= self._start:
            return self._items[index - self._start]
        if index == 0 and self._first is not None:
            return self._first
        return self._all()[index]

    def __iter__(self) -> Iterator[Message]:
        return iter(self._all())

    def __reversed__(self) -> Iterator[Message]:
        """From the last message back; reads the unloaded messages only when the walk
        reaches them."""
        yield from reversed(self._items)
        if self._start:
            start = self._start
            yield from reversed(self._all()[:start])

    def __contains__(self, value: object) -> bool:
        return value in self._all()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Conversation):
            return len(self) == len(other) and self._all() == other._all()
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            items = other if isinstance(other, list) else list(other)
            return len(self) == len(other) and self._all() == items
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Iterable[Message]) -> list[Message]:
        return [*self._all(), *other]

    def __radd__(self, other: Iterable[Message]) -> list[Message]:
        return [*other, *self._all()]

    def copy(self) -> list[Message]:
        """The messages as a new list (``list.copy``)."""
        return list(self._all())

    def __repr__(self) -> str:
        count = len(self)
        if not count:
            return "Conversation([])"
        last = self._items[-1] if self._items else None
        about = "" if last is None else f", last: {last.role} {_short(last.content)}"
        return f"Conversation(<{count} message{'s' if count != 1 else ''}{about}>)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Conversation, (self._all(),))

    # ---- changing -------------------------------------------------------------------

    def append(self, value: Message) -> None:
        self._items.append(value)

    def extend(self, values: Iterable[Message]) -> None:
        self._items.extend(values)

    def __iadd__(self, values: Iterable[Message]) -> Conversation:
        self.extend(values)
        return self

    @overload
    def __setitem__(self, index: int, value: Message) -> None: ...

    @overload
    def __setitem__(self, index: slice, value: Iterable[Message]) -> None: ...

    def __setitem__(self, index: int | slice, value: Any) -> None:
        self._all()[index] = value
        self.epoch += 1

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice) and self._start and index.step in (None, 1):
            first, stop, _ = index.indices(len(self))
            if first >= self._start and stop == len(self):  # the last messages only
                del self._items[first - self._start :]
                self.epoch += 1
                return
        del self._all()[index]
        self.epoch += 1

    def insert(self, index: int, value: Message) -> None:
        if index >= len(self):
            self.append(value)
            return
        self._all().insert(index, value)
        self.epoch += 1


def _short(text: str | None, limit: int = 40) -> str:
    text = " ".join((text or "").split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}")
