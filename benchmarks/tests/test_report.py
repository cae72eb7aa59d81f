"""Tests of the results table (report.py)."""

from __future__ import annotations

from measure import sizes_for
from report import cells_by_row, format_number, render_table, table_rows


def _doc(*cells: tuple[str, str, float]) -> dict:
    return {"results": [{"row": r, "column": c, "value": v} for r, c, v in cells], "errors": []}


def test_format_number() -> None:
    assert format_number(None) == "\N{EN DASH}"
    assert format_number(123456.7) == "123,457"
    assert format_number(3.14159) == "3.14"


def test_ratios_compare_peers_to_graphflow_and_graphflow_to_the_floor() -> None:
    cells = cells_by_row([
        _doc(("loop.durable", "graphflow", 50.0), ("loop.durable", "graphflow_full", 200.0),
             ("loop.durable", "langgraph", 800.0), ("loop.durable", "langgraph_sync", 900.0)),
        _doc(("loop.durable", "floor", 20.0), ("loop.durable", "floor_full", 160.0)),
    ])  # fmt: skip
    (line,) = table_rows(cells, sizes_for(False))
    assert line["workload"] == "loop of 10000 steps, SQLite"
    assert line["LG/gf"] == "16.0\N{MULTIPLICATION SIGN}"
    assert line["LG sync/gf fsync"] == "4.5\N{MULTIPLICATION SIGN}"
    assert line["raw floor (normal / fsync)"] == "20.0 / 160"
    assert (
        line["gf/floor (normal / fsync)"]
        == "2.5\N{MULTIPLICATION SIGN} / 1.2\N{MULTIPLICATION SIGN}"
    )
    assert line["AutoGen/gf"] == ""


def test_a_failed_cell_shows_na_and_no_ratio() -> None:
    doc = _doc(("resume.large", "graphflow", 3.0))
    doc["errors"] = [{"row": "resume.large", "column": "langgraph", "error": "boom"}]
    (line,) = table_rows(cells_by_row([doc]), sizes_for(True))
    assert line["LangGraph (default)"] == "n/a"
    assert line["LG/gf"] == ""


def test_rows_without_results_are_left_out_and_order_is_fixed() -> None:
    cells = cells_by_row(
        [_doc(("resume.small", "graphflow", 1.0), ("linear.memory", "graphflow", 2.0))]
    )
    lines = table_rows(cells, sizes_for(True))
    assert [line["unit"] for line in lines] == ["µs/step", "ms"]


def test_render_table_drops_empty_columns() -> None:
    text = render_table([{"workload": "w", "unit": "ms", "a": "1.00", "b": "", "c": "\N{EN DASH}"}])
    assert text.splitlines()[0] == "| workload | unit | a |"
    assert render_table([]) == "(no results)"
