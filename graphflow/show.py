"""``graphflow show``: a run's status, the models it uses, its transcript, the artifacts
its code produced, tokens/cost per node and (``--calls``) each model call's prompt and
answer, read through the store's :class:`~graphflow.store.RunReader`."""

from __future__ import annotations

import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from graphflow.errors import GraphflowError
from graphflow.store.codec import dumps
from graphflow.terminal import visible

if TYPE_CHECKING:
    from graphflow.store import MessageRow, ModelCallRow, RunReader

__all__ = ["print_calls", "print_run", "run_as_dict", "save_artifacts"]

#: Characters of each earlier prompt message ``show --calls`` prints (``--json`` has all).
PROMPT_PREVIEW = 160


def run_as_dict(store: RunReader, run_id: str, *, calls: bool = False) -> dict[str, Any]:
    """Run ``run_id`` as ``graphflow show --json`` prints it (with ``calls``: its model
    calls under ``model_calls``). Raises RunNotFound."""
    data = _read(store, run_id)[0]
    if calls:
        data["model_calls"] = [dict(c) for c in store.model_calls(run_id)]
    return data


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
        "models": record.models,
        "variables": variables, "visits": visits, "usage": _usage(store, run_id, record.usage),
        "messages": [_message(m) for m in rows],
        "artifacts": [dict(a) for a in store.artifacts(run_id)],
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
    return usage_report(total, usage_by_node(store.node_usage_parts(run_id)))


def _money(usage: Any) -> str:
    """A usage's cost for the table: ``unknown`` when no price is known, never a false 0."""
    if usage.cost_known:
        return f"{usage.cost:.4f}" if usage.cost else "0"
    return str(usage.cost_text())


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
            person = (info.get("payload") or {}).get("person")
            asked += f" for {escape(str(person))}" if person else ""
            console.print(f"[yellow]waiting[/] at {escape(node)}{asked}: "
                          f"{escape(info.get('question', ''))}")  # fmt: skip
    if data["error"]:
        console.print(f"[red]error:[/] {escape(data['error'])}")
    if data["models"] and data["models"].get("entries"):
        from graphflow.models.recorded import record_lines

        origin = data["models"].get("origin")
        console.print("models: " + escape("; ".join(record_lines(data["models"])))
                      + (f" [dim]({escape(origin)})[/]" if origin else ""))  # fmt: skip
    console.print()
    for m in rows:
        speaker = m["name"] or m["node"] or m["role"]
        text = m["content"] or ""
        if m["tool_calls"]:
            calls = ", ".join(f"{c.get('function', {}).get('name')}({c.get('function', {}).get('arguments', '')})"
                              for c in m["tool_calls"])  # fmt: skip
            text = (text + "\n" if text else "") + f"[tool calls] {calls}"
        step = "in " if m["step"] < 0 else f"{m['step']:>3}"
        console.print(f"[dim]{step}[/] [bold cyan]{escape(visible(speaker))}[/] [dim]({m['role']})[/]: "
                      f"{escape(visible(text, keep_lines=True))}")  # fmt: skip
    _print_tool_failures(console, data["variables"])
    _print_artifacts(console, data["artifacts"])
    _print_citations(console, data["variables"])
    from graphflow.models.usage import read_usage_report

    total, by_node = read_usage_report(data["usage"])
    if total.calls:
        table = Table("node", "calls", "cached", "prompt tok", "completion tok", "cost",
                      title="model usage", box=None)  # fmt: skip
        for node, u in [*by_node.items(), ("total", total)]:
            table.add_row(node, str(u.calls), str(u.cached_calls), str(u.prompt_tokens),
                          str(u.completion_tokens), escape(_money(u)))  # fmt: skip
        console.print()
        console.print(table)


def _print_artifacts(console: Any, artifacts: list[dict[str, Any]]) -> None:
    """The files the run's code produced: step, node, name, type, size and digest."""
    from rich.markup import escape

    if not artifacts:
        return
    console.print()
    console.print(f"[bold]artifacts[/] ({len(artifacts)})")
    for a in artifacts:
        console.print(f"[dim]{a['step']:>3}[/] {escape(a['node'])}: [bold]{escape(visible(a['name']))}[/] "
                      f"{escape(a['media_type'])}, {a['size']:,} bytes "
                      f"[dim]sha256 {a['digest'][:12]}[/]")  # fmt: skip


def save_artifacts(store: RunReader, run_id: str, folder: str | Path) -> list[Path]:
    """Write the run's artifacts into ``folder`` (made if missing) under their names; of
    several with one name, the newest step's. Returns the paths written.

    An artifact that cannot be written (a file of the run is in the way of a folder
    another one needs, a name too long for the file system) does not stop the others.

    Raises:
        StoreError: an artifact's bytes are missing from the store.
        GraphflowError: some artifacts could not be written; the message names each and
            why, and how many were written.
    """
    newest = {a["name"]: a for a in store.artifacts(run_id)}  # in step order
    root = Path(folder)
    written: list[Path] = []
    failed: list[str] = []
    for name, row in sorted(newest.items()):
        path = root / PurePosixPath(name)  # names are relative, without '..' (put_artifact)
        data = store.artifact_data(row["digest"])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            shown = name if len(name) <= 80 else name[:80] + "…"
            failed.append(f"{shown!r} "
                          f"({exc.strerror or type(exc).__name__})")  # fmt: skip
            continue
        written.append(path)
    if failed:
        raise GraphflowError(
            f"run {run_id!r}: wrote {len(written)} of {len(newest)} artifacts into {root}; "
            f"not written: {'; '.join(failed)}. A file of the run may be in the way of a "
            "folder of another (save into an empty folder), or a name may be too long for "
            "the file system; read those with store.artifact_data(digest)")  # fmt: skip
    return written


def _print_tool_failures(console: Any, variables: dict[str, Any]) -> None:
    """The tracebacks tool nodes recorded (their ``NODE_errors`` variables)."""
    from rich.markup import escape

    for name, value in variables.items():
        if not (name.endswith("_errors") and isinstance(value, list)):
            continue
        for failure in value:
            if isinstance(failure, dict) and "traceback" in failure:
                console.print()
                console.print(f"[red]tool {escape(str(failure.get('tool')))} raised[/] "
                              f"(call {escape(str(failure.get('call_id')))}, node "
                              f"{escape(name[: -len('_errors')])}):")  # fmt: skip
                console.print(escape(str(_redacted(failure.get("traceback")) or "")).rstrip())


def _print_citations(console: Any, variables: dict[str, Any]) -> None:
    """The sources the answer was given, as ``retrieve`` nodes recorded them (their
    ``NODE_citations`` variables): ``[label] file:first-last (section)``."""
    from rich.markup import escape

    from graphflow.knowledge.documents import citation_text, citations_in

    for node, citations in citations_in(variables):
        console.print()
        console.print(f"[bold]sources[/] (retrieved by {escape(node)}):")
        for citation in citations:
            console.print(f"  {escape(citation_text(citation))}")


def print_calls(console: Any, store: RunReader, run_id: str) -> None:
    """Print each model call of the run: where and who, latency, tokens and cost, the
    prompt (earlier messages cut to :data:`PROMPT_PREVIEW` characters, the last one
    whole) and the answer or the error."""
    from rich.markup import escape

    from graphflow.models.usage import Usage

    calls = store.model_calls(run_id)
    if not calls:
        console.print("no model calls recorded for this run (none made, or the run kept "
                      "none: --no-record-calls)")  # fmt: skip
        return
    for call in calls:
        usage = Usage.from_dict(call["usage"]) if call["usage"] else None
        facts = [f"step {call['step']}", call["node"], f"{call['model']} at {call['base_url']}"
                 if call["base_url"] else str(call["model"]), f"{call['seconds']:.2f} s"]  # fmt: skip
        if usage is not None:
            cached = " (cached)" if usage.cached else ""
            tokens = usage.tokens_including_cached
            facts.append(f"{tokens} tokens{cached} · {usage.cost_text() if usage.calls else ''}")
        console.print(f"[bold]call {call['seq']}[/] · " + escape(" · ".join(facts)))
        if call["tools"]:
            console.print(f"  [dim]tools offered:[/] {escape(', '.join(call['tools']))}")
        prompt = call["prompt"]
        for index, message in enumerate(prompt):
            text = _text(message)
            if index < len(prompt) - 1 and len(text) > PROMPT_PREVIEW:
                text = text[: PROMPT_PREVIEW - 1] + "…"
            who = message.get("name") or message.get("role")
            console.print(f"  [dim]{escape(str(who))} ({message.get('role')}):[/] {escape(text)}")
        _print_answer(console, call)
        console.print()


def _print_answer(console: Any, call: ModelCallRow) -> None:
    from rich.markup import escape

    if call["error"]:
        console.print(f"  [red]error:[/] {escape(call['error'])}")
    elif call["response"] is not None:
        answer = _text(call["response"].get("message") or {})
        reason = call["response"].get("finish_reason")
        console.print(f"  [green]→ answer[/] [dim]({escape(str(reason))})[/]: {escape(answer)}")


def _text(message: dict[str, Any]) -> str:
    text = str(message.get("content") or "")
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        text += f"{chr(10) if text else ''}[tool call] {function.get('name')}({function.get('arguments', '')})"
    return text
