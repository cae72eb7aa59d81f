"""Rich display in notebooks: the HTML that Jupyter shows for a ``RunResult``, a
``ChatResult`` and a ``RunOverlay`` (their ``_repr_html_``), as compact as the report
but inline: status, the transcript, tokens and cost, and the question a waiting run asks.

Everything a run's messages contain is escaped; nothing is loaded from the network.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from graphflow.messages import Message
from graphflow.models.usage import Usage

__all__ = ["chat_result_html", "overlay_html", "run_result_html"]

#: Characters of a message shown inline (the rest is behind "more").
SHOWN = 600
_COLORS = {"completed": "#15803d", "waiting": "#b45309", "failed": "#b91c1c"}
_STYLE = ("font-family:system-ui,sans-serif;font-size:13px;line-height:1.4;"
          "border:1px solid #e5e7eb;border-radius:6px;padding:8px 12px;max-width:960px")  # fmt: skip


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _status(status: str) -> str:
    color = _COLORS.get(status, "#7c3aed")
    return f'<b style="color:{color}">{_e(status)}</b>'


def _usage_line(usage: Mapping[str, Any] | None) -> str:
    data = {k: v for k, v in (usage or {}).items() if k != "by_node"}
    total = Usage.from_dict(data) if data else Usage()
    if not total.calls:
        return ""
    cached = f", {total.cached_calls} cached" if total.cached_calls else ""
    return (f"{total.calls} model call{'s' * (total.calls != 1)}{cached} · "
            f"{total.tokens_including_cached:,} tokens · {_e(total.cost_text())}")  # fmt: skip


def _message_rows(messages: Iterable[Message]) -> str:
    rows = []
    for m in messages:
        who = m.name or m.node or m.role
        text = m.content or ""
        for call in m.tool_calls or ():
            function = call.get("function") or {}
            text += f"\n[tool call] {function.get('name')}({function.get('arguments', '')})"
        body = _e(text)
        if len(text) > SHOWN:
            body = (f"{_e(text[:SHOWN])}<details style='display:inline'><summary>more"
                    f"</summary>{_e(text[SHOWN:])}</details>")  # fmt: skip
        rows.append(f"<tr><td style='vertical-align:top;padding-right:8px;white-space:nowrap'>"
                    f"<b>{_e(who)}</b> <span style='color:#6b7280'>{_e(m.role)}</span></td>"
                    f"<td style='white-space:pre-wrap'>{body}</td></tr>")  # fmt: skip
    return "<table style='border-collapse:collapse'>" + "".join(rows) + "</table>"


def run_result_html(result: Any) -> str:
    """The HTML of a ``RunResult``: run id, status (and why), the question it waits for,
    the transcript, tokens and cost.

    Example:
        >>> from graphflow.results import RunResult
        >>> html_text = run_result_html(RunResult("r1", "completed", messages=[Message(content="<hi>")]))
        >>> "r1" in html_text and "&lt;hi&gt;" in html_text
        True
    """
    head = f"run <code>{_e(result.run_id)}</code> {_status(result.status)} after {result.steps} steps"
    if result.reason:
        head += f" <span style='color:#6b7280'>({_e(result.reason)})</span>"
    parts = [f"<div>{head}</div>"]
    if result.error:
        parts.append(f"<div style='color:#b91c1c'>{_e(result.error.splitlines()[0])}</div>")
    for node, question in (result.waiting or {}).items():
        parts.append(f"<div style='color:#b45309'>waiting at <b>{_e(node)}</b>: {_e(question)}</div>")
    usage = _usage_line(result.usage)
    if usage:
        parts.append(f"<div style='color:#374151'>{usage}</div>")
    parts.append(_message_rows(result.messages))
    return f"<div class='graphflow-run' style='{_STYLE}'>" + "".join(parts) + "</div>"


def chat_result_html(chat: Any) -> str:
    """The HTML of a ``ChatResult``: status, summary, the conversation, tokens and cost."""
    head = f"chat <code>{_e(chat.run_id)}</code> {_status(chat.status)}"
    if chat.reason:
        head += f" <span style='color:#6b7280'>({_e(chat.reason)})</span>"
    parts = [f"<div>{head}</div>"]
    if chat.summary:
        parts.append(f"<div><b>summary</b>: {_e(chat.summary)}</div>")
    if chat.question:
        parts.append(f"<div style='color:#b45309'>waiting: {_e(chat.question)}</div>")
    usage = _usage_line(chat.cost)
    if usage:
        parts.append(f"<div style='color:#374151'>{usage}</div>")
    parts.append(_message_rows(chat.messages))
    return f"<div class='graphflow-chat' style='{_STYLE}'>" + "".join(parts) + "</div>"


def overlay_html(overlay: Any, svg: str | None) -> str:
    """The HTML of a ``RunOverlay``: its title, the drawing when there is one (``svg``),
    and the visit counts."""
    counts = ", ".join(f"{_e(n)} ×{c}" for n, c in overlay.visits.items())  # noqa: RUF001
    parts = [f"<div><b>{_e(overlay.title())}</b></div>"]
    if svg:
        parts.append(f"<div style='overflow:auto;max-height:640px'>{svg}</div>")
    parts.append(f"<div style='color:#374151'>visits: {counts or 'none'}</div>")
    return f"<div class='graphflow-overlay' style='{_STYLE}'>" + "".join(parts) + "</div>"
