"""Nested chats (AutoGen's ``register_nested_chats``): a node whose reply is produced by
running an inner chat and summarizing it.

The node is a ``subgraph`` node: the message it receives starts an inner run (a run of
its own in the same store, id ``RUN.NODE.VISIT``), and the inner run's last message —
the last chat's summary for a sequence of chats — comes back as the node's reply. The
diagram draws the inner graph as a cluster inside the outer one.

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

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from graphflow.builder import Graph
from graphflow.spec import GraphSpec

__all__ = ["add_nested_chat", "nested_chat"]


def _inner_graph(inner: Any, models: Any) -> Any:
    from graphflow.patterns.sequential import sequential_chats

    if isinstance(inner, Sequence) and not isinstance(inner, (str, bytes)):
        inner = sequential_chats(inner, name="nested_chats", models=models)
    if isinstance(inner, Graph):
        inner = inner.to_spec()
    if isinstance(inner, GraphSpec):
        return inner.to_file()
    return inner


def nested_chat(
    inner: Any,
    *,
    input: str = "last.content",
    output: Literal["last", "all", "none"] = "last",
    variables: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    models: Any = None,
) -> dict[str, Any]:
    """The options of a nested-chat node.

    Args:
        inner: the inner chat: a builder :class:`~graphflow.Graph`, a ``GraphSpec``, a
            compiled graph, a graph file path, an inline graph mapping, or a list of
            chats (see :func:`~graphflow.patterns.sequential_chats`; the first may leave
            out its message to start from the received one).
        input: expression for the inner chat's first message (default: the message the
            node received).
        output: which inner messages come back: the ``last`` (the reply), ``all``, or
            ``none``.
        variables: inner variable → expression on the outer state.
        outputs: outer variable ← inner variable.
        models: a ``models:`` section for a list of chats (an inner graph without a
            ``models:`` section uses the enclosing run's models).

    Returns:
        Options for ``graph.add_node(node_id, **options)``.
    """
    options: dict[str, Any] = {"kind": "subgraph", "graph": _inner_graph(inner, models),
                               "input": input, "output": output}  # fmt: skip
    if variables:
        options["variables"] = dict(variables)
    if outputs:
        options["outputs"] = dict(outputs)
    return options


def add_nested_chat(graph: Graph, node_id: str, inner: Any, *, description: str | None = None,
                    **options: Any) -> Graph:  # fmt: skip
    """Add a nested-chat node ``node_id`` to ``graph`` (see :func:`nested_chat`)."""
    models = options.pop("models", None)
    spec = nested_chat(inner, models=models, **options)
    kind = spec.pop("kind")
    return graph.add_node(node_id, kind=kind, description=description, **spec)
