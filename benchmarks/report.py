"""Merge the JSON documents of the workload scripts into one results table.

The table has one line per workload row (see ``measure.ROWS``), one column per system and
mode, and ratio columns: peer / graphflow (above 1 means graphflow is cheaper) and
graphflow / raw SQLite floor (how much engine sits on one bare durable commit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from measure import COLUMNS, ROWS, Sizes, row_label

__all__ = ["cells_by_row", "format_number", "render_table", "table_rows"]

DASH = "\N{EN DASH}"  # a cell with no measurement
TIMES = "\N{MULTIPLICATION SIGN}"

# ratio header -> (numerator column, denominator column)
RATIOS: dict[str, tuple[str, str]] = {
    "LG/gf": ("langgraph", "graphflow"),
    "LG sync/gf fsync": ("langgraph_sync", "graphflow_full"),
    "AutoGen/gf": ("autogen", "graphflow"),
}
# the floor is shown as one "normal / fsync" cell, and so is graphflow over it
FLOOR_HEADER = "raw floor (normal / fsync)"
FLOOR_RATIO_HEADER = "gf/floor (normal / fsync)"


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


def cells_by_row(documents: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{row: {column: value-or-error}}`` from the scripts' documents.

    A measured cell holds its median (a float); a failed one holds ``"n/a"``.

    Example:
        >>> doc = {"results": [{"row": "loop.memory", "column": "graphflow", "value": 3.0}],
        ...        "errors": [{"row": "loop.memory", "column": "langgraph", "error": "x"}]}
        >>> cells_by_row([doc])["loop.memory"]
        {'graphflow': 3.0, 'langgraph': 'n/a'}
    """
    cells: dict[str, dict[str, Any]] = {}
    for doc in documents:
        for result in doc.get("results", []):
            cells.setdefault(result["row"], {})[result["column"]] = float(result["value"])
        for error in doc.get("errors", []):
            cells.setdefault(error["row"], {}).setdefault(error["column"], "n/a")
    return cells


def _ratio(cells: Mapping[str, Any], top: str, bottom: str) -> str:
    a, b = cells.get(top), cells.get(bottom)
    if not isinstance(a, float) or not isinstance(b, float) or b == 0:
        return ""
    return f"{a / b:.1f}{TIMES}" if a / b < 100 else f"{a / b:,.0f}{TIMES}"


def _pair(left: Any, right: Any, show: Any) -> str:
    """``"left / right"``, each shown with ``show``; empty when both are missing."""
    missing = (None, "")
    if left in missing and right in missing:
        return ""
    return " / ".join(DASH if v in missing else show(v) for v in (left, right))


def table_rows(cells: Mapping[str, Mapping[str, Any]], sizes: Sizes) -> list[dict[str, str]]:
    """One dict per table line, in :data:`measure.ROWS` order, rows with no cell left out."""
    lines = []
    for row, (_label, unit) in ROWS.items():
        found = cells.get(row)
        if not found:
            continue
        line = {"workload": row_label(row, sizes), "unit": unit}
        for column, header in COLUMNS.items():
            if column.startswith("floor"):
                continue
            value = found.get(column)
            line[header] = value if isinstance(value, str) else format_number(value)
        line[FLOOR_HEADER] = _pair(found.get("floor"), found.get("floor_full"), format_number)
        for header, (top, bottom) in RATIOS.items():
            line[header] = _ratio(found, top, bottom)
        line[FLOOR_RATIO_HEADER] = _pair(
            _ratio(found, "graphflow", "floor"), _ratio(found, "graphflow_full", "floor_full"), str
        )
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
