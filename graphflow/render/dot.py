"""Graphviz rendering of compiled graphs.

Nodes are drawn by kind (``shape`` of the kind class), conditions label their edges,
the else edge is dashed, nested graphs (subgraph nodes) are drawn as clusters. With a
run overlay (:class:`~graphflow.render.overlay.RunOverlay`) the path the run took is
highlighted, inside clusters too. The ``dot`` binary is needed for SVG/PNG/PDF; DOT text
needs nothing.

Every text that reaches graphviz goes through :func:`dot_text`, so a label that looks
like an HTML-like label (``<b>…</b>``) or holds backslashes is drawn as written, and
every identifier (graph, cluster and node names) through :func:`dot_id`: always a quoted
string, never an HTML-like id, with its quotes escaped — a node called
``<x> [URL="javascript:…"] <y>`` stays one node with that name, and adds no attribute.
"""

# ruff: noqa: RUF002 - the multiplication sign marks visit counts in labels

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow.errors import RenderError
from graphflow.render.overlay import PALETTE

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph

__all__ = ["INSTALL_HINT", "RANKDIRS", "build_digraph", "dot_id", "dot_text", "render_run",
           "render_to_file", "to_dot", "to_image", "to_svg"]  # fmt: skip

_FILL = {"agent": "#dbeafe", "human": "#fef3c7", "tool": "#dcfce7", "code": "#e0e7ff",
         "router": "#fce7f3", "subgraph": "#f3f4f6", "end": "#e5e7eb", "function": "#ffffff"}  # fmt: skip
INSTALL_HINT = ("the graphviz `dot` program is not installed; install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`conda install graphviz`, or write .dot/.mmd files, which need no binary")  # fmt: skip
RANKDIRS = ("TB", "LR", "BT", "RL")

logger = logging.getLogger(__name__)
_TEXT_ATTRS = ("label", "xlabel", "tooltip", "labeltooltip", "edgetooltip", "headlabel",
               "taillabel")  # fmt: skip


def dot_text(text: str) -> Any:
    r"""Text as graphviz should draw it: backslashes kept, line breaks as ``\n``, never
    read as an HTML-like label.

    Example:
        >>> str(dot_text("<b>two\nlines</b>"))
        '<b>two\\nlines</b>'
    """
    import graphviz

    return graphviz.nohtml(str(text).replace("\\", "\\\\").replace("\n", "\\n"))


_ODD_BACKSLASHES = re.compile(r"(\\+)(?=\"|\n|$)")


def dot_id(name: str) -> Any:
    r"""A graph, cluster or node name as a DOT identifier that can only be read one way.

    graphviz's Python package quotes names and escapes their quotes, but passes a name
    written ``<…>`` through as an HTML-like id (unquoted: the rest of the name is read as
    DOT), and a name ending in a backslash escapes its own closing quote. This marks the
    name as not HTML and doubles runs of backslashes before a quote, a line break or the
    end (elsewhere DOT keeps backslashes as written).

    Example:
        >>> from graphviz.quoting import quote
        >>> print(quote(dot_id('<x> [URL="javascript:alert(1)"] <y>')))
        "<x> [URL=\"javascript:alert(1)\"] <y>"
        >>> print(quote(dot_id("ends in \\")))
        "ends in \\"
    """
    import graphviz

    return graphviz.nohtml(_ODD_BACKSLASHES.sub(lambda m: m.group(1) * 2, str(name)))


def _edge(dot: Any, tail: str, head: str, attrs: Mapping[str, Any]) -> None:
    """Add the edge ``tail -> head``. Written out here because ``Digraph.edge`` reads
    ``name:port:compass`` in node names and passes the compass part through unquoted;
    graphflow never uses ports, so names are quoted whole."""
    from graphviz.quoting import attr_list, quote

    rest = {k: v for k, v in attrs.items() if k != "label"}
    dot.body.append(f"\t{quote(dot_id(tail))} -> {quote(dot_id(head))}"
                    f"{attr_list(attrs.get('label'), kwargs=rest)}\n")  # fmt: skip


def _encoded(attrs: Mapping[str, str]) -> dict[str, Any]:
    return {k: dot_text(v) if k in _TEXT_ATTRS else v for k, v in attrs.items()}


def _node_overlay(overlay: Any, node_id: str, attrs: Mapping[str, str]) -> dict[str, str]:
    """A node's attributes with the run's marks: count, state colors, notes, tooltip."""
    out = dict(attrs)
    state = overlay.state(node_id)
    border, fill, text = PALETTE[state]
    out["label"] = "\n".join([overlay.count_label(node_id, out["label"]), *overlay.notes(node_id)])
    out.update(
        color=border,
        fontcolor=text,
        penwidth={"unvisited": "1", "visited": "2.5"}.get(state, "3.5"),
    )
    if fill:
        out["fillcolor"] = fill
    if overlay.fork_notes(node_id):
        out["peripheries"] = "2"
    if state == "unvisited":
        out["style"] = out.get("style", "filled") + ",dashed"
    out["tooltip"] = "\n".join([out.get("tooltip", node_id), *overlay.tooltip(node_id)])
    return out


def _edge_overlay(
    overlay: Any, source: str, target: str, attrs: Mapping[str, str]
) -> dict[str, str]:
    """An edge's attributes: blue, thicker and marked with its steps when it was taken."""
    out = dict(attrs)
    mark = overlay.edge_mark(source, target)
    if mark is None:
        out.update(color=PALETTE["unvisited"][0], fontcolor=PALETTE["unvisited"][2])
        return out
    count = len(overlay.edge_steps[(source, target)])
    base = out.get("label", "")
    out["label"] = f"{base}\n{mark}" if base else mark
    out.update(color=PALETTE["visited"][0], fontcolor=PALETTE["visited"][0],
               penwidth=str(1.6 + 0.6 * min(count, 4)), tooltip=overlay.edge_tooltip(source, target))  # fmt: skip
    return out


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _add_graph(dot: Any, graph: Any, prefix: str, overlay: Any) -> None:
    for node_id, node in graph.nodes.items():
        attrs = {"shape": node.impl.shape, "style": "filled,rounded" if node.impl.shape == "box"
                 else "filled", "fillcolor": _FILL.get(node.kind, "#ffffff"),
                 "label": node.spec.label or node_id, "tooltip": f"{node_id} ({node.kind})"}  # fmt: skip
        if node_id == graph.entry:
            attrs["penwidth"] = "2"
        if overlay is not None:
            attrs = _node_overlay(overlay, node_id, attrs)
        inner = node.impl.subgraph()
        if inner is None:
            dot.node(dot_id(prefix + node_id), **_encoded(attrs))
            continue
        child = overlay.child(node_id) if overlay is not None else None
        with dot.subgraph(name=dot_id(f"cluster_{prefix}{node_id}")) as cluster:
            cluster_attrs = {"label": f"{node_id}: {inner.name}", "style": "rounded,dashed",
                             "color": "#6b7280", "tooltip": f"inner graph {inner.name}"}  # fmt: skip
            if child is not None:
                cluster_attrs["label"] += "\n" + child.cluster_note()
                if not child.run_id:
                    cluster_attrs["fontcolor"] = PALETTE["unvisited"][2]
            cluster.attr(**_encoded(cluster_attrs))
            cluster.node(dot_id(prefix + node_id), **_encoded(attrs))
            _add_graph(cluster, inner, f"{prefix}{node_id}/", child)
            _edge(cluster, prefix + node_id, f"{prefix}{node_id}/{inner.entry}",
                  {"style": "dotted", "arrowhead": "open", "label": "runs"})
    for edges in graph.out_edges.values():
        for edge in edges:
            label = edge.label or ("else" if edge.otherwise else _short(edge.text or ""))
            attrs = {"label": label} if label else {}
            if edge.text and edge.label:
                attrs["tooltip"] = edge.text
            if edge.otherwise:
                attrs["style"] = "dashed"
            if overlay is not None:
                attrs = _edge_overlay(overlay, edge.source, edge.target, attrs)
            _edge(dot, prefix + edge.source, prefix + edge.target, _encoded(attrs))


def build_digraph(graph: Any, *, overlay: Any = None, rankdir: str = "TB") -> Any:
    """The ``graphviz.Digraph`` of a compiled graph (with a run overlay when given).

    Raises:
        RenderError: ``rankdir`` is not one of TB, LR, BT, RL.
    """
    import graphviz

    if rankdir not in RANKDIRS:
        raise RenderError(f"rankdir {rankdir!r} is not a direction; use one of "
                          f"{', '.join(RANKDIRS)}")  # fmt: skip
    many = len(graph.nodes) > 30
    dot = graphviz.Digraph(dot_id(graph.name), graph_attr={
        "rankdir": rankdir, "fontname": "Helvetica", "label": dot_text(graph.name),
        "labelloc": "t", "newrank": "true", "outputorder": "edgesfirst",
        "nodesep": "0.25" if many else "0.35", "ranksep": "0.35" if many else "0.5",
        "pad": "0.2"}, node_attr={"fontname": "Helvetica", "fontsize": "11", "margin": "0.12,0.05"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"})  # fmt: skip
    _add_graph(dot, graph, "", overlay)
    if overlay is not None:
        dot.attr(label=dot_text(f"{graph.name}\n{overlay.title()}"))
    return dot


def to_dot(graph: Any, *, overlay: Any = None, rankdir: str = "TB") -> str:
    """DOT source of the graph (with a run overlay when given).

    Example:
        >>> from graphflow import Graph
        >>> g = Graph("hi", entry="a")
        >>> _ = g.add_node("a", lambda state: "hello")
        >>> "rankdir=LR" in to_dot(g.compile(), rankdir="LR")
        True
    """
    return str(build_digraph(graph, overlay=overlay, rankdir=rankdir).source)


def _pipe(graph: Any, fmt: str, **options: Any) -> bytes:
    import graphviz

    try:
        return bytes(build_digraph(graph, **options).pipe(format=fmt))
    except graphviz.ExecutableNotFound:
        raise RenderError(INSTALL_HINT) from None
    except graphviz.CalledProcessError as exc:
        raise RenderError(f"dot failed to draw graph {graph.name!r}: {exc.stderr!r}; write a "
                          ".dot file to inspect the source") from None  # fmt: skip


def to_image(graph: Any, fmt: str, **options: Any) -> bytes:
    """The drawing as ``svg``, ``png`` or ``pdf`` bytes (needs graphviz's ``dot``).

    Raises:
        RenderError: a missing ``dot`` binary, or a failed drawing.
    """
    return _pipe(graph, fmt, **options)


def to_svg(graph: Any, **options: Any) -> str:
    """SVG text of the graph (needs the ``dot`` binary); options as for :func:`to_dot`.

    Raises:
        RenderError: ``dot`` is missing (with the install hint) or failed.
    """
    return _pipe(graph, "svg", **options).decode("utf-8")


def render_to_file(graph: Any, path: str | Path, **options: Any) -> Path:
    """Write the drawing; the format comes from the suffix: .svg .png .pdf .dot .gv .mmd

    Raises:
        RenderError: an unknown suffix, a missing ``dot`` binary, or a failed drawing.
    """
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
    logger.debug("drew graph %r to %s", getattr(graph, "name", "?"), path)
    return path


def render_run(store: Any, run_id: str, path: str | Path, graph: CompiledGraph,
               rankdir: str = "TB") -> Path:  # fmt: skip
    """Draw run ``run_id`` on its graph to ``path`` (``.svg``, ``.png``, ``.pdf``, ``.dot``,
    ``.mmd``).

    Args:
        store: the run's Store.
        run_id: the run to draw.
        path: the output file; its suffix picks the format.
        graph: the compiled graph the run executes (for a graph file,
            :func:`graphflow.load`; for the graph stored with a run,
            :func:`graphflow.loader.graph_for_run`).
        rankdir: ``TB``, ``LR``, ``BT`` or ``RL``.

    Returns:
        The path written.

    Raises:
        RunNotFound: no such run. RenderError: the drawing failed (e.g. no ``dot``).

    Example:
        >>> from graphflow import Graph, Store
        >>> g = Graph("hello", entry="greet")
        >>> _ = g.add_node("greet", lambda state: "hello!")
        >>> graph, store = g.compile(), Store(":memory:")
        >>> run = graph.run_sync(store=store)
        >>> import tempfile, os
        >>> out = render_run(store, run.run_id, os.path.join(tempfile.mkdtemp(), "run.mmd"),
        ...                  graph=graph)
        >>> "greet ×1" in out.read_text()
        True
    """
    from graphflow.render.overlay import RunOverlay

    overlay = RunOverlay.from_store(store, run_id)
    return render_to_file(graph, path, overlay=overlay, rankdir=rankdir)
