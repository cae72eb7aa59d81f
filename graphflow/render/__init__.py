"""Drawing graphs: DOT/SVG/PNG through graphviz, and Mermaid text."""

from graphflow.render.dot import render_to_file, to_dot, to_svg
from graphflow.render.mermaid import to_mermaid

__all__ = ["render_to_file", "to_dot", "to_mermaid", "to_svg"]
