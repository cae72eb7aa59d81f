"""Small graphs with known runs, shared by the rendering and report tests."""

from __future__ import annotations

from typing import Any

from graphflow import Graph, State, Store

APPROVE_AT = 3


def write(state: State) -> str:
    return f"draft {state.visits.get('writer', 0) + 1}"


def critique(state: State) -> str:
    return "APPROVED" if state.visits.get("critic", 0) + 1 >= APPROVE_AT else "needs work"


def loop_graph() -> Graph:
    """writer ⇄ critic three times, then publish; escalate is a branch never taken."""
    g = Graph("review-loop", entry="writer")
    g.add_node("writer", write)
    g.add_node("critic", critique)
    g.add_node("escalate", kind="end")
    g.add_node("publish", kind="end", status="published")
    g.add_edge("writer", "critic")
    g.add_edge("critic", "escalate", when="len(last.content) > 1000", label="too long")
    g.add_edge("critic", "writer", when='not contains(last.content, "APPROVED")', label="revise")
    g.add_edge("critic", "publish", otherwise=True)
    return g


def run_loop(store: Store) -> tuple[Any, Any]:
    """The compiled loop graph and its completed run."""
    graph = loop_graph().compile()
    return graph, graph.run_sync(store=store)


def ask_graph() -> Graph:
    """draft → approve (a human checkpoint) → done | drop."""
    g = Graph("ask", entry="draft")
    g.add_node("draft", lambda s: "a draft")
    g.add_node("approve", kind="human", prompt="Publish <b>now</b>?", variable="answer")
    g.add_node("done", kind="end")
    g.add_node("drop", kind="end")
    g.add_edge("draft", "approve")
    g.add_edge("approve", "done", when='state.answer == "yes"')
    g.add_edge("approve", "drop", otherwise=True)
    return g


def boom(state: State) -> str:
    raise ValueError("the <disk> is full")


def failing_graph() -> Graph:
    g = Graph("fails", entry="start")
    g.add_node("start", lambda s: "starting")
    g.add_node("explode", boom)
    g.add_node("never", lambda s: "never")
    g.add_edge("start", "explode")
    g.add_edge("explode", "never")
    return g


def nested_graph() -> Graph:
    """start → nested (inner: ask → say) → after; the inner graph runs twice."""
    inner = Graph("inner", entry="think")
    inner.add_node("think", lambda s: f"thinking about {s.last.content if s.last else ''}")
    inner.add_node("say", lambda s: "inner answer")
    inner.add_node("unused", lambda s: "unused")
    inner.add_edge("think", "say", when="true")
    inner.add_edge("think", "unused", otherwise=True)
    outer = Graph("outer", entry="start")
    outer.add_node("start", lambda s: "go")
    outer.add_node("nested", kind="subgraph", graph=inner)
    outer.add_node("after", lambda s: "after")
    outer.add_node("end", kind="end")
    outer.add_edge("start", "nested")
    outer.add_edge("nested", "after")
    outer.add_edge("after", "nested", when="visits.nested < 2")
    outer.add_edge("after", "end", otherwise=True)
    return outer
