"""The HTML run report: one self-contained page per run.

:func:`write_report` draws the run's path on its graph (inline SVG), lists the
transcript as a timeline (speakers, steps, nodes, tool calls and results, code and its
output, human answers), and sums tokens, cost and step time per node. Clicking a node
in the diagram shows only that node's messages. The page loads nothing from the network.
"""

from __future__ import annotations

from graphflow.report.write import build_report, write_report

__all__ = ["build_report", "write_report"]
