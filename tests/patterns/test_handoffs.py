"""Handoffs (AutoGen's Swarm): handoff tool calls are graph edges, drawn and resumable."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow import DefinitionError, Store
from graphflow.context import RunContext
from graphflow.models import ScriptedModel
from graphflow.patterns import Agent, swarm


def team() -> list[Agent]:
    return [Agent("triage", description="Routes requests.", human_input_mode="NEVER"),
            Agent("billing", description="Refunds and invoices.", human_input_mode="NEVER")]


def handoff(target: str) -> dict[str, object]:
    return {"tool_calls": [{"name": f"transfer_to_{target}", "arguments": {}}]}


def test_handoffs_are_edges_and_the_diagram_shows_them() -> None:
    graph = swarm(team(), {"triage": ["billing", "user"], "billing": ["triage"]}).compile()
    assert {(e.target, e.text) for e in graph.out_edges["triage_tools"]} == {
        ("billing", 'last.name == "transfer_to_billing"'),
        ("triage_user", 'last.name == "transfer_to_user"'), ("triage", None)}  # fmt: skip
    dot = graph.to_dot()
    assert "handoff to billing" in dot and "handoff to user" in dot
    offered = graph.nodes["triage"].impl.tools.schemas
    assert [t["function"]["name"] for t in offered] == ["transfer_to_billing", "transfer_to_user"]


def test_a_handoff_passes_control_and_a_handoff_to_the_user_waits_and_resumes(
    tmp_path: Path,
) -> None:
    graph = swarm(team(), {"triage": ["billing", "user"], "billing": ["triage"]}).compile()
    model = ScriptedModel([handoff("user"), handoff("billing"), "Refunded order 42."])
    with Store(tmp_path / "runs.db") as store:
        context = RunContext.with_models(model)
        first = graph.run_sync("I want my money back.", store=store, context=context)
        assert first.status == "waiting" and "triage_user" in first.waiting
        done = graph.resume_sync(first.run_id, input="Order 42.", store=store,
                                 context=RunContext.with_models(model))  # fmt: skip
    assert done.status == "completed"
    said = [(m.node, m.name, m.content) for m in done.messages if m.role != "tool"]
    assert said[-3:] == [("triage_user", "user", "Order 42."), ("triage", "triage", None),
                         ("billing", "billing", "Refunded order 42.")]  # fmt: skip
    assert model.requests[-1][1]["content"] == "I want my money back."


def test_bad_handoffs_are_definition_errors() -> None:
    with pytest.raises(DefinitionError, match="'sales' is not an agent"):
        swarm(team(), {"triage": ["sales"]})
