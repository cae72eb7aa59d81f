"""The Python builder: ``Graph(name)`` with ``add_node``/``add_edge``, producing a GraphSpec.

Python callables are welcome as node bodies and conditions; a graph holding them still
runs, resumes and renders, but saving it to a file writes a marker in their place (a
function importable as ``module:name`` is saved as that path instead).

Example:
    >>> g = Graph("review", entry="writer")
    >>> _ = g.add_node("writer", lambda state: "draft")
    >>> _ = g.add_node("critic", lambda state: "APPROVED")
    >>> _ = g.add_node("done", kind="end")
    >>> _ = g.add_edge("writer", "critic")
    >>> _ = g.add_edge("critic", "writer", when='not contains(last.content, "APPROVED")')
    >>> _ = g.add_edge("critic", "done", otherwise=True)
    >>> g.compile().run_sync().status
    'completed'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphflow.compiler import compile_spec
from graphflow.graph import CompiledGraph
from graphflow.spec import EdgeSpec, GraphSpec, Limits, NodeSpec, VariableSpec, dump_spec

__all__ = ["Graph"]

_NO_DEFAULT: Any = object()


class Graph:
    """Builds a graph step by step; :meth:`compile` validates it.

    Args:
        name: the graph's name.
        entry: the entry node (default: the first node added).
        description: free text.
        variables: variables with their defaults.
    """

    def __init__(self, name: str, *, entry: str | None = None, description: str | None = None,
                 variables: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.name = name
        self.entry = entry
        self.description = description
        self.variables: dict[str, Any] = dict(variables or {})
        self.declarations: dict[str, VariableSpec] = {}
        self._limits = Limits()
        self.models: Any = None
        self.defaults: dict[str, Any] = {}
        self._nodes: list[NodeSpec] = []
        self._edges: list[EdgeSpec] = []

    def variable(self, name: str, default: Any = _NO_DEFAULT, *, type: Any = None,
                 merge: str | Callable[[Any, Any], Any] = "replace",
                 description: str | None = None) -> Graph:  # fmt: skip
        """Declare a variable: its default, type and merge rule (LangGraph's reducers).

        Args:
            name: the variable's name.
            default: its value when a run starts (none: unset until a node writes it).
            type: a Python type (``int``, ``list[Report]``, a pydantic model or dataclass)
                or a type expression (``"list[str]"``); written values are validated
                against it, and restored as it when a run is loaded.
            merge: how writes combine: ``replace`` (one writer per step), ``append``,
                ``extend``, ``merge``, ``add``, ``min``, ``max``, ``union``, an import path
                ``module:function`` or a function ``(current, written) -> new``.
            description: free text.

        Example:
            >>> g = Graph("fan", entry="split").variable("findings", [], merge="append")
            >>> _ = g.add_node("split", lambda state: None)
            >>> for name in ("a", "b"):
            ...     _ = g.add_node(name, lambda state, name=name: {"findings": name})
            ...     _ = g.add_edge("split", name)
            >>> g.compile().run_sync().variables["findings"]
            ['a', 'b']
        """
        if default is not _NO_DEFAULT:
            self.variables[name] = default
        self.declarations[name] = VariableSpec(type=type, merge=merge, description=description)
        return self

    def add_node(
        self,
        node_id: str,
        body: Callable[..., Any] | str | None = None,
        *,
        kind: str | None = None,
        use: str | None = None,
        join: str | None = None,
        max_visits: int | None = None,
        description: str | None = None,
        **options: Any,
    ) -> Graph:
        """Add a node.

        Args:
            node_id: unique id.
            body: for a ``function`` node, the callable or its import path
                ``module:function`` (the kind defaults to ``function`` when given).
            kind: the node kind (``function``, ``human``, ``end``, ``subgraph``, ``agent``,
                ``tool``, ``code``, ``router`` …).
            use: take kind and options from a ``nodes/`` catalog entry.
            join: ``"all"`` to wait for every active branch, ``"any"`` (default).
            max_visits: how often this node may run in one run.
            **options: kind-specific options (e.g. ``prompt=`` for ``human``).
        """
        if body is not None:
            options["call"] = body
            kind = kind or "function"
        if kind is None and use is None:
            raise TypeError(f"add_node({node_id!r}): give a function, kind= or use=")
        self._nodes.append(NodeSpec(id=node_id, kind=kind, use=use, join=join,  # type: ignore[arg-type]
                                    max_visits=max_visits, description=description,
                                    config=options))  # fmt: skip
        if self.entry is None:
            self.entry = node_id
        return self

    def add_edge(
        self,
        source: str,
        target: str,
        *,
        when: str | Callable[..., Any] | None = None,
        otherwise: bool = False,
        label: str | None = None,
    ) -> Graph:
        """Add an edge; ``when`` is a condition (text or ``callable(state) -> bool``),
        ``otherwise=True`` marks the else edge."""
        edge = EdgeSpec.model_validate({"from": source, "to": target, "when": when,
                                        "else": otherwise, "label": label})  # fmt: skip
        self._edges.append(edge)
        return self

    def set_entry(self, node_id: str) -> Graph:
        self.entry = node_id
        return self

    def limits(self, **limits: Any) -> Graph:
        """Set limits: ``max_steps``, ``max_visits``, ``max_rounds``, ``max_tokens``,
        ``max_cost``, ``timeout``."""
        self._limits = Limits.model_validate({**self._limits.model_dump(exclude_none=True),
                                              **limits})  # fmt: skip
        return self

    def to_spec(self) -> GraphSpec:
        return GraphSpec(name=self.name, description=self.description, entry=self.entry,
                         variables=dict(self.variables), declarations=dict(self.declarations),
                         limits=self._limits, models=self.models,
                         defaults=dict(self.defaults), nodes=list(self._nodes),
                         edges=list(self._edges))  # fmt: skip

    def compile(self, *, base_dir: str | Path | None = None) -> CompiledGraph:
        """Validate and compile into a :class:`~graphflow.graph.CompiledGraph`.

        Raises:
            DefinitionError: listing every problem found.
        """
        return compile_spec(self.to_spec(), base_dir=Path(base_dir) if base_dir else None)

    def save(self, path: str | Path) -> Path:
        return dump_spec(self.to_spec(), path)
