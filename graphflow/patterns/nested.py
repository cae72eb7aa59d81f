"""Nested chats (AutoGen's ``register_nested_chats``): a node whose reply is produced by
running an inner chat and summarizing it.

The node is a ``subgraph`` node: the message it receives starts an inner run (a run of
its own in the same store, id ``RUN.NODE.VISIT``), and the reply is the inner chat's
summary — for a single chat its last message without ``TERMINATE`` (AutoGen's
``last_msg``, so a ``TERMINATE`` said inside never ends the outer chat), for a sequence
of chats the last chat's summary — said under the node's own name, as AutoGen's
recipient answers with the summary of the chats it ran. The diagram draws the inner
graph as a cluster inside the outer one.

Example:
    >>> from graphflow import Graph
    >>> inner = Graph("review", entry="reviewer")
    >>> _ = inner.add_node("reviewer", kind="agent", system_message="Review the text.")
    >>> outer = Graph("writing", entry="writer")
    >>> _ = outer.add_node("writer", kind="agent")
    >>> _ = add_nested_chat(outer, "critic", inner)
    >>> _ = outer.add_node("done", kind="end")
    >>> _ = outer.add_edge("writer", "critic").add_edge("critic", "done")
    >>> outer.compile().nodes["critic"].kind
    'subgraph'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from graphflow.builder import Graph
from graphflow.messages import State
from graphflow.spec import GraphSpec

__all__ = ["add_nested_chat", "nested_chat"]


def _chat_list(inner: Any) -> list[Any] | None:
    if isinstance(inner, Sequence) and not isinstance(inner, (str, bytes)):
        from graphflow.patterns.sequential import _as_chat

        return [_as_chat(c, i) for i, c in enumerate(inner)]
    return None


def _inner_graph(inner: Any, models: Any, given: Sequence[str] = (),
                 summaries: Mapping[str, Callable[..., Any]] | None = None) -> Any:  # fmt: skip
    from graphflow.patterns.sequential import sequential_chats

    chats = _chat_list(inner)
    if chats is not None:
        inner = sequential_chats(chats, name="nested_chats", models=models,
                                 given_messages=given, summaries=summaries)  # fmt: skip
    if isinstance(inner, Graph):
        inner = inner.to_spec()
    if isinstance(inner, GraphSpec):
        return inner.to_file()
    return inner


def _messages_of(chats: list[Any]) -> Callable[[State], dict[str, Any]]:
    """The ``prepare`` of a nested sequence whose chats have callable messages: called
    with the outer state before the inner chats start (as AutoGen's
    ``_get_chats_to_run`` calls them all first); an empty result skips nothing here."""

    def prepare(state: State) -> dict[str, Any]:
        outer = [m.to_openai() for m in state.messages]
        out: dict[str, Any] = {}
        for index, chat in enumerate(chats):
            if callable(chat.message):
                cid = str(chat.chat_id) if chat.chat_id is not None else str(index)
                value = chat.message(chat.sender, chat.recipient,
                                     {"carryover": [], "messages": outer})  # fmt: skip
                if isinstance(value, Mapping):
                    value = value.get("content")
                out[f"message_{cid}"] = "" if value is None else str(value)
        return out

    return prepare


def nested_chat(
    inner: Any,
    *,
    input: str = "last.content",
    output: Literal["summary", "last", "all", "transcript", "none"] = "summary",
    variables: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    models: Any = None,
    name: str | None = None,
    input_name: str | None = None,
    summaries: Mapping[str, Callable[..., Any]] | None = None,
) -> dict[str, Any]:
    """The options of a nested-chat node.

    Args:
        inner: the inner chat: a builder :class:`~graphflow.Graph`, a ``GraphSpec``, a
            compiled graph, a graph file path, an inline graph mapping, or a list of
            chats (see :func:`~graphflow.patterns.sequential_chats`; the first may leave
            out its message to start from the received one; a callable message is
            called with ``(sender, recipient, {"carryover": [], "messages": [...]})``,
            the outer conversation as OpenAI dicts, before the inner chats start).
        input: expression for the inner chat's first message (default: the message the
            node received).
        output: what comes back as the node's reply: ``summary`` (the inner run's last
            message without ``TERMINATE``: a single chat's ``last_msg``, a sequence's
            last summary), ``last``, ``all``, ``transcript`` or ``none``.
        variables: inner variable → expression on the outer state.
        outputs: outer variable ← inner variable.
        models: a ``models:`` section for a list of chats (an inner graph without a
            ``models:`` section uses the enclosing run's models).
        name: the reply's speaker name (default: the inner speaker's).
        input_name: who says the inner chat's first message (default ``user``); for a
            list of chats each chat's sender says its first message.
        summaries: see :func:`~graphflow.patterns.sequential_chats`.

    Returns:
        Options for ``graph.add_node(node_id, **options)``.
    """
    chats = _chat_list(inner)
    given = [str(c.chat_id) if c.chat_id is not None else str(i)
             for i, c in enumerate(chats or []) if callable(c.message)]  # fmt: skip
    options: dict[str, Any] = {"kind": "subgraph",
                               "graph": _inner_graph(chats if chats is not None else inner,
                                                     models, given, summaries),
                               "input": input, "output": output}  # fmt: skip
    if variables:
        options["variables"] = dict(variables)
    if outputs:
        options["outputs"] = dict(outputs)
    if name:
        options["name"] = name
    if input_name:
        options["input_name"] = input_name
    if given and chats is not None:
        options["prepare"] = _messages_of(chats)
    return options


def add_nested_chat(graph: Graph, node_id: str, inner: Any, *, description: str | None = None,
                    **options: Any) -> Graph:  # fmt: skip
    """Add a nested-chat node ``node_id`` to ``graph`` (see :func:`nested_chat`); its
    reply is said under the name ``node_id`` unless ``name=`` says otherwise."""
    models = options.pop("models", None)
    options.setdefault("name", node_id)
    spec = nested_chat(inner, models=models, **options)
    kind = spec.pop("kind")
    return graph.add_node(node_id, kind=kind, description=description, **spec)
