"""Drawing graphs and runs: DOT/SVG/PNG through graphviz, Mermaid text, run overlays."""

from graphflow.render.dot import render_run, render_to_file, to_dot, to_svg
from graphflow.render.mermaid import to_mermaid
from graphflow.render.overlay import RunOverlay

__all__ = ["RunOverlay", "render_run", "render_to_file", "to_dot", "to_mermaid", "to_svg"]
