"""GraphSpec: the declarative, serializable definition of a graph.

Graph files (YAML or JSON) and the Python builder both produce a :class:`GraphSpec`.
In files, ``nodes`` is a mapping from node id to the node's options, and a node's
kind-specific options sit beside its common ones::

    graph: review
    entry: writer
    variables: {topic: "graphs"}
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
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graphflow.errors import DefinitionError, Problem

__all__ = [
    "COMMON_NODE_KEYS",
    "EdgeSpec",
    "GraphSpec",
    "Limits",
    "NodeSpec",
    "dump_spec",
    "dumps_spec",
    "load_spec",
    "loads_spec",
    "not_serializable",
]

FORMAT_VERSION = 1
COMMON_NODE_KEYS = ("kind", "use", "description", "join", "max_visits", "label")
NOT_SERIALIZABLE = "<not serializable: "


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)


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
        out.update({k: _serializable(v) for k, v in self.config.items()})
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
            out["when"] = _serializable(self.when)
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
        if self.variables:
            out["variables"] = dict(self.variables)
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
        fields = {k: data[k] for k in ("description", "entry", "variables", "models") if k in data}
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


def _pydantic_problems(exc: ValidationError, where: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        what = err["msg"]
        if err["type"] == "extra_forbidden":
            what = "unknown option"
        out.append(Problem(f"{where}{': ' + loc if loc else ''}", what))
    return out


def not_serializable(obj: Any) -> str:
    """The marker written to a file in place of a Python object (a callable)."""
    name = getattr(obj, "__qualname__", type(obj).__name__)
    code = getattr(obj, "__code__", None)
    place = f" at {Path(code.co_filename).name}:{code.co_firstlineno}" if code else ""
    return f"{NOT_SERIALIZABLE}{name}{place}>"


def _serializable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, dict):
        return {k: _serializable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serializable(v) for v in value]
    if isinstance(value, GraphSpec):
        return value.to_file()
    to_spec = getattr(value, "to_spec", None)
    if callable(to_spec):
        return to_spec().to_file()
    path = import_path_of(value)
    return path if path is not None else not_serializable(value)


def import_path_of(obj: Any) -> str | None:
    """``module:qualname`` when importing that gives back ``obj``; else ``None``."""
    import importlib

    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except Exception:
        return None
    return f"{module}:{qualname}" if target is obj else None


# ---- reading and writing files ------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys (plain PyYAML keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key]})",
                key_node.start_mark,
            )  # fmt: skip
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_spec(text: str, *, source: str | None = None, fmt: str | None = None) -> GraphSpec:
    """Parse graph-file text (YAML, or JSON when ``fmt='json'``) into a GraphSpec."""
    where = source or "<text>"
    try:
        if fmt == "json":
            data = json.loads(text, object_pairs_hook=_json_pairs)
        else:
            data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        reason = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(
            [Problem(f"{where}: {pos}", f"not valid YAML: {reason}", "fix the syntax there")],
            source=source,
        ) from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise DefinitionError(
            [Problem(where, f"not valid JSON: {exc}", "fix the syntax there")], source=source
        ) from None
    return GraphSpec.from_file(data, source=source)


def load_spec(path: str | Path) -> GraphSpec:
    """Read a graph file (``.yaml``, ``.yml`` or ``.json``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(
            [Problem(str(path), "no such file", "check the path, or list graphs with `ls graphs/`")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(str(path), f"cannot read the file: {exc}")]) from None
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return loads_spec(text, source=str(path), fmt=fmt)


def dumps_spec(spec: GraphSpec, fmt: str = "yaml") -> str:
    """Serialize a spec; callables that cannot be imported become a marker string."""
    data = spec.to_file()
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    # PyYAML writes some line-break characters (U+0085, U+2028, U+2029) unescaped
    # with allow_unicode, and reads them back as line breaks: escape everything then.
    if any(ch in text for ch in "\x85\u2028\u2029"):
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=100)
    return text


def dump_spec(spec: GraphSpec, path: str | Path) -> Path:
    """Write a spec to ``path`` (format from the suffix) and return the path."""
    path = Path(path)
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    path.write_text(dumps_spec(spec, fmt), encoding="utf-8")
    return path


def is_not_serializable_marker(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(NOT_SERIALIZABLE)

