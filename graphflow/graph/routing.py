"""Routing: which nodes run after a step, as a pure function of the compiled graph, the
step's updates and the state after the step (no store, no scheduler, no side effects).

Per node of the step, in this order:

- an end node, or a node without outgoing edges, ends its branch;
- a node that names its successor in ``Update.goto`` (a router) goes there; the target
  must be one of its successors;
- a dynamic-routing node (a router) that names none is an error;
- unconditional edges mean fan-out: every target runs in the next step;
- conditional edges: the first whose condition holds wins, the else edge when none
  does; none at all is an error.

Conditions see the state after the whole step, with ``last`` focused on the routed
node's own last message, so a parallel branch cannot change another one's routing.

Joins: a target with ``join: all`` waits while another active branch (a node about to
run, or another waiting join) can still reach it; when only waiting joins are left,
they all run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from graphflow.errors import ConditionError, NoTransitionError
from graphflow.messages import State, Update

if TYPE_CHECKING:
    from graphflow.graph.compiled import CompiledGraph

__all__ = ["Routing", "next_frontier", "route", "successors"]


class Routing(NamedTuple):
    """Where a step leads (a fresh value: the caller may keep its lists).

    Attributes:
        frontier: the nodes of the next step, in order.
        waiting: ``join: all`` nodes that wait for other branches.
        via: for each node of the step that led somewhere, the targets it chose (what
            run overlays draw as the edges taken).
    """

    frontier: list[str]
    waiting: list[str]
    via: dict[str, list[str]]


def successors(graph: CompiledGraph, node_id: str, update: Update, state: State) -> list[str]:
    """The targets ``node_id`` leads to after returning ``update``.

    Args:
        graph: the compiled graph.
        node_id: a node that ran in the step.
        update: what it returned.
        state: the state after the step (its ``step`` is the step's number).

    Returns:
        The target node ids (empty when the branch ends here).

    Raises:
        NoTransitionError: no condition held and there is no else edge, a ``goto``
            names a node that is not a successor, or a router named no successor.
        ConditionError: a condition raised while being evaluated.

    Example:
        >>> from graphflow import Graph
        >>> g = Graph("r", entry="a", variables={"n": 2})
        >>> for name in ("a", "big", "small"):
        ...     _ = g.add_node(name, lambda s: None)
        >>> _ = g.add_edge("a", "big", when="state.n > 5").add_edge("a", "small", otherwise=True)
        >>> successors(g.compile(), "a", Update(), State(variables={"n": 2}))
        ['small']
    """
    edges = graph.out_edges[node_id]
    node = graph.nodes[node_id]
    step = state.step
    if not edges or node.impl.terminal:
        return []
    goto = update.goto
    if goto is not None:
        chosen = [goto] if isinstance(goto, str) else list(goto)
        allowed = {e.target for e in edges}
        bad = [t for t in chosen if t not in allowed]
        if bad:
            raise NoTransitionError(
                f"node {node_id!r} chose {bad[0]!r}, which is not one of its successors "
                f"({', '.join(sorted(allowed))}); add an edge {node_id} → {bad[0]}",
                step=step, node=node_id)  # fmt: skip
        return chosen
    if node.impl.dynamic_routing:
        raise NoTransitionError(f"node {node_id!r} did not choose a successor",
                                step=step, node=node_id)  # fmt: skip
    if not edges[0].conditional:
        return [e.target for e in edges]
    mine = update.messages
    view = state if not mine else State(state.messages, state.variables, state.visits,
                                        state.step, focus=mine[-1])  # fmt: skip
    for edge in edges:
        if edge.otherwise:
            return [edge.target]
        try:
            taken = edge.condition(view) if edge.condition else False
        except Exception as exc:
            raise ConditionError(
                f"edge {node_id} → {edge.target}: condition {edge.text!r} failed: "
                f"{type(exc).__name__}: {exc}; fix the expression",
                step=step, node=node_id) from None  # fmt: skip
        if taken:
            return [edge.target]
    conds = "; ".join(f"{e.target}: {e.text}" for e in edges)
    raise NoTransitionError(
        f"node {node_id!r}: no outgoing condition held ({conds}); add an edge "
        f"with `else: true`", step=step, node=node_id)  # fmt: skip


def next_frontier(graph: CompiledGraph, targets: Sequence[str],
                  waiting: Sequence[str] = ()) -> tuple[list[str], list[str]]:  # fmt: skip
    """Split ``targets`` (and the joins already ``waiting``) into the nodes that run
    next and the ``join: all`` nodes that keep waiting.

    Returns:
        ``(frontier, waiting)``: targets in first-seen order without repeats, then the
        joins that are ready; and the joins another active branch can still reach.

    Example:
        >>> from graphflow import Graph
        >>> g = Graph("j", entry="split")
        >>> for name in ("split", "a", "b1", "b2"):
        ...     _ = g.add_node(name, lambda s: None)
        >>> _ = g.add_node("join", lambda s: None, join="all")
        >>> _ = g.add_edge("split", "a").add_edge("split", "b1").add_edge("b1", "b2")
        >>> _ = g.add_edge("a", "join").add_edge("b2", "join")
        >>> next_frontier(g.compile(), ["join", "b2"])
        (['b2'], ['join'])
    """
    joins = graph.join_ancestors
    if not waiting and not joins:  # no join anywhere: the targets, each once
        return (list(targets) if len(targets) < 2 else list(dict.fromkeys(targets))), []
    ordered = list(dict.fromkeys(targets))
    runnable = [t for t in ordered if t not in joins]
    pending = list(dict.fromkeys([*waiting, *[t for t in ordered if t in joins]]))
    ready: list[str] = []
    still: list[str] = []
    for j in pending:
        others = [n for n in (*runnable, *pending) if n != j]
        (still if any(n in joins[j] for n in others) else ready).append(j)
    if not runnable and not ready and still:
        ready, still = still, []
    return runnable + ready, still


def route(graph: CompiledGraph, nodes: Sequence[str], updates: Mapping[str, Update],
          state: State, waiting: Sequence[str] = ()) -> Routing:  # fmt: skip
    """Where the step that ran ``nodes`` leads.

    Args:
        graph: the compiled graph.
        nodes: the step's nodes, in frontier order.
        updates: the update each of them returned.
        state: the state after the step (updates applied; ``step`` is the step's number).
        waiting: ``join: all`` nodes that were waiting before the step.

    Raises:
        NoTransitionError, ConditionError: see :func:`successors` (``node`` and ``step``
            set; the caller adds the run id).
    """
    if len(nodes) == 1 and not waiting and not graph.join_ancestors:  # the usual step
        node_id = nodes[0]
        chosen = successors(graph, node_id, updates[node_id], state)
        return Routing(list(dict.fromkeys(chosen)) if len(chosen) > 1 else chosen, [],
                       {node_id: chosen} if chosen else {})  # fmt: skip
    targets: list[str] = []
    via: dict[str, list[str]] = {}
    for node_id in nodes:
        chosen = successors(graph, node_id, updates[node_id], state)
        if chosen:
            via[node_id] = chosen
            targets.extend(chosen)
    frontier, still = next_frontier(graph, targets, waiting)
    return Routing(frontier, still, via)
