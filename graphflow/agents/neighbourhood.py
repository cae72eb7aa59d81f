"""What a routing node knows about its neighbourhood: its successors, their kinds, speaker
names and descriptions, read from the compiled graph the node runs in (``ctx.graph``).

A group-chat manager's candidates ARE its outgoing edges, so the diagram shows exactly
who may speak after whom. Node kinds receive no graph at compile time, so the router
reads its edges from the compiled graph when it runs (once per graph and node).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphflow.errors import RunError

if TYPE_CHECKING:
    from graphflow.graph import CompiledNode
    from graphflow.kinds.base import NodeContext

__all__ = ["Member", "Neighbourhood", "neighbourhood"]


@dataclass(frozen=True)
class Member:
    """A successor of a routing node.

    Attributes:
        node: its node id (what ``Update.goto`` names).
        name: its speaker name (an agent's ``name:``, else the node id).
        description: what it does (for model-based speaker selection).
        kind: its node kind (``agent``, ``human``, ``end`` …).
    """

    node: str
    name: str
    description: str
    kind: str


@dataclass(frozen=True)
class Neighbourhood:
    """A routing node's successors, split into speakers and where the chat ends."""

    members: tuple[Member, ...]
    ends: tuple[Member, ...]

    @functools.cached_property
    def by_node(self) -> dict[str, Member]:
        """Members by node id."""
        return {m.node: m for m in self.members}

    @functools.cached_property
    def by_name(self) -> dict[str, str]:
        """Node id of each member by speaker name."""
        return {m.name: m.node for m in self.members}

    @functools.cached_property
    def nodes(self) -> tuple[str, ...]:
        """The members' node ids, in edge order."""
        return tuple(m.node for m in self.members)

    def speaking_order(self, order: list[str] | None) -> list[str]:
        """``order`` (names or node ids; default: edge order) as node ids."""
        if not order:
            return list(self.nodes)
        return [self.by_name.get(o, o) for o in order]


def _describe(node: CompiledNode) -> Member:
    options = node.spec.config
    name = str(options.get("name") or node.id)
    description = node.spec.description or options.get("system_message") or ""
    text = " ".join(str(description).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return Member(node.id, name, text, node.kind)


def neighbourhood(
    ctx: NodeContext,
    node_id: str,
    *,
    members: list[str] | None = None,
    end: str | None = None,
) -> Neighbourhood:
    """The successors of ``node_id`` in the compiled graph ``ctx.graph``.

    Args:
        ctx: the running node's context (it carries the compiled graph).
        node_id: the routing node.
        members: restrict the speakers to these node ids (they must be successors).
        end: the node to go to when the chat ends (default: the first successor of kind
            ``end``).

    Raises:
        RunError: a named member or end node is not a successor (with the edge to add),
            or the context carries no compiled graph.
    """
    graph = ctx.graph
    if graph is None:
        raise RunError(f"node {node_id!r} needs the compiled graph it runs in (ctx.graph); "
                       "run it through graph.run()", node=node_id)  # fmt: skip
    key = f"graphflow.neighbourhood:{id(graph)}:{node_id}"
    extras = ctx.run.services.extras
    found = extras.get(key)
    if found is not None:
        return found
    targets = list(dict.fromkeys(e.target for e in graph.out_edges[node_id]))
    described = {t: _describe(graph.nodes[t]) for t in targets}
    for wanted in [*(members or ()), *([end] if end else [])]:
        if wanted not in described:
            raise RunError(f"node {node_id!r} names {wanted!r}, which is not one of its "
                           f"successors ({', '.join(targets) or 'none'}); add an edge "
                           f"{node_id} → {wanted}", node=node_id)  # fmt: skip
    if end is None:
        end = next((t for t in targets if described[t].kind == "end"), None)
    ends = tuple(described[t] for t in targets if t == end)
    chosen = (
        members
        if members is not None
        else [t for t in targets if t != end and described[t].kind != "end"]
    )
    result = Neighbourhood(tuple(described[t] for t in chosen if t != end), ends)
    extras[key] = result
    return result
