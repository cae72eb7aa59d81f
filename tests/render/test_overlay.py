"""Run overlays: counts, path, states, forks and subgraph runs, read back from DOT/SVG/Mermaid."""

# ruff: noqa: RUF001 - the multiplication sign marks visit counts in labels

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from graphflow import Graph, RenderError, Store
from graphflow.render.dot import render_run
from graphflow.render.overlay import PALETTE, RunOverlay
from tests.render.runs import ask_graph, failing_graph, nested_graph, run_loop

SVG = "{http://www.w3.org/2000/svg}"
BLUE, GREY = PALETTE["visited"][0], PALETTE["unvisited"][0]


def svg_items(svg: str, cls: str) -> dict[str, ET.Element]:
    """The graphviz <g class=node|edge> elements of an SVG by their <title>."""
    root = ET.fromstring(svg)
    return {g.find(f"{SVG}title").text: g for g in root.iter(f"{SVG}g") if g.get("class") == cls}


def texts(g: ET.Element) -> list[str]:
    return [t.text or "" for t in g.iter(f"{SVG}text")]


def test_counts_and_path_of_a_loop(store: Store) -> None:
    _graph, result = run_loop(store)
    assert result.status == "completed" and result.steps == 7
    overlay = RunOverlay.from_store(store, result.run_id)
    assert overlay.visits == {"writer": 3, "critic": 3, "publish": 1}
    assert overlay.edge_counts == {("writer", "critic"): 3, ("critic", "writer"): 2,
                                   ("critic", "publish"): 1}  # fmt: skip
    # The path in order: the step each edge's target was entered at.
    assert overlay.edge_steps[("writer", "critic")] == [1, 3, 5]
    assert overlay.edge_steps[("critic", "writer")] == [2, 4]
    assert overlay.edge_steps[("critic", "publish")] == [6]
    assert overlay.state("writer") == "visited" and overlay.state("escalate") == "unvisited"
    assert overlay.title() == f"run {result.run_id}: completed, 7 steps (published)"


def test_dot_marks_visited_counts_and_greys_the_rest(store: Store) -> None:
    graph, result = run_loop(store)
    dot = graph.to_dot(overlay=RunOverlay.from_store(store, result.run_id), rankdir="LR")
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^\t(\w+) \[(.*)\]$", dot, re.M)}
    assert 'label="writer ×3"' in lines["writer"] and f'color="{BLUE}"' in lines["writer"]
    assert 'label="critic ×3"' in lines["critic"]
    assert "label=escalate" in lines["escalate"] and 'style="filled,dashed"' in lines["escalate"]
    assert f'fillcolor="{PALETTE["unvisited"][1]}"' in lines["escalate"]
    assert re.search(r'critic -> writer \[label="revise\\n#2 #4" color="#1d4ed8"', dot)
    assert re.search(r'critic -> escalate \[label="too long" color="#d1d5db"', dot)
    assert "rankdir=LR" in dot and f"run {result.run_id}: completed" in dot


def test_svg_shows_the_overlay(store: Store, has_dot: None, tmp_path: Path) -> None:
    graph, result = run_loop(store)
    path = render_run(store, result.run_id, tmp_path / "run.svg", graph=graph)
    svg = path.read_text()
    nodes, edges = svg_items(svg, "node"), svg_items(svg, "edge")
    assert texts(nodes["writer"]) == ["writer ×3"]
    assert nodes["writer"].find(f".//{SVG}path").get("stroke") == BLUE
    assert texts(nodes["publish"]) == ["publish ×1"]
    assert texts(nodes["escalate"]) == ["escalate"]
    assert nodes["escalate"].find(f".//{SVG}text").get("fill") == PALETTE["unvisited"][2]
    assert texts(edges["critic->writer"]) == ["revise", "#2 #4"]
    assert edges["critic->writer"].find(f".//{SVG}path").get("stroke") == BLUE
    assert edges["critic->escalate"].find(f".//{SVG}path").get("stroke") == GREY
    png = render_run(store, result.run_id, tmp_path / "run.png", graph=graph, rankdir="LR")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_render_run_on_the_graph_stored_with_the_run(tmp_path: Path, has_dot: None) -> None:
    import graphflow
    from graphflow.loader import graph_for_run

    store = Store(tmp_path / "q.db")
    first = graphflow.load("quickstart").run_sync(store=store)
    graph = graph_for_run(store.get_run(first.run_id))  # rebuilt from the stored spec
    svg = render_run(store, first.run_id, tmp_path / "q.svg", graph).read_text()
    nodes = svg_items(svg, "node")
    assert texts(nodes["review"]) == ["review ×2"]
    assert texts(nodes["approve"]) == ["approve", "waiting for input"]
    assert re.search(r"Publish this text of \d+ words\?", svg)  # the question, in the tooltip
    store.close()


def test_waiting_node_and_escaped_question(store: Store, has_dot: None) -> None:
    graph = ask_graph().compile()
    result = graph.run_sync(store=store)
    overlay = RunOverlay.from_store(store, result.run_id)
    assert overlay.waiting == {"approve": "Publish <b>now</b>?"}
    assert overlay.state("approve") == "waiting" and overlay.edge_counts == {
        ("draft", "approve"): 1
    }
    from graphflow.render import to_svg

    text = to_svg(graph, overlay=overlay)
    assert "Publish &lt;b&gt;now&lt;/b&gt;?" in text and "<b>now" not in text
    node = svg_items(text, "node")["approve"]
    assert node.find(f".//{SVG}polygon").get("fill") == PALETTE["waiting"][1]


def test_failed_node_carries_the_error(store: Store) -> None:
    graph = failing_graph().compile()
    result = graph.run_sync(store=store)
    assert result.status == "failed"
    overlay = RunOverlay.from_store(store, result.run_id)
    assert list(overlay.failed) == ["explode"]
    assert "ValueError: the <disk> is full" in overlay.failed["explode"]
    assert overlay.state("never") == "unvisited" and overlay.visits == {"start": 1}
    dot = graph.to_dot(overlay=overlay)
    assert re.search(r'explode \[label="explode\\nfailed".*fillcolor="#fecaca"', dot)
    assert "error: node 'explode'" in dot
    mermaid = graph.to_mermaid(overlay=overlay)
    assert "class explode failed" in mermaid and "class never unvisited" in mermaid


def test_limit_marks_where_the_run_stopped(store: Store) -> None:
    g = Graph("spin", entry="a")
    g.add_node("a", lambda s: "again", max_visits=2)
    g.add_node("b", kind="end")
    g.add_edge("a", "a", when="true")
    g.add_edge("a", "b", otherwise=True)
    graph = g.compile()
    result = graph.run_sync(store=store)
    assert result.status == "limit_reached"
    overlay = RunOverlay.from_store(store, result.run_id)
    assert overlay.state("a") == "stopped" and overlay.edge_steps[("a", "a")] == [1, 2]
    assert 'label="a ×2\\nstopped here"' in graph.to_dot(overlay=overlay)


def test_forks_are_marked_and_inherit_the_path(store: Store) -> None:
    graph, result = run_loop(store)
    store.fork_run(result.run_id, 2, "fork1", {"run": [graph.entry], "wait": []})
    parent = RunOverlay.from_store(store, result.run_id)
    assert parent.forks == [("fork1", 2, ["writer"])]
    assert "fork fork1 at step 2" in graph.to_dot(overlay=parent)
    fork = RunOverlay.from_store(store, "fork1")
    assert fork.status == "ready" and fork.forked_from == (result.run_id, 2)
    assert fork.visits == {"writer": 1, "critic": 1} and fork.upcoming == ["writer"]
    assert fork.state("writer") == "next"
    assert f"forked from {result.run_id} at step 2" in graph.to_dot(overlay=fork)
    done = graph.resume_sync("fork1", store=store)
    assert done.status == "completed"
    fork = RunOverlay.from_store(store, "fork1")
    assert fork.visits == {"writer": 3, "critic": 3, "publish": 1}
    assert fork.edge_steps[("critic", "writer")] == [2, 4]


def test_subgraph_runs_are_drawn_inside_their_cluster(store: Store, has_dot: None) -> None:
    graph = nested_graph().compile()
    result = graph.run_sync(store=store)
    assert result.status == "completed"
    overlay = RunOverlay.from_store(store, result.run_id)
    assert overlay.visits["nested"] == 2
    inner = overlay.child("nested")
    assert inner.runs == 2 and inner.visits == {"think": 2, "say": 2}
    assert inner.edge_counts == {("think", "say"): 2}
    from graphflow.render import to_svg

    svg = to_svg(graph, overlay=overlay)
    nodes, edges = svg_items(svg, "node"), svg_items(svg, "edge")
    assert texts(nodes["nested/think"]) == ["think ×2"]
    assert texts(nodes["nested/unused"]) == ["unused"]
    assert texts(edges["nested/think->nested/say"]) == ["true", "×2"]
    assert f"2 runs, last {result.run_id}.nested.1: completed" in svg
    assert overlay.child("missing").state("x") == "unvisited"


def test_mermaid_overlay(store: Store) -> None:
    graph, result = run_loop(store)
    text = graph.to_mermaid(overlay=RunOverlay.from_store(store, result.run_id), rankdir="LR")
    assert text.startswith("flowchart LR\n")
    assert 'writer["writer ×3"]' in text and "class writer visited" in text
    assert "class escalate unvisited" in text
    assert 'critic ==>|"revise #35;2 #35;4"| writer' in text
    assert "classDef visited stroke:#1d4ed8" in text
    links = [line.strip() for line in text.splitlines() if "-->" in line or "==>" in line
             or "-.->" in line]  # fmt: skip
    visited = re.search(r"linkStyle ([\d,]+) stroke:#1d4ed8", text).group(1).split(",")
    assert sorted(links[int(i)].split()[0] + links[int(i)].split()[-1] for i in visited) == [
        "criticpublish", "criticwriter", "writercritic"]  # fmt: skip


def test_labels_that_look_like_html_are_drawn_as_text(has_dot: None) -> None:
    g = Graph("odd", entry="a")
    g.add_node("a", lambda s: "x", description=None)
    g._nodes[0] = g._nodes[0].model_copy(update={"label": "<i>a\\b</i>"})
    from graphflow.render import to_svg

    svg = to_svg(g.compile())
    assert "&lt;i&gt;a\\b&lt;/i&gt;" in svg


def test_bad_rankdir_is_a_clear_error() -> None:
    g = Graph("x", entry="a")
    g.add_node("a", lambda s: "x")
    with pytest.raises(RenderError, match=r"rankdir 'UP'.*TB, LR, BT, RL"):
        g.compile().to_dot(rankdir="UP")
    with pytest.raises(RenderError, match="rankdir 'UP'"):
        g.compile().to_mermaid(rankdir="UP")


def big_graph(width: int = 12, depth: int = 5) -> Graph:
    """A router fanning out to ``width`` lanes of ``depth`` nodes, joined at the end,
    with a nested graph in one lane: 60+ nodes."""
    inner = Graph("lane-detail", entry="check")
    inner.add_node("check", lambda s: "checked")
    inner.add_node("fix", lambda s: "fixed")
    inner.add_edge("check", "fix")
    g = Graph("big", entry="start")
    g.add_node("start", lambda s: "go")
    g.add_node("join", lambda s: "joined", join="all")
    for lane in range(width):
        prev = "start"
        for level in range(depth):
            node = f"lane{lane}_{level}"
            if lane == 0 and level == 2:
                g.add_node(node, kind="subgraph", graph=inner)
            else:
                g.add_node(node, lambda s: "ok")
            g.add_edge(prev, node)
            prev = node
        g.add_edge(prev, "join")
    return g


def test_a_large_graph_renders_with_clusters(store: Store, has_dot: None, tmp_path: Path) -> None:
    import time

    graph = big_graph().compile()
    assert len(graph.nodes) == 62
    result = graph.run_sync(store=store)
    assert result.status == "completed"
    started = time.perf_counter()
    svg = render_run(store, result.run_id, tmp_path / "big.svg", graph=graph,
                     rankdir="LR").read_text()  # fmt: skip
    assert time.perf_counter() - started < 20
    nodes = svg_items(svg, "node")
    assert len(nodes) == 64  # 62 nodes + the 2 inside the cluster
    assert texts(nodes["lane0_2/check"]) == ["check ×1"]
    assert texts(nodes["join"]) == ["join ×1"]
    root = ET.fromstring(svg)
    clusters = [g for g in root.iter(f"{SVG}g") if g.get("class") == "cluster"]
    assert [c.find(f"{SVG}title").text for c in clusters] == ["cluster_lane0_2"]
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    assert width > height  # left to right
