"""The spec itself: GraphSpec with its nodes, edges and limits, validated from a file's
plain data with every problem reported at once."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from graphflow.errors import DefinitionError, Problem
from graphflow.spec.base import COMMON_NODE_KEYS, _Model, _pydantic_problems, serializable
from graphflow.spec.variables import VariableSpec, is_declaration, variables_from_file

__all__ = ["EdgeSpec", "GraphSpec", "Limits", "NodeSpec"]


class Limits(_Model):
    """Limits that end a run with a clear status instead of looping forever.

    Attributes:
        max_steps: scheduler steps in the whole run.
        max_visits: times any one node may run (a node's own ``max_visits`` overrides it).
        max_rounds: agent turns (messages from agent nodes), AutoGen's ``max_round``.
        max_tokens: token budget of the run (prompt + completion, cached calls excluded).
        max_cost: cost budget of the run, in the currency of the model prices.
        timeout: wall-clock seconds for one execution of the run (not counting waits).
        stop_when: a condition (condition language) checked after every step; when it
            holds the run completes with reason ``stop_when: <expression>``. Combine
            stop conditions with ``and``/``or``, e.g.
            ``'contains(last.content, "TERMINATE") or len(messages) >= 20'``.
    """

    max_steps: int | None = Field(default=None, ge=1)
    max_visits: int | None = Field(default=None, ge=1)
    max_rounds: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_cost: float | None = Field(default=None, gt=0)
    timeout: float | None = Field(default=None, gt=0)
    stop_when: str | None = None


class NodeSpec(_Model):
    """One node: its id, kind (or catalog reference) and kind-specific options."""

    id: str
    kind: str | None = None
    use: str | None = None
    description: str | None = None
    label: str | None = None
    join: Literal["any", "all"] | None = None
    max_visits: int | None = Field(default=None, ge=1)
    config: dict[str, Any] = Field(default_factory=dict)

    def to_file(self) -> dict[str, Any]:
        """The node as it appears under ``nodes:`` in a file (id is the key)."""
        out: dict[str, Any] = {}
        for key in COMMON_NODE_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out.update({k: serializable(v) for k, v in self.config.items()})
        return out

    @classmethod
    def from_file(cls, node_id: str, data: Any) -> NodeSpec:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise TypeError(f"expected a mapping of options, got {type(data).__name__}")
        common = {k: data[k] for k in COMMON_NODE_KEYS if k in data}
        config = {k: v for k, v in data.items() if k not in COMMON_NODE_KEYS and k != "id"}
        return cls(id=str(node_id), config=config, **common)


class EdgeSpec(_Model):
    """A directed edge. ``when`` is a condition (text, or a Python callable from the
    builder); ``otherwise`` marks the else edge taken when no condition holds."""

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    when: Any = None
    otherwise: bool = Field(default=False, alias="else")
    label: str | None = None

    def to_file(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.source, "to": self.target}
        if self.when is not None:
            out["when"] = serializable(self.when)
        if self.otherwise:
            out["else"] = True
        if self.label is not None:
            out["label"] = self.label
        return out

    @property
    def conditional(self) -> bool:
        return self.when is not None or self.otherwise

    def describe(self) -> str:
        return f"edge {self.source} → {self.target}"


class GraphSpec(_Model):
    """The whole declarative graph."""

    name: str
    description: str | None = None
    entry: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    declarations: dict[str, VariableSpec] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    models: Any = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[EdgeSpec] = Field(default_factory=list)
    source: str | None = Field(default=None, exclude=True)

    def node(self, node_id: str) -> NodeSpec | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def to_file(self) -> dict[str, Any]:
        """The spec as the plain dict written to YAML/JSON files."""
        out: dict[str, Any] = {"graph": self.name}
        if self.description is not None:
            out["description"] = self.description
        if self.entry is not None:
            out["entry"] = self.entry
        variables = self.variables_to_file()
        if variables:
            out["variables"] = variables
        limits = self.limits.model_dump(exclude_none=True)
        if limits:
            out["limits"] = limits
        if self.models is not None:
            out["models"] = self.models
        if self.defaults:
            out["defaults"] = dict(self.defaults)
        out["nodes"] = {n.id: n.to_file() for n in self.nodes}
        out["edges"] = [e.to_file() for e in self.edges]
        return out

    def variables_to_file(self) -> dict[str, Any]:
        """The ``variables:`` section: plain defaults, and declarations as mappings (a
        mapping default that would read as a declaration is written ``{default: …}``)."""
        out: dict[str, Any] = {}
        for name, value in self.variables.items():
            declared = self.declarations.get(name)
            if declared is not None:
                out[name] = declared.to_file(value)
            elif is_declaration(value):
                out[name] = {"default": value}
            else:
                out[name] = value
        for name, declared in self.declarations.items():
            if name not in out:
                out[name] = declared.to_file()
        return out

    @classmethod
    def from_file(cls, data: Any, *, source: str | None = None) -> GraphSpec:
        """Validate a plain dict read from a graph file; raise DefinitionError listing
        every problem."""
        where = source or "<graph>"
        if not isinstance(data, dict):
            raise DefinitionError(
                [Problem(where, "a graph file must be a mapping with graph:, nodes: and edges:")],
                source=source,
            )
        problems: list[Problem] = []
        known = {
            "graph", "name", "description", "entry", "variables", "limits", "models",
            "defaults", "nodes", "edges", "graphflow",
        }  # fmt: skip
        for key in data:
            if key not in known:
                problems.append(
                    Problem(where, f"unknown top-level key {key!r}", f"use one of {sorted(known)}")
                )
        name = data.get("graph", data.get("name"))
        if isinstance(name, (bool, int, float)):
            problems.append(Problem(where, f"the graph name was read as {name!r}, not text",
                                    "quote it, e.g. graph: \"off\""))  # fmt: skip
        elif not name:
            problems.append(Problem(where, "missing graph name", "add `graph: NAME` at the top"))
        nodes = _nodes_from_file(data.get("nodes"), where, problems)
        edges = _edges_from_file(data.get("edges"), where, problems)
        fields = {k: data[k] for k in ("description", "entry", "models") if k in data}
        fields["variables"], fields["declarations"] = variables_from_file(
            data.get("variables"), where, problems)
        fields["defaults"] = data.get("defaults") or {}
        try:
            limits = Limits.model_validate(data.get("limits") or {})
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, f"{where}: limits"))
            limits = Limits()
        if problems:
            raise DefinitionError(problems, source=source)
        try:
            return cls(name=str(name), nodes=nodes, edges=edges, limits=limits,
                       source=source, **fields)  # fmt: skip
        except ValidationError as exc:
            raise DefinitionError(_pydantic_problems(exc, where), source=source) from None


def _nodes_from_file(raw: Any, where: str, problems: list[Problem]) -> list[NodeSpec]:
    if raw is None:
        problems.append(Problem(where, "no nodes", "add a `nodes:` mapping of node id → options"))
        return []
    items: list[tuple[str, Any]]
    if isinstance(raw, dict):
        items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        items = []
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict) or "id" not in entry:
                problems.append(Problem(f"{where}: nodes[{i}]", "a node needs an `id:`"))
                continue
            items.append((str(entry["id"]), entry))
    else:
        problems.append(Problem(where, "`nodes:` must be a mapping of node id → options"))
        return []
    nodes = []
    for node_id, data in items:
        try:
            nodes.append(NodeSpec.from_file(node_id, data))
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, f"{where}: node {node_id!r}"))
        except TypeError as exc:
            problems.append(Problem(f"{where}: node {node_id!r}", str(exc)))
    return nodes


def _edges_from_file(raw: Any, where: str, problems: list[Problem]) -> list[EdgeSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(Problem(where, "`edges:` must be a list of {from:, to:} mappings"))
        return []
    edges = []
    for i, entry in enumerate(raw):
        place = f"{where}: edges[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(place, "an edge must be a mapping like {from: a, to: b}"))
            continue
        targets = entry.get("to")
        for target in targets if isinstance(targets, list) else [targets]:
            try:
                edges.append(EdgeSpec.model_validate({**entry, "to": target}))
            except ValidationError as exc:
                problems.extend(_pydantic_problems(exc, place))
    return edges
