"""GraphSpec: the declarative, serializable definition of a graph.

Graph files (YAML or JSON) and the Python builder both produce a :class:`GraphSpec`.
In files, ``nodes`` is a mapping from node id to the node's options, and a node's
kind-specific options sit beside its common ones::

    graph: review
    entry: writer
    variables:
      topic: "graphs"                          # a value: its default (merge rule replace)
      notes: {merge: append, default: []}      # a declaration: type, merge rule, default
    limits: {max_steps: 50}
    nodes:
      writer: {kind: function, call: mypkg.writer:write}
      critic: {use: critic}            # a definition from the nodes/ catalog
      done: {kind: end}
    edges:
      - {from: writer, to: critic}
      - {from: critic, to: writer, when: 'not contains(last.content, "APPROVED")'}
      - {from: critic, to: done, else: true}

``spec → file → spec`` is the identity (see :func:`dump_spec` and :func:`load_spec`).

The package's modules: :mod:`~graphflow.spec.model` (the spec itself),
:mod:`~graphflow.spec.variables` (variable declarations), :mod:`~graphflow.spec.files`
(reading and writing graph files, with their size caps).
"""

from __future__ import annotations

from graphflow.spec.base import (
    COMMON_NODE_KEYS,
    NOT_SERIALIZABLE,
    import_path_of,
    is_not_serializable_marker,
    not_serializable,
)
from graphflow.spec.files import dump_spec, dumps_spec, load_spec, loads_spec
from graphflow.spec.model import EdgeSpec, GraphSpec, Limits, NodeSpec
from graphflow.spec.variables import MERGE_RULES, VariableSpec, type_text

FORMAT_VERSION = 1

__all__ = [
    "COMMON_NODE_KEYS",
    "MERGE_RULES",
    "NOT_SERIALIZABLE",
    "EdgeSpec",
    "GraphSpec",
    "Limits",
    "NodeSpec",
    "VariableSpec",
    "dump_spec",
    "dumps_spec",
    "import_path_of",
    "is_not_serializable_marker",
    "load_spec",
    "loads_spec",
    "not_serializable",
    "type_text",
]
