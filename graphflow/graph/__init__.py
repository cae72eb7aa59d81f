"""The compiled graph: its data (nodes, edges, topology) and its routing.

:class:`CompiledGraph` is what ``Graph(...).compile()``, :func:`graphflow.load` and
:func:`graphflow.compiler.compile_spec` return; :mod:`graphflow.graph.routing` holds the
routing rules as pure functions of the graph, the step's updates and the state.
"""

from __future__ import annotations

from graphflow.graph.compiled import CompiledEdge, CompiledGraph, CompiledNode
from graphflow.graph.routing import Routing, next_frontier, route, successors

__all__ = [
    "CompiledEdge",
    "CompiledGraph",
    "CompiledNode",
    "Routing",
    "next_frontier",
    "route",
    "run_sync",
    "successors",
]
