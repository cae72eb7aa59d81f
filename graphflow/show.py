"""``graphflow show``: a run's status, transcript, and tokens/cost per node, read through
the store's :class:`~graphflow.store.RunReader`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from graphflow.store.codec import dumps

if TYPE_CHECKING:
    from graphflow.store import MessageRow, RunReader

__all__ = ["print_run", "run_as_dict"]


def run_as_dict(store: RunReader, run_id: str) -> dict[str, Any]:
    """Run ``run_id`` as ``graphflow show --json`` prints it. Raises RunNotFound."""
    return _read(store, run_id)[0]


def _read(store: RunReader, run_id: str) -> tuple[dict[str, Any], list[MessageRow]]:
    record = store.get_run(run_id)
    rows = store.message_rows(run_id)
    variables, visits = store.load_variables(run_id, record.last_step)
    return {
        "run_id": record.run_id, "graph": record.graph, "source": record.source,
        "status": record.status, "reason": record.reason, "error": _redacted(record.error),
        "failed_node": record.failed_node, "failed_step": record.failed_step,
        "waiting": record.waiting, "steps": record.last_step + 1,
        "parent_run": record.parent_run, "forked_at": record.forked_at,
        "parent_node": record.parent_node, "parent_visit": record.parent_visit,
        "created_at": record.created_at, "updated_at": record.updated_at,
        "variables": variables, "visits": visits, "usage": _usage(store, run_id, record.usage),
        "messages": [_message(m) for m in rows],
    }, rows  # fmt: skip


def _redacted(text: str | None) -> str | None:
    from graphflow.secrets import redact

    return redact(text) if text else text


def _message(row: MessageRow) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if row["tool_calls"]:
        extra["tool_calls"] = row["tool_calls"]
    if row["tool_call_id"]:
        extra["tool_call_id"] = row["tool_call_id"]
    return {"seq": row["seq"], "step": row["step"], "node": row["node"], "role": row["role"],
            "name": row["name"], "content": row["content"],
            "extra": dumps(extra) if extra else None}  # fmt: skip


def _usage(store: RunReader, run_id: str, totals: dict[str, Any] | None) -> dict[str, Any]:
    from graphflow.models.usage import Usage, usage_by_node, usage_report

    total = Usage.from_dict({k: v for k, v in (totals or {}).items() if k != "by_node"})
    return usage_report(total, usage_by_node(store.step_usages(run_id)))


def _money(value: float) -> str:
    return f"{value:.4f}" if value else "0"


def print_run(console: Any, store: RunReader, run_id: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    data, rows = _read(store, run_id)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data["created_at"]))
    console.print(f"[bold]run {data['run_id']}[/]  graph {escape(data['graph'])}  "
                  f"started {when}")  # fmt: skip
    status = f"status [bold]{data['status']}[/] after {data['steps']} steps"
    if data["reason"]:
        status += f" ({escape(data['reason'])})"
    console.print(status)
    if data["parent_run"] and data["forked_at"] is not None:
        console.print(f"forked from {data['parent_run']} at step {data['forked_at']}")
    elif data["parent_run"]:
        console.print(f"inner run of node {escape(str(data['parent_node']))} (visit "
                      f"{data['parent_visit']}) of run {data['parent_run']}")  # fmt: skip
    if data["waiting"]:
        for node, info in data["waiting"].get("nodes", {}).items():
            asked = f" (question {info['id']})" if info.get("id") else ""
            console.print(f"[yellow]waiting[/] at {escape(node)}{asked}: "
                          f"{escape(info.get('question', ''))}")  # fmt: skip
    if data["error"]:
        console.print(f"[red]error:[/] {escape(data['error'])}")
    console.print()
    for m in rows:
        speaker = m["name"] or m["node"] or m["role"]
        text = m["content"] or ""
        if m["tool_calls"]:
            calls = ", ".join(f"{c.get('function', {}).get('name')}({c.get('function', {}).get('arguments', '')})"
                              for c in m["tool_calls"])  # fmt: skip
            text = (text + "\n" if text else "") + f"[tool calls] {calls}"
        step = "in " if m["step"] < 0 else f"{m['step']:>3}"
        console.print(f"[dim]{step}[/] [bold cyan]{escape(speaker)}[/] [dim]({m['role']})[/]: "
                      f"{escape(text)}")  # fmt: skip
    from graphflow.models.usage import read_usage_report

    total, by_node = read_usage_report(data["usage"])
    if total.calls:
        table = Table("node", "calls", "cached", "prompt tok", "completion tok", "cost",
                      title="model usage", box=None)  # fmt: skip
        for node, u in [*by_node.items(), ("total", total)]:
            table.add_row(node, str(u.calls), str(u.cached_calls), str(u.prompt_tokens),
                          str(u.completion_tokens), _money(u.cost))  # fmt: skip
        console.print()
        console.print(table)
