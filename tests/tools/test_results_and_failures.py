"""Tool results as JSON, and tools that raise: tracebacks in events, `show` and the
report, an option that makes tool errors fail the run, and a tool's own TimeoutError."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console

from graphflow import Graph, Store
from graphflow.context import RunContext
from graphflow.events import ToolFailed
from graphflow.models import ScriptedModel
from graphflow.report.data import collect
from graphflow.show import print_run
from graphflow.tools import execute_tool_calls, render_result, run_tool_calls

from .helpers import call


class Cabin(enum.Enum):
    ECONOMY = "economy"


@dataclasses.dataclass
class Seat:
    row: int
    letter: str


class Flight(BaseModel):
    number: str
    departs: datetime.datetime
    seats: list[Seat]


def free_seats() -> list[Seat]:
    """Free seats."""
    return [Seat(12, "A"), Seat(12, "B")]


def flights() -> dict[str, object]:
    """Flights."""
    return {"flights": [Flight(number="LH1", departs=datetime.datetime(2024, 5, 1, 9, 30),
                               seats=[Seat(1, "C")])],
            "cabin": Cabin.ECONOMY, "day": datetime.date(2024, 5, 1)}  # fmt: skip


def book(seat: str) -> str:
    """Book a seat."""
    raise ValueError(f"seat {seat} is taken")


def wait_for_gate() -> str:
    """Wait for a gate (the tool times out by itself)."""
    raise TimeoutError("the gate service did not answer")


async def test_models_dataclasses_and_datetimes_inside_results_become_json() -> None:
    """AutoGen users reported tool results like ``"[Seat(row=12, letter='A')]"`` (the repr
    of what the function returned); the model should get JSON."""
    out = await execute_tool_calls([call("1", "free_seats", {}), call("2", "flights", {})],
                                   [free_seats, flights])  # fmt: skip
    assert json.loads(out[0].content) == [{"row": 12, "letter": "A"}, {"row": 12, "letter": "B"}]
    assert json.loads(out[1].content) == {
        "flights": [{"number": "LH1", "departs": "2024-05-01T09:30:00",
                     "seats": [{"row": 1, "letter": "C"}]}],
        "cabin": "economy", "day": "2024-05-01"}  # fmt: skip
    assert render_result(Flight(number="X", departs=datetime.datetime(2024, 1, 1), seats=[])) == (
        '{"number": "X", "departs": "2024-01-01T00:00:00", "seats": []}')  # fmt: skip


async def test_a_tool_raising_timeout_error_itself_without_a_call_timeout_is_its_error() -> None:
    """A tool's own TimeoutError used to be taken for the call timeout, whose message
    formatted ``None`` and crashed ``execute_tool_calls`` with a TypeError."""
    result = await run_tool_calls([call("1", "wait_for_gate", {})], [wait_for_gate])
    assert result.messages[0].content == (
        "Error: tool 'wait_for_gate' raised TimeoutError: the gate service did not answer")
    assert result.failures[0].error.startswith("TimeoutError")


def booking_graph(on_error: str = "reply") -> Graph:
    graph = Graph("booking", entry="agent")
    graph.add_node("agent", kind="agent", tools=[book], is_termination_msg=None,
                   max_consecutive_auto_reply=2)  # fmt: skip
    graph.add_node("agent_tools", kind="tool", tools=[book], on_error=on_error)
    graph.add_node("done", kind="end")
    graph.add_edge("agent", "agent_tools", when="len(last.tool_calls) > 0")
    graph.add_edge("agent", "done", otherwise=True)
    graph.add_edge("agent_tools", "agent")
    return graph


def booking_model() -> ScriptedModel:
    return ScriptedModel([{"tool_calls": [{"name": "book", "arguments": {"seat": "12A"}}]},
                          "Seat 12A is taken, sorry."])  # fmt: skip


def test_a_raising_tools_traceback_is_in_the_events_show_and_the_report(tmp_path: Path) -> None:
    events: list[object] = []
    with Store(tmp_path / "runs.db") as store:
        result = booking_graph().compile().run_sync(
            "Book 12A", store=store, on_event=events.append,
            context=RunContext.with_models(booking_model()))  # fmt: skip
        assert result.status == "completed"
        tool_message = next(m for m in result.messages if m.role == "tool")
        assert tool_message.content == "Error: tool 'book' raised ValueError: seat 12A is taken"
        (failed,) = [e for e in events if isinstance(e, ToolFailed)]
        assert failed.node == "agent_tools" and failed.tool == "book"
        assert "Traceback (most recent call last)" in failed.traceback
        assert 'raise ValueError(f"seat {seat} is taken")' in failed.traceback
        console = Console(record=True, width=200)
        print_run(console, store, result.run_id)
        shown = console.export_text()
        assert "tool book raised" in shown and "raise ValueError" in shown
        report = collect(store, result.run_id)
        recorded = [v for g in report.groups for k, v in g.variables.items()
                    if k == "agent_tools_errors"]  # fmt: skip
        assert "raise ValueError" in recorded[0][0]["traceback"]


def test_on_error_fail_makes_a_raising_tool_fail_the_run() -> None:
    result = booking_graph("fail").compile().run_sync(
        "Book 12A", context=RunContext.with_models(booking_model()))
    assert result.status == "failed"
    assert "tool 'book' (call" in (result.error or "")
    assert "raise ValueError" in (result.error or "")
