"""``graphflow show``: a run's status, transcript, and tokens/cost per node."""

from __future__ import annotations

import json
import time
from typing import Any

__all__ = ["print_run", "run_as_dict"]


def run_as_dict(store: Any, run_id: str) -> dict[str, Any]:
    record = store.get_run(run_id)
    variables, visits = store.load_variables(run_id, record.last_step)
    return {
        "run_id": record.run_id, "graph": record.graph, "source": record.source,
        "status": record.status, "reason": record.reason, "error": _redacted(record.error),
        "waiting": record.waiting, "steps": record.last_step + 1,
        "parent_run": record.parent_run, "forked_at": record.forked_at,
        "created_at": record.created_at, "updated_at": record.updated_at,
        "variables": variables, "visits": visits, "usage": _usage(store, run_id, record.usage),
        "messages": store.message_rows(run_id),
    }  # fmt: skip


def _redacted(text: str | None) -> str | None:
    from graphflow.secrets import redact

    return redact(text) if text else text


def _usage(store: Any, run_id: str, totals: dict[str, Any] | None) -> dict[str, Any]:
    from graphflow.usage import by_node_from_steps

    usage = {k: v for k, v in (totals or {}).items() if k != "by_node"}
    by_node = by_node_from_steps(store.step_usages(run_id))
    return {**usage, "by_node": by_node} if by_node else usage


def _money(value: float) -> str:
    return f"{value:.4f}" if value else "0"


def print_run(console: Any, store: Any, run_id: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    data = run_as_dict(store, run_id)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data["created_at"]))
    console.print(f"[bold]run {data['run_id']}[/]  graph {escape(data['graph'])}  "
                  f"started {when}")  # fmt: skip
    status = f"status [bold]{data['status']}[/] after {data['steps']} steps"
    if data["reason"]:
        status += f" ({escape(data['reason'])})"
    console.print(status)
    if data["parent_run"]:
        console.print(f"forked from {data['parent_run']} at step {data['forked_at']}")
    if data["waiting"]:
        for node, info in data["waiting"].get("nodes", {}).items():
            console.print(f"[yellow]waiting[/] at {escape(node)}: {escape(info.get('question', ''))}")
    if data["error"]:
        console.print(f"[red]error:[/] {escape(data['error'])}")
    console.print()
    for m in data["messages"]:
        extra = json.loads(m["extra"]) if m["extra"] else {}
        speaker = m["name"] or m["node"] or m["role"]
        text = m["content"] or ""
        if extra.get("tool_calls"):
            calls = ", ".join(f"{c.get('function', {}).get('name')}({c.get('function', {}).get('arguments', '')})"
                              for c in extra["tool_calls"])  # fmt: skip
            text = (text + "\n" if text else "") + f"[tool calls] {calls}"
        step = "in " if m["step"] < 0 else f"{m['step']:>3}"
        console.print(f"[dim]{step}[/] [bold cyan]{escape(speaker)}[/] [dim]({m['role']})[/]: "
                      f"{escape(text)}")  # fmt: skip
    usage = data["usage"] or {}
    if usage.get("calls") or usage.get("cached_calls"):
        table = Table("node", "calls", "cached", "prompt tok", "completion tok", "cost",
                      title="model usage", box=None)  # fmt: skip
        rows = [*list((usage.get("by_node") or {}).items()), ("total", usage)]
        for node, u in rows:
            table.add_row(node, str(u.get("calls", 0)), str(u.get("cached_calls", 0)),
                          str(u.get("prompt_tokens", 0)), str(u.get("completion_tokens", 0)),
                          _money(u.get("cost", 0.0)))  # fmt: skip
        console.print()
        console.print(table)
