"""A run started in this process begins from what created it (Execution.begin); it must
see exactly the state a resume reads back from the store (Execution.load)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from graphflow import Graph, Message
from graphflow.scheduler.entry import create_run, resume_run
from graphflow.store import MemoryStore, Store
from tests.core.test_run_contract import VALUES, Color, Point, Ref


def seeing(seen: dict[str, Any]) -> Graph:
    g = Graph("typed", entry="look")
    g.variable("ref", type=Ref).variable("point", type=Point).variable("color", type=Color)
    g.variable("count", 0)

    def look(state: Any) -> None:
        seen["variables"] = dict(state.variables)
        seen["types"] = {k: type(v) for k, v in state.variables.items()}
        seen["messages"] = [(m.role, m.content, m.name, m.node) for m in state.messages]

    g.add_node("look", look)
    return g


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("given", [None, "hello", Message(role="user", content="hi", name="ann")])
def test_begin_gives_the_state_load_reads_back(tmp_path: Path, kind: str, given: Any) -> None:
    variables = {k: v for k, v in VALUES.items()}
    started: dict[str, Any] = {}
    resumed: dict[str, Any] = {}

    def open_store(name: str) -> Any:
        return MemoryStore() if kind == "memory" else Store(tmp_path / f"{name}.db")

    graph = seeing(started).compile()
    result = graph.run_sync(input=given, variables=variables, store=open_store("a"))
    assert result.status == "completed", result.error

    graph2 = seeing(resumed).compile()
    store = open_store("b")
    run_id = create_run(graph2, store=store, input=given, variables=variables)
    again = asyncio.run(resume_run(graph2, run_id, store=store))
    assert again.status == "completed", again.error
    assert started["variables"] == resumed["variables"]
    assert started["types"] == resumed["types"]
    assert started["messages"] == resumed["messages"]
    assert result.variables == again.variables
