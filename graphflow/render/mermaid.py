"""Mermaid flowchart text for a compiled graph (for docs and Markdown viewers)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["to_mermaid"]

_SHAPES = {"human": ("[/", "/]"), "end": ("((", "))"), "router": ("{{", "}}"),
           "tool": ("[[", "]]"), "code": ("[[", "]]"), "agent": ("(", ")"),
           "subgraph": ("[[", "]]")}  # fmt: skip


def _id(node_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", node_id)


def _text(text: str) -> str:
    return text.replace('"', "#quot;").replace("|", "#124;")


def _lines(graph: Any, prefix: str, overlay: Any) -> list[str]:
    lines = []
    for node_id, node in graph.nodes.items():
        open_, close = _SHAPES.get(node.kind, ("[", "]"))
        inner = node.impl.subgraph()
        ident = _id(prefix + node_id)
        lines.append(f'    {ident}{open_}"{_text(node.spec.label or node_id)}"{close}')
        if inner is not None:
            lines.append(f'    subgraph {ident}_inner["{_text(node_id)}: {_text(inner.name)}"]')
            lines.extend("  " + line for line in _lines(inner, f"{prefix}{node_id}/", None))
            lines.append("    end")
            lines.append(f"    {ident} -.-> {_id(prefix + node_id + '/' + inner.entry)}")
        if overlay is not None:
            cls = overlay.mermaid_class(prefix, node_id)
            if cls:
                lines.append(f"    class {ident} {cls}")
    for edges in graph.out_edges.values():
        for e in edges:
            label = e.label or ("else" if e.otherwise else (e.text or ""))
            arrow = "-.->" if e.otherwise else "-->"
            src, dst = _id(prefix + e.source), _id(prefix + e.target)
            lines.append(f'    {src} {arrow}|"{_text(label)}"| {dst}' if label
                         else f"    {src} {arrow} {dst}")  # fmt: skip
    return lines


def to_mermaid(graph: Any, *, overlay: Any = None, rankdir: str = "TB") -> str:
    """Mermaid ``flowchart`` text of the graph (with run-overlay classes when given)."""
    direction = {"TB": "TD", "LR": "LR", "BT": "BT", "RL": "RL"}.get(rankdir, "TD")
    lines = [f"flowchart {direction}", *_lines(graph, "", overlay)]
    if overlay is not None:
        lines.extend(overlay.mermaid_styles())
    return "\n".join(lines) + "\n"
