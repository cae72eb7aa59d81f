"""Building and writing a run report (see :mod:`graphflow.report`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from graphflow.errors import DefinitionError, RenderError
from graphflow.report.data import collect
from graphflow.report.html import render_html

__all__ = ["build_report", "write_report"]

logger = logging.getLogger(__name__)


def _diagram(store: Any, record: Any, graph: Any, overlay: Any,
             rankdir: str) -> tuple[str | None, str | None, Any]:  # fmt: skip
    """The overlaid SVG (or why there is none) and the graph used."""
    if graph is None:
        from graphflow.loader import graph_for_run

        try:
            graph = graph_for_run(record)
        except DefinitionError as exc:
            return None, (f"no diagram: the graph stored with this run cannot be rebuilt "
                          f"here ({exc}); pass graph= to write_report"), None  # fmt: skip
    from graphflow.render.dot import to_svg

    try:
        return to_svg(graph, overlay=overlay, rankdir=rankdir), None, graph
    except RenderError as exc:
        return None, f"no diagram: {exc}", graph


def build_report(store: Any, run_id: str, graph: Any = None, *, rankdir: str = "TB") -> str:
    """The report of run ``run_id`` as one HTML string; see :func:`write_report`."""
    record = store.get_run(run_id)
    from graphflow.render.overlay import RunOverlay

    svg, note, graph = _diagram(store, record, graph, RunOverlay.from_store(store, run_id),
                                rankdir)  # fmt: skip
    return render_html(collect(store, run_id, graph), svg, note)


def write_report(store: Any, run_id: str, path: str | Path, graph: Any = None, *,
                 rankdir: str = "TB") -> Path:  # fmt: skip
    """Write the HTML report of run ``run_id`` to ``path``: one self-contained file
    (inline CSS, JS and SVG; nothing loaded from the network).

    Args:
        store: the run's Store.
        run_id: the run.
        path: the HTML file to write (its folder is created).
        graph: the compiled graph; default: rebuilt from the spec stored with the run
            (pass it for graphs built in Python with callables).
        rankdir: direction of the diagram: ``TB``, ``LR``, ``BT`` or ``RL``.

    Returns:
        The path written.

    Raises:
        RunNotFound: no such run. Without graphviz's ``dot`` the report is still
        written, with a note in place of the diagram.

    Example:
        >>> import os, tempfile
        >>> from graphflow import Graph, Store
        >>> g = Graph("hello", entry="greet")
        >>> _ = g.add_node("greet", lambda state: "<b>hello</b>")
        >>> graph, store = g.compile(), Store(":memory:")
        >>> run = graph.run_sync(store=store)
        >>> out = write_report(store, run.run_id, os.path.join(tempfile.mkdtemp(), "r.html"),
        ...                    graph=graph)
        >>> "&lt;b&gt;hello&lt;/b&gt;" in out.read_text()
        True
    """
    page = build_report(store, run_id, graph, rankdir=rankdir)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    logger.info("wrote the report of run %s to %s (%d bytes)", run_id, path, len(page))
    return path
