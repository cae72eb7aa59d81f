"""The run report as one self-contained HTML page.

Everything taken from the run (messages, tool arguments, errors, variable values, node
names, artifact names) is escaped with :func:`html.escape`: model output is untrusted; it is also passed
through :func:`graphflow.secrets.redact`, so configured keys and key-shaped strings are
not shown. The page's only script is graphflow's own (``report.js``), allowed by a
Content-Security-Policy hash, so even markup that slipped through could not run; it
attaches its click handlers itself, and no handler is ever built from run content. The
diagram's SVG is inlined without links, event attributes or scripts (graphflow's
diagrams have none; a hostile name must not add one). Image artifacts are shown through
``<img src="data:…">`` (the policy allows images from ``data:`` only), which never runs
a script, not even an SVG's.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import html
import re
import time
from importlib import resources
from typing import Any

from graphflow.models.usage import Usage
from graphflow.render.overlay import PALETTE
from graphflow.report.data import (
    IMAGE_TYPES,
    Entry,
    NodeStats,
    ReportData,
    StepGroup,
    short_value,
)
from graphflow.secrets import redact, secret_values

__all__ = ["render_html", "svg_for_page"]

_KIND_BADGE = {"input": "input", "human": "human input", "tool-call": "tool call",
               "tool-result": "tool result", "code-output": "code output"}  # fmt: skip
_FENCE = re.compile(r"```([\w+-]*)[^\n]*\n(.*?)```", re.S)


# The secret values to redact while one page is rendered (read once per page).
_SECRETS: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "graphflow_report_secrets", default=frozenset()
)
# What an SVG inlined in the page may not carry: links, event handlers, scripts.
_SVG_LINK = re.compile(r"""\s(?:xlink:)?href\s*=\s*(?:"[^"]*"|'[^']*')""", re.I)
_SVG_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*(?:"[^"]*"|'[^']*')""", re.I)
_SVG_SCRIPT = re.compile(r"<script\b.*?</script\s*>|<script\b[^>]*/?>|<foreignObject\b.*?"
                         r"</foreignObject\s*>", re.I | re.S)  # fmt: skip


def _e(value: Any) -> str:
    return html.escape(redact(str(value), secrets=_SECRETS.get()), quote=True)


def _asset(name: str) -> str:
    return resources.files("graphflow.report").joinpath(name).read_text(encoding="utf-8")


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 0.001:
        return f"{value * 1_000_000:.0f} µs"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{value / 60:.1f} min"


def _tokens(usage: Usage) -> str:
    return f"{usage.total_tokens:,}" if usage.total_tokens else "0"


def _cost(usage: Usage) -> str:
    if not usage.cost_known:
        return usage.cost_text()
    return f"${usage.cost:.4f}" if usage.cost else "$0"


def svg_for_page(svg: str) -> str:
    """Graphviz SVG made fit to inline in HTML: no XML prolog, doctype or comments, no
    links, event attributes or scripts, and a width that follows the page.

    Example:
        >>> svg_for_page('<?xml version="1.0"?><!-- a --><svg width="80pt" height="9pt"></svg>')
        '<svg class="diagram-svg" style="max-width:100pt"></svg>'
    """
    svg = re.sub(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", "", svg, flags=re.S).strip()
    svg = _SVG_HANDLER.sub("", _SVG_LINK.sub("", _SVG_SCRIPT.sub("", svg)))
    size = re.search(r'<svg width="([\d.]+)pt" height="[^"]*"', svg)
    if size is None:
        return svg
    widest = float(size.group(1)) * 1.25  # small graphs are not blown up to the page width
    return (svg[: size.start()] + f'<svg class="diagram-svg" style="max-width:{widest:.0f}pt"'
            + svg[size.end():])  # fmt: skip


def _content(text: str) -> str:
    """Message text with fenced code blocks set apart; every part escaped."""
    parts, pos = [], 0
    for match in _FENCE.finditer(text):
        if match.start() > pos:
            parts.append(f'<div class="text">{_e(text[pos : match.start()].strip(chr(10)))}</div>')
        lang = match.group(1) or "code"
        parts.append(f'<div class="code"><span class="lang">{_e(lang)}</span>'
                     f"<pre><code>{_e(match.group(2))}</code></pre></div>")  # fmt: skip
        pos = match.end()
    rest = text[pos:].strip("\n")
    if rest:
        parts.append(f'<div class="text">{_e(rest)}</div>')
    return "".join(parts)


def _entry(entry: Entry) -> str:
    badge = _KIND_BADGE.get(entry.kind, "")
    if entry.kind == "code-output":
        badge = f"code output · exit {entry.exit_code}"
    body = ""
    if entry.kind == "code-output":
        ok = "ok" if entry.exit_code == 0 else "fail"
        body = f'<pre class="output {ok}">{_e(entry.content)}</pre>'
    elif entry.content:
        body = _content(entry.content)
    for call_id, name, arguments in entry.tool_calls:
        body += (f'<div class="call"><span class="fn">{_e(name)}</span>'
                 f'<span class="id">{_e(call_id)}</span><pre>{_e(arguments)}</pre></div>')  # fmt: skip
    meta = [f"node {entry.node}" if entry.node else "run input", entry.role]
    if entry.tool_call_id:
        meta.append(f"answers {entry.tool_call_id}")
    if entry.node.count("/"):
        meta.append(f"inner run {entry.run_id}")
    return (f'<article class="entry k-{_e(entry.kind)} r-{_e(entry.role)}" '
            f'data-node="{_e(entry.node)}" data-step="{entry.step}">'
            f'<header><span class="speaker">{_e(entry.speaker)}</span>'
            + (f'<span class="badge">{_e(badge)}</span>' if badge else "")
            + f'<span class="meta">{_e(" · ".join(meta))}</span></header>'
            f'<div class="body">{body or "<em>(empty)</em>"}</div></article>')  # fmt: skip


def _artifact(row: Any, data: bytes | None) -> str:
    """One artifact: an image inline, short text in a block, anything else named."""
    kind = str(row["media_type"])
    meta = f"{kind} · {row['size']:,} bytes · sha256 {str(row['digest'])[:12]}"
    body = ""
    if data is not None and kind in IMAGE_TYPES:
        encoded = base64.b64encode(data).decode("ascii")
        body = (f'<img class="artifact-image" alt="{_e(row["name"])}" '
                f'src="data:{_e(kind)};base64,{encoded}">')  # fmt: skip
    elif data is not None:
        body = f"<pre>{_e(data.decode('utf-8', errors='replace'))}</pre>"
    return (f'<figure class="entry artifact" data-node="{_e(row["node"])}" data-step="{row["step"]}">'
            f'<figcaption><span class="badge">artifact</span> <b>{_e(row["name"])}</b> '
            f'<span class="meta">{_e(row["node"])} · {_e(meta)}</span></figcaption>'
            f"{body}</figure>")  # fmt: skip


def _chips(nodes: list[str]) -> str:
    return "".join(f'<button type="button" class="chip pick" data-node="{_e(n)}">{_e(n)}</button>'
                   for n in nodes)  # fmt: skip


def _group(group: StepGroup, data: ReportData) -> str:
    if group.step == -1:
        if not group.entries:
            return ""
        title = "input"
    elif group.pending:
        title = f"step {group.step} · {group.pending}"
    else:
        title = f"step {group.step}"
    facts = []
    if group.seconds is not None:
        facts.append(_seconds(group.seconds))
    usage = Usage.total(group.usage.values())
    if usage.total_tokens:
        facts.append(f"{_tokens(usage)} tokens · {_cost(usage)}")
    if group.inherited_from:
        facts.append(f"from parent run {group.inherited_from}")
    extra = ""
    if group.variables:
        items = "".join(f"<li><code>{_e(k)}</code> = <code>{_e(short_value(v))}</code></li>"
                        for k, v in group.variables.items())  # fmt: skip
        extra += f'<ul class="vars" title="variables set in this step">{items}</ul>'
    extra += _sources(group.variables)
    record = data.record
    if group.pending == "waiting":
        asked = (record.waiting or {}).get("nodes") or {}
        for node, question in data.overlay.waiting.items():
            person = ((asked.get(node) or {}).get("payload") or {}).get("person")
            who = f"for {_e(person)}" if person else "for a person"
            extra += (f'<div class="callout waiting" data-node="{_e(node)}"><b>{_e(node)}</b> waits '
                      f"{who}: {_e(question)}</div>")  # fmt: skip
    elif group.pending == "failed":
        extra += f'<pre class="callout failed">{_e(record.error or record.reason or "")}</pre>'
    entries = "".join(_entry(e) for e in group.entries)
    entries += "".join(_artifact(row, data) for row, data in group.artifacts)
    if not entries and not extra and group.pending is None:
        entries = '<p class="quiet">no messages</p>'
    return (f'<section class="step" data-step="{group.step}"><h3>{_e(title)} '
            f'{_chips(group.nodes)}<span class="facts">{_e(" · ".join(facts))}</span></h3>'
            f"{extra}{entries}</section>")  # fmt: skip


def _call(call: Any) -> str:
    """One model call: what was asked (the prompt, message by message), what came back
    (or the error), tokens, cost and latency; folded until opened."""
    usage = Usage.from_dict(call["usage"]) if call["usage"] else Usage()
    who = f"{call['model']} at {call['base_url']}" if call["base_url"] else str(call["model"])
    facts = [f"step {call['step']}", call["node"], who, _seconds(call["seconds"])]
    if usage.calls:
        facts.append(f"{_tokens(usage)} tokens{' (cached)' if usage.cached else ''} · "
                     f"{_cost(usage)}")  # fmt: skip
    prompt = "".join(
        f'<li><span class="speaker">{_e(m.get("name") or m.get("role"))}</span> '
        f'<span class="meta">{_e(m.get("role"))}</span>{_content(_text(m))}</li>'
        for m in call["prompt"])  # fmt: skip
    if call["error"]:
        answer = f'<pre class="callout failed">{_e(call["error"])}</pre>'
    else:
        response = call["response"] or {}
        answer = (f'<div class="answer"><b>answer</b> <span class="meta">'
                  f'{_e(response.get("finish_reason") or "")}</span>'
                  f'{_content(_text(response.get("message") or {}))}</div>')  # fmt: skip
    tools = (f'<p class="meta">tools offered: {_e(", ".join(call["tools"]))}</p>'
             if call["tools"] else "")  # fmt: skip
    return (f'<details class="entry model-call" data-node="{_e(call["node"])}" '
            f'data-step="{call["step"]}"><summary><b>call {call["seq"]}</b> '
            f'<span class="meta">{_e(" · ".join(facts))}</span></summary>'
            f'<div class="body">{tools}<ol class="prompt">{prompt}</ol>{answer}</div></details>')  # fmt: skip


def _text(message: Any) -> str:
    text = str(message.get("content") or "")
    for tool_call in message.get("tool_calls") or ():
        function = tool_call.get("function") or {}
        text += f"\n[tool call] {function.get('name')}({function.get('arguments', '')})"
    return text.strip("\n")


def _calls(data: ReportData) -> str:
    if not data.calls:
        return ""
    items = "".join(_call(c) for c in data.calls)
    return (f'<section id="calls" class="panel"><h2>model calls</h2><p class="hint">each '
            f"call's prompt and answer, tokens, cost and latency; open one to read it</p>"
            f"{items}</section>")  # fmt: skip


def _node_table(nodes: list[NodeStats], usage: Usage, seconds: float) -> str:
    rows = []
    for n in sorted(nodes, key=lambda s: (-s.visits, s.node)):
        rows.append(f'<tr class="pick" data-node="{_e(n.node)}"><td>{_e(n.node)}</td>'
                    f"<td>{_e(n.kind)}</td><td>{n.visits}</td><td>{n.messages}</td>"
                    f"<td>{_e(_tokens(n.usage))}</td><td>{_e(_cost(n.usage))}</td>"
                    f"<td>{_e(_seconds(n.seconds))}</td></tr>")  # fmt: skip
    rows.append(f'<tr class="total"><td>total</td><td></td><td></td><td></td>'
                f"<td>{_e(_tokens(usage))}</td><td>{_e(_cost(usage))}</td>"
                f"<td>{_e(_seconds(seconds))}</td></tr>")  # fmt: skip
    return ('<table class="nodes"><thead><tr><th>node</th><th>kind</th><th>runs</th>'
            "<th>msgs</th><th>tokens</th><th>cost</th><th>step time</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")  # fmt: skip


def _legend() -> str:
    items = []
    for state, (border, fill, _text) in PALETTE.items():
        items.append(f'<span class="key"><i style="border-color:{border};'
                     f'background:{fill or "#fff"}"></i>{state}</span>')  # fmt: skip
    return f'<div class="legend">{"".join(items)}</div>'


def _summary(data: ReportData) -> str:
    r, t = data.record, data.usage
    cards = [("status", r.status), ("steps", str(r.last_step + 1)),
             ("messages", str(data.message_count)),
             ("tokens", f"{_tokens(t)} ({t.prompt_tokens:,} in / {t.completion_tokens:,} out)"),
             ("cost", _cost(t)), ("model calls", f"{t.calls} ({t.cached_calls} cached)"),
             ("step time", _seconds(data.seconds)),
             ("wall clock", _seconds(r.updated_at - r.created_at))]  # fmt: skip
    html_cards = "".join(f'<div class="card"><span>{_e(k)}</span><b>{_e(v)}</b></div>'
                         for k, v in cards)  # fmt: skip
    lines = []
    if r.reason:
        lines.append(f"<p><b>stop reason:</b> {_e(r.reason)}</p>")
    if data.overlay.forked_from:
        parent, at = data.overlay.forked_from
        lines.append(f"<p>forked from run <code>{_e(parent)}</code> at step {at}</p>")
    for fork_id, at, _nodes in data.overlay.forks:
        lines.append(f"<p>fork <code>{_e(fork_id)}</code> starts at step {at}</p>")
    return f'<div class="cards">{html_cards}</div>{"".join(lines)}'


def render_html(data: ReportData, svg: str | None, note: str | None = None) -> str:
    """The whole page for ``data``, with the overlaid diagram ``svg`` (or ``note`` saying
    why there is none)."""
    token = _SECRETS.set(frozenset(secret_values()))
    try:
        return _page(data, svg, note)
    finally:
        _SECRETS.reset(token)


def _sources(variables: dict[str, Any]) -> str:
    """The citations a ``retrieve`` node recorded in this step: the sources of the answer."""
    from graphflow.knowledge.documents import citation_text, citations_in

    out = ""
    for node, citations in citations_in(variables):
        items = "".join(f"<li><code>{_e(citation_text(c))}</code></li>" for c in citations)
        out += (f'<div class="callout sources" data-node="{_e(node)}"><b>sources</b> retrieved '
                f"by {_e(node)}<ul>{items}</ul></div>")  # fmt: skip
    return out


def _page(data: ReportData, svg: str | None, note: str | None) -> str:
    r = data.record
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           f"script-src 'sha256-{digest}'")  # fmt: skip
    diagram = svg_for_page(svg) if svg else f'<p class="quiet">{_e(note or "no diagram")}</p>'
    timeline = "".join(_group(g, data) for g in data.groups)
    status = _e(r.status)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(r.graph)} · run {_e(r.run_id)}</title>
<style>{_asset("report.css")}</style></head>
<body>
<header class="top"><h1>{_e(r.graph)} <span class="run">run {_e(r.run_id)}</span>
<span class="status s-{status}">{status}</span></h1>
<p class="when">started {_e(_when(r.created_at))} · last update {_e(_when(r.updated_at))}</p>
{_summary(data)}</header>
<main class="layout">
<aside class="left"><section id="diagram" class="panel"><h2>diagram</h2>{_legend()}
<div class="zoom"><button type="button" id="zoom-out" title="smaller (-)">&minus;</button>
<button type="button" id="zoom-in" title="larger (+)">+</button>
<button type="button" id="zoom-fit" title="fit the panel (0)">fit</button>
<button type="button" id="zoom-wide" title="give the diagram the page's width">wide</button></div>
<p class="hint">click a node to show only its messages; zoom with the buttons or the + and - keys</p>
<div id="canvas">{diagram}</div></section>
<section class="panel"><h2>nodes</h2>{_node_table(data.nodes, data.usage, data.seconds)}</section></aside>
<section class="right"><div class="panel"><h2>timeline</h2>
<input type="search" id="search" placeholder="search messages and model calls"
 aria-label="search messages and model calls">
<div id="filter" hidden><span id="filter-text"></span>
<button type="button" id="show-all">show all</button></div>
<div id="timeline">{timeline}</div></div>
{_calls(data)}</section>
</main>
<script>{script}</script>
</body></html>
"""
