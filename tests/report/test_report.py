"""The HTML run report: content, escaping, self-containment, and the ``report`` command."""

# ruff: noqa: RUF001 - the multiplication sign marks visit counts in labels

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from graphflow import Store
from graphflow.report import build_report, write_report
from graphflow.report.data import collect
from tests.render.runs import ask_graph, failing_graph, nested_graph, run_loop
from tests.report.conftest import PWN


class Page(HTMLParser):
    """Collects tags with their attributes, and the text of <script> elements."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def with_class(self, tag: str, cls: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and cls in (a.get("class") or "").split()]


def test_report_of_a_loop(store: Store, tmp_path: Path, has_dot: None) -> None:
    graph, result = run_loop(store)
    path = write_report(store, result.run_id, tmp_path / "out" / "loop.html", graph=graph)
    text = path.read_text()
    page = Page(text)
    entries = page.with_class("article", "entry")
    assert [e["data-node"] for e in entries] == ["writer", "critic"] * 3
    assert [e["data-step"] for e in entries] == ["0", "1", "2", "3", "4", "5"]
    assert [a["data-step"] for a in page.with_class("section", "step")] == [
        str(i) for i in range(7)
    ]
    assert '<svg class="diagram-svg"' in text and "<?xml" not in text and "<!--" not in text
    assert "writer ×3" in text and "#2 #4" in text  # the overlay, inline
    rows = {a["data-node"] for a in page.with_class("tr", "pick")}
    assert rows == {"writer", "critic", "escalate", "publish"}
    assert re.search(r"<td>writer</td><td>function</td><td>3</td><td>3</td>", text)
    assert "stop reason:</b> published" in text


def test_every_entry_kind_tokens_and_cost(store: Store, rich_run: tuple[Any, str]) -> None:
    graph, run_id = rich_run
    data = collect(store, run_id, graph)
    kinds = [(e.node, e.kind) for g in data.groups for e in g.entries]
    assert kinds == [("", "input"), ("coder", "tool-call"), ("coder", "tool-result"),
                     ("coder", "message"), ("run", "code-output"), ("ask", "human"),
                     ("summary", "message")]  # fmt: skip
    code = next(e for g in data.groups for e in g.entries if e.kind == "code-output")
    assert code.exit_code == 0 and "42" in code.content
    call = next(e for g in data.groups for e in g.entries if e.kind == "tool-call")
    assert call.tool_calls == (("call_1", "lookup", '{\n  "q": "</script><b>x</b>"\n}'),)
    assert data.usage.prompt_tokens == 200 and data.usage.completion_tokens == 40
    assert data.usage.cost == pytest.approx(0.002) and data.usage.calls == 2
    stats = {n.node: n for n in data.nodes}
    assert stats["coder"].usage.cost == pytest.approx(0.0015) and stats["coder"].messages == 3
    assert stats["unused"].visits == 0 and stats["run"].visits == 1
    assert data.seconds == pytest.approx(sum(g.seconds or 0 for g in data.groups))
    text = build_report(store, run_id, graph)
    assert "240 (200 in / 40 out)" in text and "$0.0020" in text
    assert 'class="badge">human input<' in text and "code output · exit 0" in text
    assert 'class="lang">python<' in text


def test_untrusted_content_is_escaped(store: Store, rich_run: tuple[Any, str]) -> None:
    graph, run_id = rich_run
    text = build_report(store, run_id, graph)
    page = Page(text)
    assert [t for t, _ in page.tags].count("script") == 1
    assert len(page.scripts) == 1 and "__pwned" not in page.scripts[0]
    assert "<img" not in text and "<b>x</b>" not in text and "<i>yes/no</i>" not in text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=&quot;window.__pwned = 2&quot;&gt;" in text
    handlers = [k for _, attrs in page.tags for k in attrs if k.startswith("on")]
    assert handlers == []
    # The one script is allowed by its hash, and nothing else may run or load.
    csp = next(a["content"] for t, a in page.tags if t == "meta"
               and a.get("http-equiv") == "Content-Security-Policy")  # fmt: skip
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp


def test_report_is_self_contained(store: Store, rich_run: tuple[Any, str]) -> None:
    graph, run_id = rich_run
    text = build_report(store, run_id, graph)
    page = Page(text)
    assert not [t for t, _ in page.tags if t in ("link", "img", "iframe", "object", "embed")]
    for _tag, attrs in page.tags:
        for key in ("src", "href", "xlink:href", "action"):
            assert not attrs.get(key), (key, attrs)
    assert "@import" not in text and "url(" not in text


def test_waiting_failed_and_nested_runs(store: Store) -> None:
    graph = ask_graph().compile()
    waiting = graph.run_sync(store=store)
    text = build_report(store, waiting.run_id, graph)
    assert "step 1 · waiting" in text
    assert re.search(r'class="callout waiting" data-node="approve"><b>approve</b> waits for a '
                     r"person: Publish &lt;b&gt;now&lt;/b&gt;\?", text)  # fmt: skip
    failing = failing_graph().compile()
    failed = failing.run_sync(store=store)
    text = build_report(store, failed.run_id, failing)
    assert "step 1 · failed" in text and "ValueError: the &lt;disk&gt; is full" in text
    nested = nested_graph().compile()
    done = nested.run_sync(store=store)
    data = collect(store, done.run_id, nested)
    inner = [(g.step, e.node, e.run_id) for g in data.groups for e in g.entries
             if e.node.startswith("nested/")]  # fmt: skip
    assert inner == [(1, "nested/think", f"{done.run_id}.nested.0"),
                     (1, "nested/say", f"{done.run_id}.nested.0"),
                     (3, "nested/think", f"{done.run_id}.nested.1"),
                     (3, "nested/say", f"{done.run_id}.nested.1")]  # fmt: skip


def test_forked_run_report_includes_the_parent_steps(store: Store) -> None:
    graph, result = run_loop(store)
    store.fork_run(result.run_id, 2, "fork2", {"run": [graph.entry], "wait": []})
    graph.resume_sync("fork2", store=store)
    data = collect(store, "fork2", graph)
    assert [g.inherited_from for g in data.groups if g.step >= 0] == [result.run_id] * 2 + [
        None
    ] * 5
    text = build_report(store, "fork2", graph)
    assert f"forked from run <code>{result.run_id}</code> at step 2" in text
    parent = build_report(store, result.run_id, graph)
    assert "fork <code>fork2</code> starts at step 2" in parent


def test_without_dot_the_report_says_why(store: Store, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:  # fmt: skip
    graph, result = run_loop(store)
    monkeypatch.setenv("PATH", str(tmp_path))
    text = build_report(store, result.run_id, graph)
    assert "no diagram: the graphviz `dot` program is not installed" in text
    assert 'data-node="writer"' in text


def gf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_report_command(tmp_path: Path, has_dot: None) -> None:
    db = str(tmp_path / "q.db")
    assert gf("run", "quickstart", "--db", db, "--no-interactive", cwd=tmp_path).returncode == 3
    store = Store(db)
    run_id = store.list_runs()[0].run_id
    store.close()
    proc = gf("report", run_id[:5], "-o", "out/q.html", "--db", db, "--rankdir", "LR",
              cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out" / "q.html").read_text()
    assert re.search(r"approve</b> waits for a person: Publish this text of \d+ words\?", text)
    assert "review ×2" in text
    default = gf("report", run_id, "--db", db, cwd=tmp_path)
    assert default.returncode == 0 and (tmp_path / f"{run_id}.html").exists()
    for args, message in ((["nope"], "no run 'nope'"),
                          (["x", "--db", str(tmp_path / "none.db")], "no run database")):  # fmt: skip
        bad = gf("report", *args, *(["--db", db] if "--db" not in args else []), cwd=tmp_path)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr
        assert message in re.sub(r"\s+", " ", bad.stderr)


def test_docstring_examples_run() -> None:
    import doctest

    import graphflow.progress
    import graphflow.render.dot
    import graphflow.render.mermaid
    import graphflow.render.overlay
    import graphflow.report.data
    import graphflow.report.html
    import graphflow.report.write

    for module in (graphflow.render.overlay, graphflow.render.dot, graphflow.render.mermaid,
                   graphflow.report.write, graphflow.report.data, graphflow.report.html,
                   graphflow.progress):  # fmt: skip
        assert doctest.testmod(module).failed == 0, module.__name__


def test_markup_in_the_graph_name_is_escaped(store: Store) -> None:
    from graphflow import Graph

    g = Graph(f"g{PWN}", entry="a")
    g.add_node("a", lambda s: "x")
    graph = g.compile()
    result = graph.run_sync(store=store)
    text = build_report(store, result.run_id, graph)
    assert text.count("<script") == 1 and "&lt;script&gt;" in text
