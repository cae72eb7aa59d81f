"""Run overlays: the path a stored run took, drawn on its graph.

:meth:`RunOverlay.from_store` reads a run's committed steps and derives:

- **visits**: how often each node ran, and at which steps (labels read ``writer ×3``);
- **edges taken**: a node that ran in step *k* and a successor in the frontier after
  step *k*, joined by an edge of the graph, count as one traversal of that edge; edge
  labels list the steps the target was entered at (``#2 #4``), which gives the path in
  order. When a node routes by condition (or picks its successor itself) and several of
  its targets are in that frontier, the one no other node of the step leads to is taken;
- **where the run stands**: the node waiting for a person, the node that failed (with the
  error in its tooltip), the next nodes of a running or ready run, the nodes a limit
  stopped at;
- **forks**: runs forked from this one mark the nodes at their fork step; a forked run
  includes its parent's steps before the fork and names its parent in the title;
- **subgraph runs** (the child runs that name this run, a node and a visit): drawn inside
  the node's cluster, all visits added up.

Everything is read through the store's :class:`~graphflow.store.RunReader`.

Nodes never reached are greyed. Both renderers (graphviz and Mermaid) draw the overlay.
"""

# ruff: noqa: RUF001, RUF002 - the multiplication sign marks visit counts in labels

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphflow.store import RunReader, RunRecord, StepRow

__all__ = ["PALETTE", "RunOverlay", "lineage_steps"]

#: Colors of node states (border, fill, text), shared by the DOT, Mermaid and HTML views.
PALETTE: dict[str, tuple[str, str, str]] = {
    "visited": ("#1d4ed8", "", "#111827"),
    "waiting": ("#b45309", "#fde68a", "#111827"),
    "failed": ("#b91c1c", "#fecaca", "#111827"),
    "next": ("#7c3aed", "#ede9fe", "#111827"),
    "stopped": ("#c2410c", "#fed7aa", "#111827"),
    "unvisited": ("#d1d5db", "#f9fafb", "#9ca3af"),
}
_STATE_NOTE = {"waiting": "waiting for input", "failed": "failed", "next": "next",
               "stopped": "stopped here"}  # fmt: skip
_STOPPED = ("limit_reached", "budget_exceeded", "timeout")


def _steps_text(steps: Sequence[int], limit: int = 4) -> str:
    if len(steps) <= limit:
        return " ".join(f"#{s}" for s in steps)
    return f"#{steps[0]} #{steps[1]} … #{steps[-1]}"


@dataclass
class RunOverlay:
    """What one run (or the runs of one subgraph node) did, ready to be drawn.

    Build it with :meth:`from_store`; pass it to ``graph.render(path, overlay=...)``,
    ``to_dot``/``to_svg``/``to_mermaid``, or use :func:`graphflow.render.dot.render_run`.

    Example:
        >>> from graphflow import Graph, Store
        >>> g = Graph("hello", entry="greet")
        >>> _ = g.add_node("greet", lambda state: "hello!")
        >>> _ = g.add_node("unused", lambda state: "never")
        >>> _ = g.add_edge("greet", "unused", when="false")
        >>> _ = g.add_node("done", kind="end")
        >>> _ = g.add_edge("greet", "done", otherwise=True)
        >>> store = Store(":memory:")
        >>> graph = g.compile()
        >>> result = graph.run_sync(store=store)
        >>> overlay = RunOverlay.from_store(store, result.run_id)
        >>> overlay.visits, overlay.state("unused")
        ({'greet': 1, 'done': 1}, 'unvisited')
        >>> 'label="greet ×1"' in graph.to_dot(overlay=overlay)
        True
    """

    run_id: str = ""
    graph: str = ""
    status: str = "not run"
    reason: str | None = None
    error: str | None = None
    steps: int = 0
    runs: int = 1
    node_steps: dict[str, list[int]] = field(default_factory=dict)
    edge_steps: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    upcoming: list[str] = field(default_factory=list)
    forks: list[tuple[str, int, list[str]]] = field(default_factory=list)
    forked_from: tuple[str, int] | None = None
    children: dict[str, RunOverlay] = field(default_factory=dict)
    #: the compiled graph a notebook draws the overlay on (``None``: no drawing)
    drawing: Any = field(default=None, repr=False, compare=False)

    # ---- reading a run ------------------------------------------------------------

    @classmethod
    def from_store(cls, store: RunReader, run_id: str, *, subruns: bool = True,
                   graph: Any = None) -> RunOverlay:  # fmt: skip
        """Derive the overlay of run ``run_id`` from ``store``.

        Args:
            store: a run store (any :class:`~graphflow.store.RunReader`).
            run_id: the run to draw.
            subruns: also read the runs of subgraph nodes (the child runs that name a
                node of this run).
            graph: the compiled graph a notebook draws the overlay on (its
                ``_repr_svg_``); without it the overlay shows as text.

        Raises:
            RunNotFound: no such run in the store.
        """
        record = store.get_run(run_id)
        spec = record.spec or {}
        out_edges, single = _routing(spec)
        rows = lineage_steps(store, record, frozenset())
        overlay = cls(run_id=run_id, graph=record.graph, status=record.status,
                      reason=record.reason, error=record.error, steps=record.last_step + 1,
                      drawing=graph)  # fmt: skip
        for row in rows:
            step, nodes = int(row["step"]), list(row["nodes"] or [])
            frontier = row["next"] or {}
            targets = list(dict.fromkeys([*frontier.get("run", []), *frontier.get("wait", [])]))
            for node in nodes:
                overlay.node_steps.setdefault(node, []).append(step)
            via = frontier.get("via")
            taken = ([(src, dst) for src, dsts in via.items() for dst in dsts]
                     if isinstance(via, dict)  # recorded by the scheduler
                     else _transitions(nodes, targets, out_edges, single))  # fmt: skip
            for edge in taken:
                overlay.edge_steps.setdefault(edge, []).append(step + 1)
        overlay._where_it_stands(record)
        overlay._keep_entered_edges()
        if record.parent_run and record.forked_at is not None:
            overlay.forked_from = (record.parent_run, int(record.forked_at))
        by_node: dict[str, list[tuple[int, str]]] = {}
        for child in store.child_runs(run_id):
            if child.forked_at is not None:
                overlay.forks.append((child.run_id, int(child.forked_at),
                                      _nodes_at(rows, record, int(child.forked_at), spec)))  # fmt: skip
            elif subruns and child.parent_node is not None:
                by_node.setdefault(child.parent_node, []).append((child.parent_visit or 0,
                                                                  child.run_id))  # fmt: skip
        for node, found in by_node.items():
            parts = [cls.from_store(store, cid) for _, cid in sorted(found)]
            overlay.children[node] = _combine(parts)
        return overlay

    def _keep_entered_edges(self) -> None:
        """Keep an edge's traversal only when its target was entered: it ran at that
        step, or the run stands there now (waiting, failed, next). A run that stopped
        with a node routed to but not run (``stop``, ``stop_when``) drew that edge as
        taken while the node said it was never reached."""
        standing = {*self.waiting, *self.failed, *self.upcoming}
        for edge, steps in list(self.edge_steps.items()):
            ran = set(self.node_steps.get(edge[1], ()))
            kept = [s for s in steps if s in ran or (s == self.steps and edge[1] in standing)]
            if kept:
                self.edge_steps[edge] = kept
            else:
                del self.edge_steps[edge]

    def _where_it_stands(self, record: RunRecord) -> None:
        frontier = list((record.frontier or {}).get("run", []))
        if record.status == "waiting":
            nodes = (record.waiting or {}).get("nodes", {})
            self.waiting = {n: str((info or {}).get("question", "")) for n, info in nodes.items()}
        elif record.status == "failed":
            node = record.failed_node or (frontier[0] if frontier else None)
            if node is not None:
                self.failed[node] = (record.error or record.reason or "failed").splitlines()[0]
        elif record.status != "completed":
            self.upcoming = frontier

    # ---- notebooks -----------------------------------------------------------------

    def _repr_svg_(self) -> str | None:
        """The overlay drawn on its graph, as SVG; ``None`` without the graph (pass
        ``graph=`` to :meth:`from_store`, or use ``graph.overlay(run_id, store)``) or
        without graphviz's ``dot``."""
        from graphflow.errors import GraphflowError

        if self.drawing is None:
            return None
        from graphflow.render.dot import to_svg

        try:
            svg = to_svg(self.drawing, overlay=self)
        except GraphflowError:
            return None
        start = svg.find("<svg")
        return svg[start:] if start >= 0 else svg

    def _repr_html_(self) -> str:
        """The overlay in a notebook: its title, the drawing, the visit counts."""
        from graphflow.display import overlay_html

        return overlay_html(self, self._repr_svg_())

    # ---- queries the renderers use ------------------------------------------------

    @property
    def visits(self) -> dict[str, int]:
        """How many times each node ran (committed steps)."""
        return {node: len(steps) for node, steps in self.node_steps.items()}

    @property
    def edge_counts(self) -> dict[tuple[str, str], int]:
        """How many times each edge ``(source, target)`` was taken."""
        return {edge: len(steps) for edge, steps in self.edge_steps.items()}

    def state(self, node_id: str) -> str:
        """``failed``, ``waiting``, ``next``, ``stopped``, ``visited`` or ``unvisited``."""
        if node_id in self.failed:
            return "failed"
        if node_id in self.waiting:
            return "waiting"
        if node_id in self.upcoming:
            return "stopped" if self.status in _STOPPED else "next"
        return "visited" if node_id in self.node_steps else "unvisited"

    def child(self, node_id: str) -> RunOverlay:
        """The overlay of subgraph node ``node_id``'s runs (an empty one if it never ran)."""
        return self.children.get(node_id) or RunOverlay()

    def fork_notes(self, node_id: str) -> list[str]:
        notes = [f"fork {fid} at step {at}" for fid, at, nodes in self.forks if node_id in nodes]
        if self.forked_from and node_id in self.upcoming_or_first():
            notes.append(f"forked here from {self.forked_from[0]}")
        return notes

    def upcoming_or_first(self) -> list[str]:
        """The nodes this run started with after its fork point."""
        if self.forked_from is None:
            return []
        at = self.forked_from[1]
        first = [n for n, steps in self.node_steps.items() if at in steps]
        return first or list(self.upcoming) or list(self.waiting) or list(self.failed)

    def title(self) -> str:
        """One or two lines naming the run, its status and stop reason."""
        text = f"run {self.run_id}: {self.status}, {self.steps} steps"
        if self.reason:
            text += f" ({self.reason})"
        if self.forked_from:
            text += f"\nforked from {self.forked_from[0]} at step {self.forked_from[1]}"
        return text

    # ---- what the renderers draw -------------------------------------------------

    def count_label(self, node_id: str, label: str) -> str:
        """``label`` with the node's visit count (``writer ×3``) when it ran."""
        count = len(self.node_steps.get(node_id, []))
        return f"{label} ×{count}" if count else label

    def notes(self, node_id: str) -> list[str]:
        """Lines under the label: the state (*waiting for input*, *failed* …) and forks."""
        note = _STATE_NOTE.get(self.state(node_id))
        return ([note] if note else []) + self.fork_notes(node_id)

    def tooltip(self, node_id: str) -> list[str]:
        """Lines of the node's tooltip: its steps, question or error, and forks."""
        steps = self.node_steps.get(node_id, [])
        if not steps:
            lines = ["never reached"]
        elif self.runs > 1:
            lines = [f"ran {len(steps)}× in {self.runs} runs"]
        else:
            more = " …" if len(steps) > 40 else ""
            lines = [f"ran {len(steps)}× at step {', '.join(map(str, steps[:40]))}{more}"]
        if node_id in self.waiting:
            lines.append(f"waiting: {self.waiting[node_id]}")
        if node_id in self.failed:
            lines.append(f"error: {self.failed[node_id]}")
        return lines + self.fork_notes(node_id)

    def edge_mark(self, source: str, target: str) -> str | None:
        """How an edge was taken: the steps its target was entered at (``#2 #4``), or
        ``×N`` over several runs; ``None`` when it never was."""
        steps = self.edge_steps.get((source, target))
        if not steps:
            return None
        if self.runs > 1:
            return f"×{len(steps)}"
        text = _steps_text(steps)
        return f"×{len(steps)}: {text}" if len(steps) > 4 else text

    def edge_tooltip(self, source: str, target: str) -> str:
        steps = self.edge_steps.get((source, target), [])
        where = ", ".join(map(str, steps[:40]))
        return f"{source} → {target}: taken {len(steps)}×" + (
            f", entering {target} at step {where}" if self.runs == 1 else "")  # fmt: skip

    def cluster_note(self) -> str:
        """A line for the cluster of a subgraph node: its inner run(s) and their status."""
        if not self.run_id:
            return "(never ran)"
        runs = f"{self.runs} runs, last " if self.runs > 1 else "run "
        return f"{runs}{self.run_id}: {self.status}"


# ---- deriving the path ------------------------------------------------------------


def _routing(spec: Mapping[str, Any]) -> tuple[dict[str, list[str]], set[str]]:
    """Successors of each node in edge order, and the nodes that take one edge only."""
    from graphflow.kinds import get_kind

    out: dict[str, list[str]] = {}
    single: set[str] = set()
    for edge in spec.get("edges") or []:
        source, target = str(edge.get("from")), str(edge.get("to"))
        out.setdefault(source, []).append(target)
        if edge.get("when") is not None or edge.get("else"):
            single.add(source)
    for node_id, options in (spec.get("nodes") or {}).items():
        kind = get_kind(str((options or {}).get("kind") or ""))
        if kind is not None and kind.dynamic_routing:
            single.add(str(node_id))
    return out, single


def _transitions(nodes: Sequence[str], targets: Sequence[str],
                 out_edges: Mapping[str, list[str]], single: set[str]) -> Iterable[tuple[str, str]]:  # fmt: skip
    wanted = set(targets)
    for source in nodes:
        candidates = list(dict.fromkeys(t for t in out_edges.get(source, []) if t in wanted))
        if source in single and len(candidates) > 1:
            others = {t for s in nodes if s != source for t in out_edges.get(s, [])}
            candidates = [next((t for t in candidates if t not in others), candidates[0])]
        for target in candidates:
            yield source, target


def lineage_steps(store: RunReader, record: RunRecord, seen: frozenset[str] = frozenset()
                  ) -> list[StepRow]:  # fmt: skip
    """The step rows of run ``record`` (a RunRecord), preceded by its parent's steps
    before the fork point when it is a fork (and so on up its ancestry).

    Example:
        >>> from graphflow import Graph, Store
        >>> g = Graph("hi", entry="a")
        >>> _ = g.add_node("a", lambda state: "hello")
        >>> store = Store(":memory:")
        >>> run = g.compile().run_sync(store=store)
        >>> [row["nodes"] for row in lineage_steps(store, store.get_run(run.run_id))]
        [['a']]
    """
    from graphflow.errors import RunNotFound

    own = store.steps(record.run_id)
    parent_id, at = record.parent_run, record.forked_at
    if parent_id is None or at is None or parent_id in seen:
        return list(own)
    try:
        parent = store.get_run(parent_id)
    except RunNotFound:
        return list(own)
    inherited = [r for r in lineage_steps(store, parent, seen | {record.run_id}) if r["step"] < at]
    return inherited + list(own)


def _nodes_at(rows: Sequence[StepRow], record: RunRecord, step: int,
              spec: Mapping[str, Any]) -> list[str]:  # fmt: skip
    """The nodes a fork at ``step`` starts from: those that ran at that step."""
    for row in rows:
        if row["step"] == step:
            return list(row["nodes"] or [])
    if step == 0:
        return [str(spec.get("entry"))] if spec.get("entry") else []
    return list((record.frontier or {}).get("run", []))


def _combine(parts: Sequence[RunOverlay]) -> RunOverlay:
    """All runs of one subgraph node in one overlay: counts added, state of the last."""
    last = parts[-1]
    if len(parts) == 1:
        return last
    out = RunOverlay(run_id=last.run_id, graph=last.graph, status=last.status,
                     reason=last.reason, error=last.error, steps=last.steps, runs=len(parts),
                     waiting=dict(last.waiting), failed=dict(last.failed),
                     upcoming=list(last.upcoming))  # fmt: skip
    for part in parts:
        for node, steps in part.node_steps.items():
            out.node_steps.setdefault(node, []).extend(steps)
        for edge, steps in part.edge_steps.items():
            out.edge_steps.setdefault(edge, []).extend(steps)
        for node, child in part.children.items():
            out.children[node] = _combine([out.children[node], child]) if node in out.children \
                else child  # fmt: skip
    return out
