"""Mermaid flowchart text for a compiled graph (for docs and Markdown viewers).

With a run overlay, nodes get the classes ``visited``, ``waiting``, ``failed``, ``next``,
``stopped`` or ``unvisited`` (each with a ``classDef``), labels carry visit counts
(``writer ×3``) and the edges taken are drawn thick with their step numbers.
"""

# ruff: noqa: RUF002 - the multiplication sign marks visit counts in labels

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from graphflow.errors import RenderError
from graphflow.render.overlay import PALETTE

__all__ = ["to_mermaid"]

_SHAPES = {"human": ("[/", "/]"), "end": ("((", "))"), "router": ("{{", "}}"),
           "tool": ("[[", "]]"), "code": ("[[", "]]"), "agent": ("(", ")"),
           "subgraph": ("[[", "]]")}  # fmt: skip
_DIRECTIONS = {"TB": "TD", "LR": "LR", "BT": "BT", "RL": "RL"}


def _id(node_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", node_id)


def _text(text: str) -> str:
    return (text.replace("#", "#35;").replace('"', "#quot;").replace("|", "#124;")
            .replace("<", "#lt;").replace(">", "#gt;").replace("\n", "<br/>"))  # fmt: skip


@dataclass
class _Links:
    """Counts links in output order, for ``linkStyle``."""

    count: int = 0
    visited: list[int] = field(default_factory=list)
    unvisited: list[int] = field(default_factory=list)

    def add(self, taken: bool | None) -> None:
        if taken is True:
            self.visited.append(self.count)
        elif taken is False:
            self.unvisited.append(self.count)
        self.count += 1


def _lines(graph: Any, prefix: str, overlay: Any, links: _Links) -> list[str]:
    lines = []
    for node_id, node in graph.nodes.items():
        open_, close = _SHAPES.get(node.kind, ("[", "]"))
        inner = node.impl.subgraph()
        ident = _id(prefix + node_id)
        label = _text(node.spec.label or node_id)
        if overlay is not None:
            label = "<br/>".join([overlay.count_label(node_id, label), *overlay.notes(node_id)])
        lines.append(f'    {ident}{open_}"{label}"{close}')
        if inner is not None:
            child = overlay.child(node_id) if overlay is not None else None
            lines.append(f'    subgraph {ident}_inner["{_text(node_id)}: {_text(inner.name)}"]')
            lines.extend("  " + line for line in _lines(inner, f"{prefix}{node_id}/", child, links))
            lines.append("    end")
            lines.append(f"    {ident} -.-> {_id(prefix + node_id + '/' + inner.entry)}")
            links.add(None)
        if overlay is not None:
            lines.append(f"    class {ident} {overlay.state(node_id)}")
    for edges in graph.out_edges.values():
        for e in edges:
            label = _text(e.label or ("else" if e.otherwise else (e.text or "")))
            taken = None
            if overlay is not None:
                mark = overlay.edge_mark(e.source, e.target)
                taken = mark is not None
                if mark is not None:
                    mark = _text(mark)
                    label = f"{label} {mark}" if label else mark
            arrow = "-.->" if e.otherwise else ("==>" if taken else "-->")
            src, dst = _id(prefix + e.source), _id(prefix + e.target)
            lines.append(f'    {src} {arrow}|"{label}"| {dst}' if label
                         else f"    {src} {arrow} {dst}")  # fmt: skip
            links.add(taken)
    return lines


def _styles(links: _Links) -> list[str]:
    """``classDef`` of each node state, and ``linkStyle`` of the edges taken and not."""
    lines = []
    for state, (border, fill, text) in PALETTE.items():
        width = "1px" if state == "unvisited" else "3px"
        fill_part = f"fill:{fill}," if fill else ""
        dash = ",stroke-dasharray:4 3" if state == "unvisited" else ""
        lines.append(f"    classDef {state} {fill_part}stroke:{border},"
                     f"stroke-width:{width},color:{text}{dash}")  # fmt: skip
    if links.visited:
        lines.append(f"    linkStyle {','.join(map(str, links.visited))} "
                     f"stroke:{PALETTE['visited'][0]},stroke-width:3px")  # fmt: skip
    if links.unvisited:
        lines.append(f"    linkStyle {','.join(map(str, links.unvisited))} "
                     f"stroke:{PALETTE['unvisited'][0]}")  # fmt: skip
    return lines


def to_mermaid(graph: Any, *, overlay: Any = None, rankdir: str = "TB") -> str:
    """Mermaid ``flowchart`` text of the graph (with run-overlay classes when given).

    Example:
        >>> from graphflow import Graph
        >>> g = Graph("hi", entry="a")
        >>> _ = g.add_node("a", lambda state: "hello")
        >>> print(to_mermaid(g.compile(), rankdir="LR"), end="")
        flowchart LR
            a["a"]
    """
    if rankdir not in _DIRECTIONS:
        raise RenderError(f"rankdir {rankdir!r} is not a direction; use one of "
                          f"{', '.join(_DIRECTIONS)}")  # fmt: skip
    links = _Links()
    lines = [f"flowchart {_DIRECTIONS[rankdir]}"]
    if overlay is not None:
        lines.extend(f"    %% {line}" for line in overlay.title().splitlines())
    lines.extend(_lines(graph, "", overlay, links))
    if overlay is not None:
        lines.extend(_styles(links))
    return "\n".join(lines) + "\n"
