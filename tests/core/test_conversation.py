"""Conversation: a list of messages that may start partly loaded, and tells derived
caches when it changed in a way other than an append."""

from __future__ import annotations

import copy
import pickle

import pytest

from graphflow.conversation import Conversation
from graphflow.errors import StoreCorrupt
from graphflow.messages import Message


def _messages(n: int) -> list[Message]:
    return [Message(content=f"m{i}") for i in range(n)]


class _Loader:
    """Returns the first messages and counts how often it was asked."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages
        self.calls = 0

    def __call__(self) -> list[Message]:
        self.calls += 1
        return list(self.messages)


def _lazy(n: int = 10, tail: int = 3) -> tuple[Conversation, _Loader, list[Message]]:
    everything = _messages(n)
    loader = _Loader(everything)
    return Conversation.lazy(n, everything[n - tail :], loader), loader, everything


def test_a_conversation_behaves_as_a_list() -> None:
    items = _messages(4)
    convo = Conversation(items[:2])
    convo.append(items[2])
    convo.extend([items[3]])
    assert len(convo) == 4 and list(convo) == items and convo == items and items == convo
    assert convo[1] is items[1] and convo[-1] is items[3] and convo[1:3] == items[1:3]
    assert list(reversed(convo)) == items[::-1]
    assert convo + [items[0]] == [*items, items[0]] and [items[0]] + convo == [items[0], *items]  # noqa: RUF005
    assert items[2] in convo and convo.index(items[2]) == 2 and convo.count(items[0]) == 1
    assert convo.copy() == items and isinstance(convo.copy(), list)
    assert convo != items[:3] and convo != "text"
    with pytest.raises(IndexError):
        convo[4]
    with pytest.raises(TypeError):
        hash(convo)


def test_length_last_and_the_tail_read_nothing() -> None:
    convo, loader, everything = _lazy()
    assert len(convo) == 10 and convo[-1] is everything[9] and convo[7] is everything[7]
    assert convo[-3:] == everything[7:] and convo[9:6:-1] == everything[9:6:-1]
    assert convo[20:] == [] and bool(convo)
    walked = reversed(convo)
    assert [next(walked) for _ in range(3)] == everything[9:6:-1]
    convo.append(Message(content="new"))
    assert len(convo) == 11 and convo[-1].content == "new"
    assert loader.calls == 0 and not convo.loaded
    assert "10 messages" not in repr(convo) and "11 messages" in repr(convo)


def test_reaching_back_reads_the_rest_once() -> None:
    convo, loader, everything = _lazy()
    convo.append(Message(content="new"))
    assert convo[0] is everything[0]
    assert loader.calls == 1 and convo.loaded
    assert [m.content for m in convo] == [f"m{i}" for i in range(10)] + ["new"]
    assert list(reversed(convo))[-1] is everything[0]
    assert convo[2:4] == everything[2:4] and loader.calls == 1


@pytest.mark.parametrize("touch", [
    lambda c: list(c), lambda c: c[0], lambda c: c[:5], lambda c: list(reversed(c)),
    lambda c: Message(content="zzz") in c, lambda c: c == [None] * 10, lambda c: c.copy(),
    lambda c: c + [], lambda c: pickle.dumps(c),  # noqa: RUF005
])  # fmt: skip
def test_whatever_needs_the_early_messages_reads_them(touch) -> None:
    convo, loader, _ = _lazy()
    touch(convo)
    assert loader.calls == 1


def test_a_loader_that_disagrees_with_the_count_is_damage() -> None:
    convo = Conversation.lazy(5, _messages(5)[3:], lambda: _messages(4))
    with pytest.raises(StoreCorrupt, match="4 messages where 5 were committed"):
        list(convo)
    with pytest.raises(ValueError):
        Conversation.lazy(1, _messages(2), lambda: [])


def test_appends_keep_the_epoch_other_changes_bump_it() -> None:
    convo = Conversation(_messages(3))
    convo.append(Message(content="x"))
    convo.extend(_messages(2))
    convo += _messages(1)
    convo.insert(len(convo), Message(content="end"))
    assert convo.epoch == 0
    changes = [lambda c: c.__delitem__(-1), lambda c: c.__setitem__(0, Message(content="y")),
               lambda c: c.insert(0, Message(content="z")), lambda c: c.pop(),
               lambda c: c.remove(c[0]), lambda c: c.reverse(), lambda c: c.clear()]  # fmt: skip
    for number, change in enumerate(changes, start=1):
        change(convo)
        assert convo.epoch >= number


def test_a_rollback_of_new_messages_reads_nothing() -> None:
    convo, loader, everything = _lazy()
    convo.extend(_messages(2))
    del convo[10:]  # the scheduler's undo of a step whose routing failed
    assert len(convo) == 10 and convo[-1] is everything[9] and convo.epoch == 1
    assert loader.calls == 0
    del convo[2:]  # reaches into the unloaded part
    assert list(convo) == everything[:2] and loader.calls == 1


def test_copies_and_pickles_are_loaded_lists_of_the_same_messages() -> None:
    convo, _, everything = _lazy()
    for other in (copy.copy(convo), copy.deepcopy(convo), pickle.loads(pickle.dumps(convo))):
        assert isinstance(other, Conversation) and other.loaded and other == everything


def test_the_repr_is_short() -> None:
    convo = Conversation([Message(role="user", content="x" * 500)] * 1000)
    assert repr(convo).startswith("Conversation(<1000 messages, last: user 'xxx")
    assert len(repr(convo)) < 100 and repr(Conversation()) == "Conversation([])"


def test_messages_are_frozen_so_a_message_in_a_conversation_never_changes() -> None:
    message = Message(content="fixed")
    with pytest.raises(Exception, match="frozen"):
        message.content = "changed"  # type: ignore[misc]


def test_a_known_first_message_is_read_without_loading() -> None:
    everything = _messages(10)
    loader = _Loader(everything)
    convo = Conversation.lazy(10, everything[7:], loader, first=everything[0])
    assert convo[0] is everything[0] and convo[-10] is everything[0] and loader.calls == 0
    assert convo[1] is everything[1] and loader.calls == 1
