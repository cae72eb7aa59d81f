"""Graphviz rendering of compiled graphs.

Nodes are drawn by kind (``shape`` of the kind class), conditions label their edges,
the else edge is dashed, nested graphs (subgraph nodes) are drawn as clusters.
The ``dot`` binary is needed for SVG/PNG; DOT text needs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphflow.errors import RenderError

__all__ = ["render_to_file", "to_dot", "to_svg"]

_FILL = {"agent": "#dbeafe", "human": "#fef3c7", "tool": "#dcfce7", "code": "#e0e7ff",
         "router": "#fce7f3", "subgraph": "#f3f4f6", "end": "#e5e7eb", "function": "#ffffff"}  # fmt: skip
INSTALL_HINT = ("the graphviz `dot` program is not installed; install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`conda install graphviz`, or write .dot/.mmd files, which need no binary")  # fmt: skip


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _add_graph(dot: Any, graph: Any, prefix: str, overlay: Any, rankdir: str) -> None:
    for node_id, node in graph.nodes.items():
        attrs = {"shape": node.impl.shape, "style": "filled,rounded" if node.impl.shape == "box"
                 else "filled", "fillcolor": _FILL.get(node.kind, "#ffffff"),
                 "label": node.spec.label or node_id, "tooltip": f"{node_id} ({node.kind})"}  # fmt: skip
        if node_id == graph.entry:
            attrs["penwidth"] = "2"
        if overlay is not None:
            attrs.update(overlay.node_attrs(prefix, node_id))
        inner = node.impl.subgraph()
        if inner is not None:
            with dot.subgraph(name=f"cluster_{prefix}{node_id}") as cluster:
                cluster.attr(label=f"{node_id}: {inner.name}", style="rounded,dashed",
                             color="#6b7280")  # fmt: skip
                cluster.node(prefix + node_id, **attrs)
                _add_graph(cluster, inner, f"{prefix}{node_id}/", None, rankdir)
                cluster.edge(prefix + node_id, f"{prefix}{node_id}/{inner.entry}", style="dotted",
                             arrowhead="open", label="runs")  # fmt: skip
        else:
            dot.node(prefix + node_id, **attrs)
    for edges in graph.out_edges.values():
        for edge in edges:
            label = edge.label or ("else" if edge.otherwise else _short(edge.text or ""))
            attrs = {"label": label} if label else {}
            if edge.otherwise:
                attrs["style"] = "dashed"
            if overlay is not None:
                attrs.update(overlay.edge_attrs(prefix, edge.source, edge.target))
            dot.edge(prefix + edge.source, prefix + edge.target, **attrs)


def build_digraph(graph: Any, *, overlay: Any = None, rankdir: str = "TB") -> Any:
    import graphviz

    dot = graphviz.Digraph(graph.name, graph_attr={"rankdir": rankdir, "fontname": "Helvetica",
                                                   "label": graph.name, "labelloc": "t"},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "9"})  # fmt: skip
    _add_graph(dot, graph, "", overlay, rankdir)
    if overlay is not None:
        overlay.decorate(dot)
    return dot


def to_dot(graph: Any, *, overlay: Any = None, rankdir: str = "TB") -> str:
    """DOT source of the graph (with a run overlay when given)."""
    return str(build_digraph(graph, overlay=overlay, rankdir=rankdir).source)


def _pipe(graph: Any, fmt: str, **options: Any) -> bytes:
    import graphviz

    try:
        return bytes(build_digraph(graph, **options).pipe(format=fmt))
    except graphviz.ExecutableNotFound:
        raise RenderError(INSTALL_HINT) from None
    except graphviz.CalledProcessError as exc:
        raise RenderError(f"dot failed to draw the graph: {exc.stderr!r}") from None


def to_svg(graph: Any, **options: Any) -> str:
    return _pipe(graph, "svg", **options).decode("utf-8")


def render_to_file(graph: Any, path: str | Path, **options: Any) -> Path:
    """Write the drawing; the format comes from the suffix: .svg .png .pdf .dot .gv .mmd"""
    from graphflow.render.mermaid import to_mermaid

    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv"):
        path.write_text(to_dot(graph, **options), encoding="utf-8")
    elif suffix in ("mmd", "mermaid"):
        path.write_text(to_mermaid(graph, **options), encoding="utf-8")
    elif suffix in ("svg", "png", "pdf"):
        path.write_bytes(_pipe(graph, suffix, **options))
    else:
        raise RenderError(f"cannot render to {path.name!r}: use a .svg, .png, .pdf, .dot or .mmd "
                          "file name")  # fmt: skip
    return path
