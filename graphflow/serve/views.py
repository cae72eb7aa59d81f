"""What the HTTP API answers about runs, read through the store's reader protocol.

Pure functions from a :class:`~graphflow.store.RunReader` to JSON-ready dicts (no HTTP
here): :func:`run_summary` (one line of ``GET /api/runs``), :func:`run_detail`
(``GET /api/runs/{id}``), :func:`model_calls` (``GET /api/runs/{id}/calls``) and
:func:`list_runs` with its filters. Every string that leaves the server goes through
:func:`graphflow.secrets.redact` (:func:`redacted`): keys found in an error, a message or
a prompt are never sent to a browser.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from graphflow.models.usage import Usage, usage_by_node, usage_report
from graphflow.resuming import question_ids
from graphflow.secrets import redact, secret_values
from graphflow.serve.errors import hide_passwords

if TYPE_CHECKING:
    from graphflow.store import MessageRow, RunReader, RunRecord, StepRow

__all__ = ["list_runs", "message_json", "model_calls", "question_of", "redacted",
           "run_detail", "run_summary", "step_json"]  # fmt: skip

#: How many of the newest runs a ``text`` filter reads the messages of, at most.
TEXT_SCAN = 500


def redacted(value: Any, secrets: frozenset[str] | None = None) -> Any:
    """``value`` (JSON-ready) with every string passed through :func:`redact` and
    :func:`~graphflow.serve.errors.hide_passwords` (``http://user:[redacted]@host``), and the
    numbers JSON cannot carry (NaN, infinities: a run started from Python may hold
    them) written as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.

    Example:
        >>> redacted({"a": ["key sk-abcdefghijklmnopqrstuvwx", 1, float("-inf")]})
        {'a': ['key [redacted]', 1, '-Infinity']}
    """
    found = frozenset(secret_values()) if secrets is None else secrets
    if isinstance(value, str):
        return hide_passwords(redact(value, secrets=found))
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): redacted(v, found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redacted(v, found) for v in value]
    return value


def questions_of(record: RunRecord) -> list[dict[str, Any]]:
    """The questions run ``record`` waits on: ``[{"id", "node", "text", "options"}]``
    (``[]`` unless it waits)."""
    nodes = (record.waiting or {}).get("nodes") or {}
    return [{"id": qid, "node": node, "text": str((nodes.get(node) or {}).get("question", "")),
             "options": list((nodes.get(node) or {}).get("options") or [])}
            for node, qid in question_ids(record).items()]  # fmt: skip


def question_of(record: RunRecord) -> dict[str, Any] | None:
    """The (first) question the run waits on, or ``None`` unless it waits."""
    found = questions_of(record)
    return found[0] if found else None


def _usage(record: RunRecord) -> dict[str, Any]:
    usage = Usage.from_dict({k: v for k, v in (record.usage or {}).items() if k != "by_node"})
    return {"calls": usage.calls, "tokens": usage.total_tokens,
            "cost": round(usage.cost, 10) if usage.cost_known else None,
            "cost_text": usage.cost_text() if usage.calls else "$0"}  # fmt: skip


def run_summary(record: RunRecord) -> dict[str, Any]:
    """One run as ``GET /api/runs`` lists it.

    Keys: ``run_id``, ``graph``, ``status``, ``reason``, ``steps`` (committed),
    ``question`` (``{"id", "node", "text", "options"}`` or ``None``), ``questions``,
    ``usage`` (``calls``, ``tokens``, ``cost`` in US dollars or ``None`` when a price is
    unknown, ``cost_text``), ``parent_run``, ``parent_node``, ``forked_at``,
    ``created_at`` and ``updated_at`` (seconds since the epoch).
    """
    questions = questions_of(record)
    return {"run_id": record.run_id, "graph": record.graph, "status": record.status,
            "reason": record.reason, "steps": record.last_step + 1,
            "question": questions[0] if questions else None, "questions": questions,
            "usage": _usage(record), "parent_run": record.parent_run,
            "parent_node": record.parent_node, "forked_at": record.forked_at,
            "created_at": record.created_at, "updated_at": record.updated_at}  # fmt: skip


def message_json(row: MessageRow) -> dict[str, Any]:
    """A stored message: ``seq``, ``step`` (-1: the run's input), ``node``, ``role``,
    ``name``, ``content``, ``tool_calls``, ``tool_call_id``."""
    return {"seq": row["seq"], "step": row["step"], "node": row["node"], "role": row["role"],
            "name": row["name"], "content": row["content"], "tool_calls": row["tool_calls"],
            "tool_call_id": row["tool_call_id"]}  # fmt: skip


def step_json(row: StepRow) -> dict[str, Any]:
    """A committed step: ``step``, ``nodes``, ``variables`` (changed), ``next`` (the
    frontier after it), ``usage`` by node, ``started_at``, ``seconds``."""
    return {"step": row["step"], "nodes": list(row["nodes"] or []),
            "variables": row["variables"] or {}, "next": row["next"], "usage": row["usage"],
            "started_at": row["started_at"], "seconds": row["seconds"]}  # fmt: skip


def run_detail(store: RunReader, run_id: str) -> dict[str, Any]:
    """Run ``run_id`` as ``GET /api/runs/{id}`` answers it: :func:`run_summary`'s keys
    and ``error``, ``failed_node``, ``failed_step``, ``next`` (nodes to run next),
    ``variables``, ``visits``, ``usage`` (totals, ``by_node``), ``models``, ``messages``,
    ``step_rows`` and ``children`` (forks and subgraph runs). Raises RunNotFound."""
    record = store.get_run(run_id)
    variables, visits = store.load_variables(run_id, record.last_step)
    usage = usage_report(Usage.from_dict({k: v for k, v in (record.usage or {}).items()
                                          if k != "by_node"}),
                         usage_by_node(store.node_usage_parts(run_id)))  # fmt: skip
    out = run_summary(record)
    out.update({"error": record.error, "failed_node": record.failed_node,
                "failed_step": record.failed_step,
                "next": list((record.frontier or {}).get("run") or []),
                "variables": variables, "visits": visits,
                "usage": {**out["usage"], **usage}, "models": record.models,
                "messages": [message_json(m) for m in store.message_rows(run_id)],
                "step_rows": [step_json(s) for s in store.steps(run_id)],
                "children": [{"run_id": c.run_id, "forked_at": c.forked_at,
                              "parent_node": c.parent_node, "parent_visit": c.parent_visit}
                             for c in store.child_runs(run_id)]})  # fmt: skip
    return out


def model_calls(store: RunReader, run_id: str) -> list[dict[str, Any]]:
    """The run's recorded model calls (``[]`` when none): ``seq``, ``step``, ``node``,
    ``model``, ``base_url``, ``started_at``, ``seconds`` (latency), ``prompt`` (the
    messages sent), ``tools``, ``response`` (message and ``finish_reason``), ``usage``
    (with ``tokens`` and ``cost_text``), ``error``. Raises RunNotFound."""
    store.get_run(run_id)
    out = []
    for call in store.model_calls(run_id):
        item = {k: v for k, v in dict(call).items() if k != "run_id"}
        usage = Usage.from_dict(call["usage"]) if call["usage"] else Usage()
        item["usage"] = {**(call["usage"] or {}), "tokens": usage.total_tokens,
                         "cost_text": usage.cost_text() if usage.calls else "$0"}  # fmt: skip
        out.append(item)
    return out


def _matches(store: RunReader, record: RunRecord, text: str, scan: bool) -> bool:
    fields: Iterable[str | None] = (record.run_id, record.graph, record.reason, record.status,
                                    *(q["text"] for q in questions_of(record)))  # fmt: skip
    if any(text in (f or "").lower() for f in fields):
        return True
    return scan and any(text in (m["content"] or "").lower() for m in store.message_rows(record.run_id))


def list_runs(store: RunReader, *, status: str | None = None, graph: str | None = None,
              text: str | None = None, limit: int = 100) -> list[dict[str, Any]]:  # fmt: skip
    """Runs, newest first, as :func:`run_summary` dicts: only those of ``status``, of
    graph ``graph``, and whose id, graph, reason, question or (among the newest
    :data:`TEXT_SCAN` runs) messages contain ``text`` (case-insensitive); at most ``limit``."""
    needle = (text or "").strip().lower()
    out = []
    for index, record in enumerate(store.list_runs(status=status)):
        if graph and record.graph != graph:
            continue
        if needle and not _matches(store, record, needle, index < TEXT_SCAN):
            continue
        out.append(run_summary(record))
        if len(out) >= limit:
            break
    return out
