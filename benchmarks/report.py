"""Merge the results of the workload scripts into one results table.

The table has one line per workload row (see ``measure.ROWS``), one column per system and
mode, and ratio columns that compare like with like: LangGraph ÷ graphflow without fsync
and with fsync, LangGraph's DeltaChannel ÷ graphflow, AutoGen ÷ graphflow (above 1 means
graphflow is cheaper), and graphflow ÷ the raw SQLite floor (how much engine sits on one
bare durable commit). A ratio is the median of the ratios of samples taken in the same
round (``run.py`` interleaves the sides), or the ratio of the medians when the samples
were not taken in rounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from measure import COLUMNS, ROWS, Sizes, row_label

__all__ = ["cells_by_row", "format_number", "ratio", "render_table", "table_rows"]

DASH = "\N{EN DASH}"  # a cell with no measurement
TIMES = "\N{MULTIPLICATION SIGN}"

# ratio header -> (numerator column, denominator column)
RATIOS: dict[str, tuple[str, str]] = {
    "LG/gf": ("langgraph", "graphflow"),
    "LG/gf fsync": ("langgraph_full", "graphflow_full"),
    "LG delta/gf": ("langgraph_delta", "graphflow"),
    "AutoGen/gf": ("autogen", "graphflow"),
}
# the floor is shown as one "normal / fsync" cell, and so is graphflow over it
FLOOR_HEADER = "raw floor (normal / fsync)"
FLOOR_RATIO_HEADER = "gf/floor (normal / fsync)"

#: A measured cell: its median and its samples by round (``None`` where a round has none).
Cell = dict[str, Any]


def format_number(value: float | None) -> str:
    """A compact rendering: thousands separators above 100, 3 significant digits below.

    Example:
        >>> format_number(1234.5), format_number(12.345), format_number(0.1234)
        ('1,234', '12.3', '0.123')
    """
    if value is None:
        return DASH
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def cells_by_row(documents: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Cell | str]]:
    """``{row: {column: cell-or-"n/a"}}`` from the scripts' documents.

    A measured cell is ``{"value": median, "samples": [...]}``; a failed one is ``"n/a"``.

    Example:
        >>> doc = {"results": [{"row": "loop.memory", "column": "graphflow", "value": 3.0}],
        ...        "errors": [{"row": "loop.memory", "column": "langgraph", "error": "x"}]}
        >>> cells = cells_by_row([doc])["loop.memory"]
        >>> cells["graphflow"]["value"], cells["langgraph"]
        (3.0, 'n/a')
    """
    cells: dict[str, dict[str, Cell | str]] = {}
    for doc in documents:
        for result in doc.get("results", []):
            cells.setdefault(result["row"], {})[result["column"]] = {
                "value": float(result["value"]), "samples": list(result.get("samples") or [])}
        for error in doc.get("errors", []):
            cells.setdefault(error["row"], {}).setdefault(error["column"], "n/a")
    return cells


def ratio(top: Cell | str | None, bottom: Cell | str | None) -> float | None:
    """``top ÷ bottom``: the median of the per-round ratios when both cells have samples
    from the same rounds, else the ratio of their medians; ``None`` if either is missing.

    Example:
        >>> ratio({"value": 4.0, "samples": [4.0, 6.0, 2.0]},
        ...       {"value": 2.0, "samples": [2.0, 2.0, 2.0]})
        2.0
        >>> ratio({"value": 4.0, "samples": []}, {"value": 2.0, "samples": []})
        2.0
    """
    if not isinstance(top, dict) or not isinstance(bottom, dict) or not bottom["value"]:
        return None
    a, b = top.get("samples") or [], bottom.get("samples") or []
    pairs = [x / y for x, y in zip(a, b, strict=False) if x is not None and y]
    if len(a) == len(b) and pairs:
        return statistics.median(pairs)
    return float(top["value"]) / float(bottom["value"])


def _times(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f}{TIMES}" if value < 100 else f"{value:,.0f}{TIMES}"


def _shown(cell: Cell | str | None) -> str:
    if isinstance(cell, str):
        return cell
    return format_number(None if cell is None else cell["value"])


def table_rows(cells: Mapping[str, Mapping[str, Cell | str]], sizes: Sizes) -> list[dict[str, str]]:
    """One dict per table line, in :data:`measure.ROWS` order, rows with no cell left out.

    Rows whose unit is a ratio (:data:`TIMES`) get no ratio columns."""
    lines = []
    for row, (_label, unit) in ROWS.items():
        found = cells.get(row)
        if not found:
            continue
        line = {"workload": row_label(row, sizes), "unit": unit}
        for column, header in COLUMNS.items():
            if not column.startswith("floor"):
                line[header] = _shown(found.get(column))
        floor = [found.get("floor"), found.get("floor_full")]
        line[FLOOR_HEADER] = "" if floor == [None, None] else " / ".join(map(_shown, floor))
        relative = unit != TIMES
        for header, (top, bottom) in RATIOS.items():
            line[header] = _times(ratio(found.get(top), found.get(bottom))) if relative else ""
        over = [ratio(found.get("graphflow"), found.get("floor")),
                ratio(found.get("graphflow_full"), found.get("floor_full"))]  # fmt: skip
        line[FLOOR_RATIO_HEADER] = "" if over == [None, None] else " / ".join(
            _times(v) or DASH for v in over)  # fmt: skip
        lines.append(line)
    return lines


def render_table(lines: list[dict[str, str]]) -> str:
    """A Markdown (pipe) table; columns that are empty on every line are left out.

    Example:
        >>> print(render_table([{"workload": "w", "unit": "ms", "x": "1.00", "y": ""}]))
        | workload | unit | x |
        |---|---|---:|
        | w | ms | 1.00 |
    """
    if not lines:
        return "(no results)"
    headers = [h for h in lines[0] if any(line.get(h) not in ("", DASH) for line in lines)]
    out = ["| " + " | ".join(headers) + " |"]
    out.append(
        "|" + "|".join("---" if h in ("workload", "unit") else "---:" for h in headers) + "|"
    )
    for line in lines:
        out.append("| " + " | ".join(line.get(h, "") for h in headers) + " |")
    return "\n".join(out)
