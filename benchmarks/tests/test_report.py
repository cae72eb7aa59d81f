"""Tests of the results table (report.py)."""

from __future__ import annotations

from measure import sizes_for
from report import cells_by_row, format_number, ratio, render_table, table_rows

TIMES = "\N{MULTIPLICATION SIGN}"


def _doc(*cells: tuple) -> dict:
    return {"results": [{"row": r, "column": c, "value": v, "samples": list(s)}
                        for r, c, v, *s in cells], "errors": []}  # fmt: skip


def test_format_number() -> None:
    assert format_number(None) == "\N{EN DASH}"
    assert format_number(123456.7) == "123,457"
    assert format_number(3.14159) == "3.14"


def test_ratios_compare_like_with_like() -> None:
    cells = cells_by_row([
        _doc(("loop.durable", "graphflow", 50.0), ("loop.durable", "graphflow_full", 200.0),
             ("loop.durable", "langgraph", 800.0), ("loop.durable", "langgraph_full", 900.0)),
        _doc(("loop.durable", "floor", 20.0), ("loop.durable", "floor_full", 160.0)),
    ])  # fmt: skip
    (line,) = table_rows(cells, sizes_for(False))
    assert line["workload"] == "loop of 10000 steps, SQLite"
    assert line["LG/gf"] == f"16.0{TIMES}"  # no fsync ÷ no fsync
    assert line["LG/gf fsync"] == f"4.5{TIMES}"  # fsync ÷ fsync
    assert line["raw floor (normal / fsync)"] == "20.0 / 160"
    assert line["gf/floor (normal / fsync)"] == f"2.5{TIMES} / 1.2{TIMES}"
    assert line["AutoGen/gf"] == "" and line["LG delta/gf"] == ""


def test_a_ratio_is_the_median_of_same_round_ratios() -> None:
    top = {"value": 10.0, "samples": [10.0, 30.0, 4.0]}
    bottom = {"value": 2.0, "samples": [5.0, 3.0, 2.0]}
    assert ratio(top, bottom) == 2.0  # rounds: 2, 10, 2 (the medians would give 5)
    assert ratio(top, {"value": 2.0, "samples": [2.0, None, 2.0]}) == 3.5
    assert ratio(top, "n/a") is None and ratio(None, bottom) is None


def test_a_failed_cell_shows_na_and_no_ratio() -> None:
    doc = _doc(("resume.large", "graphflow", 3.0))
    doc["errors"] = [{"row": "resume.large", "column": "langgraph", "error": "boom"}]
    (line,) = table_rows(cells_by_row([doc]), sizes_for(True))
    assert line["LangGraph"] == "n/a"
    assert line["LG/gf"] == ""


def test_ratio_rows_get_no_ratio_columns() -> None:
    cells = cells_by_row([_doc(("agents.rr.small.flat", "graphflow", 1.0),
                               ("agents.rr.small.flat", "autogen", 1.5))])  # fmt: skip
    (line,) = table_rows(cells, sizes_for(False))
    assert line["AutoGen"] == "1.50" and line["AutoGen/gf"] == ""


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
