"""What a run report shows, read from the store: steps, transcript, artifacts, usage,
latency.

:func:`collect` gathers one run into a :class:`ReportData`: the timeline (the run's
messages grouped by step, with the messages of subgraph runs placed in the step their
node ran in), per-node and total tokens, cost and step time, and the run's overlay.
Everything is read through the store's :class:`~graphflow.store.RunReader`. Nothing here
formats HTML; see :mod:`graphflow.report.html`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphflow.models.usage import Usage
from graphflow.render.overlay import RunOverlay, lineage_steps

if TYPE_CHECKING:
    from graphflow.store import MessageRow, RunReader

__all__ = ["IMAGE_TYPES", "Entry", "NodeStats", "ReportData", "StepGroup", "collect",
           "inline_artifact"]

_EXIT = re.compile(r"^exitcode: (-?\d+)")
#: Media types the report shows as images (``<img src="data:…">`` runs no script, SVG
#: included), up to 4 MiB; text artifacts are shown up to 16 KiB, others named.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
_INLINE_IMAGE_BYTES = 4 * 1024 * 1024
_INLINE_TEXT_BYTES = 16 * 1024


def inline_artifact(media_type: str, size: int) -> bool:
    """Whether the report shows an artifact's content (an image, or short text).

    Example:
        >>> inline_artifact("image/png", 2000), inline_artifact("application/zip", 10)
        (True, False)
    """
    if media_type in IMAGE_TYPES:
        return size <= _INLINE_IMAGE_BYTES
    return media_type.startswith("text/") and size <= _INLINE_TEXT_BYTES


@dataclass(frozen=True)
class Entry:
    """One message of the timeline.

    ``kind`` is ``input`` (the run's first messages), ``human`` (a person's answer),
    ``tool-call`` (a message asking for tools), ``tool-result``, ``code-output`` (a code
    node's report) or ``message``. ``node`` is the node path used for filtering
    (``sub/inner`` for a message of a subgraph's inner run).
    """

    seq: int
    step: int
    node: str
    role: str
    speaker: str
    kind: str
    content: str
    tool_calls: tuple[tuple[str, str, str], ...] = ()
    tool_call_id: str | None = None
    run_id: str = ""
    exit_code: int | None = None


@dataclass
class StepGroup:
    """One step of the run (``step == -1`` holds the input; a last, uncommitted group
    holds the nodes a waiting or failed run stands at)."""

    step: int
    nodes: list[str]
    seconds: float | None = None
    started_at: float | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    inherited_from: str | None = None
    pending: str | None = None
    #: the files the step's code produced: ``(ArtifactRow, bytes)``, the bytes only for
    #: those the page shows (:func:`inline_artifact`), else ``None``
    artifacts: list[tuple[Any, bytes | None]] = field(default_factory=list)


@dataclass
class NodeStats:
    """Totals of one node over the run."""

    node: str
    kind: str
    visits: int = 0
    messages: int = 0
    seconds: float = 0.0
    usage: Usage = field(default_factory=Usage)


@dataclass
class ReportData:
    """Everything the report shows about one run."""

    record: Any
    overlay: RunOverlay
    groups: list[StepGroup]
    nodes: list[NodeStats]
    usage: Usage
    seconds: float
    kinds: dict[str, str]
    calls: list[Any] = field(default_factory=list)

    @property
    def message_count(self) -> int:
        return sum(len(g.entries) for g in self.groups)


def _kinds(spec: Mapping[str, Any], graph: Any, prefix: str = "") -> dict[str, str]:
    if graph is not None:
        out = {}
        for node_id, node in graph.nodes.items():
            out[prefix + node_id] = node.kind
            inner = node.impl.subgraph()
            if inner is not None:
                out.update(_kinds({}, inner, f"{prefix}{node_id}/"))
        return out
    return {prefix + str(n): str((o or {}).get("kind") or (o or {}).get("use") or "?")
            for n, o in (spec.get("nodes") or {}).items()}  # fmt: skip


def _tool_calls(row: MessageRow) -> tuple[tuple[str, str, str], ...]:
    calls = []
    for call in row["tool_calls"] or []:
        function = call.get("function") or {}
        arguments = function.get("arguments", "")
        if isinstance(arguments, str):
            with contextlib.suppress(json.JSONDecodeError, TypeError):
                arguments = json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
        else:
            arguments = json.dumps(arguments, indent=2, ensure_ascii=False, default=str)
        calls.append((str(call.get("id", "")), str(function.get("name", "?")), str(arguments)))
    return tuple(calls)


def _entry(row: MessageRow, prefix: str, kinds: Mapping[str, str], run_id: str) -> Entry:
    own = row["node"]
    node = f"{prefix}{own}" if own else prefix.rstrip("/")
    kind_of_node = kinds.get(node, "")
    content = row["content"] or ""
    calls = _tool_calls(row)
    exit_code = None
    if own is None:
        kind = "input"
    elif row["role"] == "tool":
        kind = "tool-result"
    elif calls:
        kind = "tool-call"
    elif kind_of_node == "human":
        kind = "human"
    elif kind_of_node == "code" and (match := _EXIT.match(content)):
        kind, exit_code = "code-output", int(match.group(1))
    else:
        kind = "message"
    return Entry(seq=int(row["seq"]), step=int(row["step"]), node=node, role=str(row["role"]),
                 speaker=str(row["name"] or own or row["role"]), kind=kind, content=content,
                 tool_calls=calls, tool_call_id=row["tool_call_id"], run_id=run_id,
                 exit_code=exit_code)  # fmt: skip


def _inner_entries(store: RunReader, run_id: str, prefix: str, overlay: RunOverlay,
                   kinds: Mapping[str, str]) -> dict[int, list[Entry]]:  # fmt: skip
    """Messages of the subgraph runs of ``run_id``, keyed by the outer step they ran in."""
    out: dict[int, list[Entry]] = {}
    for child in store.child_runs(run_id):
        node, visit = child.parent_node, child.parent_visit or 0
        if child.forked_at is not None or node is None:
            continue
        child_id = child.run_id
        steps = overlay.node_steps.get(node, [])
        outer = steps[visit] if visit < len(steps) else overlay.steps
        inner_prefix = f"{prefix}{node}/"
        found = [_entry(m, inner_prefix, kinds, child_id) for m in store.message_rows(child_id)]
        nested = _inner_entries(store, child_id, inner_prefix, overlay.child(node), kinds)
        merged: list[Entry] = []
        for inner_step in sorted({e.step for e in found} | set(nested)):
            merged.extend(nested.get(inner_step, []))
            merged.extend(e for e in found if e.step == inner_step)
        out.setdefault(outer, []).extend(merged)
    return out


def collect(store: RunReader, run_id: str, graph: Any = None) -> ReportData:
    """Read run ``run_id`` for its report.

    Example:
        >>> from graphflow import Graph, Store
        >>> g = Graph("hi", entry="a")
        >>> _ = g.add_node("a", lambda state: "hello")
        >>> graph, store = g.compile(), Store(":memory:")
        >>> run = graph.run_sync("hi there", store=store)
        >>> [(e.kind, e.node, e.content) for grp in collect(store, run.run_id).groups
        ...  for e in grp.entries]
        [('input', '', 'hi there'), ('message', 'a', 'hello')]

    Args:
        store: the run's store (any :class:`~graphflow.store.RunReader`).
        run_id: the run.
        graph: its compiled graph, if at hand (names node kinds inside subgraphs).

    Raises:
        RunNotFound: no such run.
    """
    record = store.get_run(run_id)
    overlay = RunOverlay.from_store(store, run_id)
    kinds = _kinds(record.spec or {}, graph)
    rows = lineage_steps(store, record, frozenset())
    groups: dict[int, StepGroup] = {-1: StepGroup(-1, [])}
    for row in rows:
        step = int(row["step"])
        groups[step] = StepGroup(
            step, list(row["nodes"] or []), seconds=float(row["seconds"]),
            started_at=float(row["started_at"]), variables=dict(row["variables"] or {}),
            usage={n: Usage.from_dict(u) for n, u in (row["usage"] or {}).items()},
            inherited_from=None if row["run_id"] == run_id else str(row["run_id"]))  # fmt: skip
    pending = overlay.waiting or overlay.failed or {n: "" for n in overlay.upcoming}
    if pending and record.status != "completed":
        groups[record.last_step + 1] = StepGroup(record.last_step + 1, list(pending),
                                                 pending=record.status)  # fmt: skip
    inner = _inner_entries(store, run_id, "", overlay, kinds)
    for step, entries in inner.items():
        groups.setdefault(step, StepGroup(step, [])).entries.extend(entries)
    for m in store.message_rows(run_id):
        entry = _entry(m, "", kinds, run_id)
        groups.setdefault(entry.step, StepGroup(entry.step, [])).entries.append(entry)
    for artifact in store.artifacts(run_id) if hasattr(store, "artifacts") else ():
        group = groups.setdefault(artifact["step"], StepGroup(artifact["step"], [artifact["node"]]))
        shown = inline_artifact(artifact["media_type"], artifact["size"])
        group.artifacts.append((artifact, store.artifact_data(artifact["digest"]) if shown
                                else None))  # fmt: skip

    stats: dict[str, NodeStats] = {}
    for node_id, kind in kinds.items():
        if "/" not in node_id:
            stats[node_id] = NodeStats(node_id, kind)
    total, seconds = Usage(), 0.0
    for group in groups.values():
        if group.seconds is not None:
            seconds += group.seconds
        for node in group.nodes:
            item = stats.setdefault(node, NodeStats(node, kinds.get(node, "?")))
            if group.seconds is not None:
                item.visits += 1
                item.seconds += group.seconds
        for node, usage in group.usage.items():
            item = stats.setdefault(node, NodeStats(node, kinds.get(node, "?")))
            item.usage += usage
            total += usage
        for entry in group.entries:
            top = entry.node.split("/", 1)[0]
            if top in stats:
                stats[top].messages += 1
    calls = store.model_calls(run_id) if hasattr(store, "model_calls") else []
    return ReportData(record=record, overlay=overlay,
                      groups=[groups[k] for k in sorted(groups)],
                      nodes=list(stats.values()), usage=total, seconds=seconds,
                      kinds=kinds, calls=list(calls))  # fmt: skip


def short_value(value: Any, width: int = 120) -> str:
    """A variable's value as one short line of JSON.

    Example:
        >>> short_value({"a": [1, 2]}, width=8)
        '{"a": […'
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"
