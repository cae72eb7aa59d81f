"""The compiler: GraphSpec → CompiledGraph, reporting every problem at once.

Checks, each reported with its place and a fix:

- duplicate node ids, unknown kinds, unknown catalog references, bad kind options;
- a missing or unknown entry node; edges from or to unknown nodes; edges out of end nodes;
- condition expressions that do not parse (with the column);
- a node mixing conditional and unconditional edges, more than one else edge, or
  conditions on the edges of a node that picks its successor itself (a router);
- nodes unreachable from the entry; nodes with no path to an end (a node of kind
  ``end`` or a node without outgoing edges);
- cycles whose only exits are unconditional, when no limit (``max_steps``, a
  ``max_visits``) bounds them.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from graphflow.catalog import find_node_definition
from graphflow.conditions import compile_condition
from graphflow.errors import ConditionSyntaxError, DefinitionError, Problem
from graphflow.graph import CompiledEdge, CompiledGraph, CompiledNode
from graphflow.graph.state import StateSchema, compile_state
from graphflow.kinds import BuildContext, NodeKind, get_kind, kind_names
from graphflow.spec import COMMON_NODE_KEYS, GraphSpec, NodeSpec, is_not_serializable_marker

__all__ = ["compile_spec", "topology_hash"]

logger = logging.getLogger(__name__)


def topology_hash(spec: GraphSpec) -> str:
    """A hash of what routing depends on: node ids and kinds, edges and their
    conditions, the entry. Prompts and other options are not part of it, so editing a
    prompt does not strand waiting runs."""
    nodes = sorted((n.id, n.kind or f"use:{n.use}") for n in spec.nodes)
    edges = [(e.source, e.target, e.when if isinstance(e.when, str) else
              (None if e.when is None else "<callable>"), e.otherwise) for e in spec.edges]  # fmt: skip
    payload = json.dumps([spec.entry, nodes, edges], sort_keys=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _where(spec: GraphSpec) -> str:
    return spec.source or f"graph {spec.name!r}"


def _resolve_node(node: NodeSpec, base_dir: Path, problems: list[Problem], where: str) -> NodeSpec:
    if not node.use:
        return node
    try:
        _path, data = find_node_definition(node.use, base_dir)
    except (LookupError, ValueError) as exc:
        problems.append(Problem(f"{where}: node {node.id!r}", str(exc),
                                "add the definition to a nodes/ folder or fix the name"))  # fmt: skip
        return node
    try:
        base = NodeSpec.from_file(node.id, {k: v for k, v in data.items() if k != "use"})
    except (ValidationError, TypeError) as exc:
        what = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                         ) if isinstance(exc, ValidationError) else str(exc)  # fmt: skip
        problems.append(Problem(f"{where}: node {node.id!r}", f"catalog entry {node.use!r} "
                                f"({_path}) is not valid: {what}", "fix that file"))  # fmt: skip
        return node
    own = {k: getattr(node, k) for k in COMMON_NODE_KEYS if getattr(node, k) is not None}
    own.pop("use", None)
    merged = base.model_copy(update={**own, "config": {**base.config, **node.config}})
    return merged


def _build_kind(
    node: NodeSpec, build: BuildContext, problems: list[Problem], where: str
) -> NodeKind | None:
    place = f"{where}: node {node.id!r}"
    if not node.kind:
        problems.append(Problem(place, "no kind", f"add `kind:` (one of {', '.join(kind_names())})"
                                " or `use:` a catalog entry"))  # fmt: skip
        return None
    cls = get_kind(node.kind)
    if cls is None:
        close = difflib.get_close_matches(node.kind, kind_names(), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(kind_names())}"
        problems.append(Problem(place, f"unknown kind {node.kind!r}", hint))
        return None
    options = {**build.defaults.get(node.kind, {}), **node.config} if isinstance(
        build.defaults.get(node.kind), dict) else dict(node.config)  # fmt: skip
    try:
        config = cls.Config.model_validate(options)
    except ValidationError as exc:
        allowed = sorted(cls.Config.model_fields)
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(key, allowed, n=1)
                fix = f"did you mean {close[0]!r}?" if close else f"options of {node.kind}: {allowed}"
                problems.append(Problem(place, f"unknown option {key!r}", fix))
            else:
                problems.append(Problem(f"{place}: {key}" if key else place, err["msg"]))
        return None
    try:
        return cls(node.id, config, build)
    except DefinitionError as exc:
        for p in exc.problems:
            problems.append(Problem(f"{where}: {p.where}" if p.where else place, p.what, p.fix))
    except Exception as exc:  # a kind's constructor failed in an unplanned way
        problems.append(Problem(place, f"{type(exc).__name__}: {exc}"))
    return None


def compile_spec(spec: GraphSpec, *, base_dir: Path | None = None) -> CompiledGraph:
    """Compile ``spec`` into an immutable :class:`~graphflow.graph.CompiledGraph`.

    Args:
        spec: the graph's spec.
        base_dir: where relative paths, imports and ``use:`` references resolve
            (default: the graph file's folder, else the working directory).

    Raises:
        DefinitionError: listing every problem found.
    """
    where = _where(spec)
    logger.debug("compiling graph %r (%d nodes, %d edges)", spec.name, len(spec.nodes),
                 len(spec.edges))  # fmt: skip
    if base_dir is None:
        base_dir = Path(spec.source).resolve().parent if spec.source else Path.cwd()
    problems: list[Problem] = []
    build = BuildContext(graph_name=spec.name, source=spec.source, base_dir=base_dir,
                         variables=spec.variables, models=spec.models, defaults=spec.defaults,
                         compile_subgraph=lambda ref: _compile_ref(ref, base_dir))  # fmt: skip

    nodes: dict[str, CompiledNode] = {}
    seen: set[str] = set()
    for raw in spec.nodes:
        if raw.id in seen:
            problems.append(Problem(f"{where}: node {raw.id!r}", "duplicate node id",
                                    "give each node a unique id"))  # fmt: skip
            continue
        seen.add(raw.id)
        node = _resolve_node(raw, base_dir, problems, where)
        impl = _build_kind(node, build, problems, where)
        if impl is not None:
            nodes[node.id] = CompiledNode(node.id, node.kind or "", impl, node,
                                          node.join or "any", node.max_visits)  # fmt: skip

    if spec.entry is None:
        problems.append(Problem(where, "no entry node", "add `entry: NODE_ID`"))
    elif spec.entry not in seen:
        problems.append(Problem(where, f"entry {spec.entry!r} is not a node",
                                _suggest(spec.entry, seen)))  # fmt: skip

    out_edges: dict[str, list[CompiledEdge]] = {n: [] for n in seen}
    for i, e in enumerate(spec.edges):
        place = f"{where}: edge {e.source} → {e.target}"
        bad = False
        for end in (e.source, e.target):
            if end not in seen:
                problems.append(Problem(place, f"unknown node {end!r}",
                                        _suggest(end, seen) or "add it under nodes:"))  # fmt: skip
                bad = True
        condition = None
        if e.when is not None and e.otherwise:
            problems.append(Problem(place, "has both `when:` and `else:`", "keep one"))
        if is_not_serializable_marker(e.when):
            problems.append(Problem(place, f"its condition was a Python callable ({e.when})",
                                    "write it as an expression"))  # fmt: skip
        elif isinstance(e.when, str):
            try:
                condition = compile_condition(e.when)
            except ConditionSyntaxError as exc:
                problems.append(Problem(f"{place} (edges[{i}])", f"bad condition: {exc}"))
        elif e.when is not None:
            if callable(e.when):
                condition = e.when
            else:
                problems.append(Problem(place, f"`when:` must be text, got {e.when!r}"))
        if not bad:
            text = e.when if isinstance(e.when, str) else (
                getattr(e.when, "__name__", "callable") if e.when is not None else None)
            out_edges[e.source].append(CompiledEdge(e.source, e.target, condition, text,
                                                    e.otherwise, e.label))  # fmt: skip

    stop_when = None
    if spec.limits.stop_when is not None:
        try:
            stop_when = compile_condition(spec.limits.stop_when)
        except ConditionSyntaxError as exc:
            problems.append(Problem(f"{where}: limits.stop_when", f"bad condition: {exc}"))
    state = compile_state(spec.declarations, spec.variables, base_dir, problems, where)
    _check_routing(nodes, out_edges, problems, where)
    _check_parallel_writes(nodes, out_edges, state, problems, where)
    if problems:
        raise DefinitionError(problems, source=spec.source or spec.name)
    successors = {n: [e.target for e in out_edges[n]] for n in nodes}
    predecessors: dict[str, list[str]] = {n: [] for n in nodes}
    for source, targets in successors.items():
        for target in targets:
            predecessors[target].append(source)
    assert spec.entry is not None
    _check_structure(spec, nodes, out_edges, successors, predecessors, problems, where)
    if problems:
        raise DefinitionError(problems, source=spec.source or spec.name)
    joins = {n: frozenset(_beyond(predecessors, n)) for n, cn in nodes.items()
             if cn.join == "all"}  # the nodes that can reach n  # fmt: skip
    return CompiledGraph(spec=spec, nodes=nodes,
                         out_edges={k: tuple(v) for k, v in out_edges.items()},
                         join_ancestors=joins, topology=topology_hash(spec),
                         base_dir=base_dir, stop_when=stop_when, state=state)  # fmt: skip


def _suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


def _check_routing(nodes: dict[str, CompiledNode], out_edges: dict[str, list[CompiledEdge]],
                   problems: list[Problem], where: str) -> None:  # fmt: skip
    for node_id, edges in out_edges.items():
        node = nodes.get(node_id)
        if node is None or not edges:
            continue
        place = f"{where}: node {node_id!r}"
        if node.impl.terminal:
            problems.append(Problem(place, "an end node cannot have outgoing edges",
                                    "remove them or change its kind"))  # fmt: skip
            continue
        conditional = [e for e in edges if e.conditional]
        if node.impl.dynamic_routing:
            if conditional:
                problems.append(Problem(place, f"a {node.kind} node picks its successor itself; "
                                        "its edges cannot have conditions",
                                        "remove when:/else: from its edges"))  # fmt: skip
            continue
        if conditional and len(conditional) != len(edges):
            plain = ", ".join(e.target for e in edges if not e.conditional)
            problems.append(Problem(place, f"mixes conditional edges with unconditional ones "
                                    f"(to {plain}); unconditional edges mean parallel fan-out",
                                    "give every edge a condition, or mark the default one "
                                    "`else: true`"))  # fmt: skip
        elses = [e for e in edges if e.otherwise]
        if len(elses) > 1:
            problems.append(Problem(place, "has more than one else edge", "keep one"))
        elif elses and edges[-1] is not elses[0]:
            problems.append(Problem(place, "its else edge is not its last edge",
                                    "list the else edge after the conditional ones"))  # fmt: skip


def _check_parallel_writes(nodes: dict[str, CompiledNode],
                           out_edges: dict[str, list[CompiledEdge]], state: StateSchema,
                           problems: list[Problem], where: str) -> None:  # fmt: skip
    """Nodes that run in the same step (the targets of one fan-out) must not both write a
    ``replace`` variable they declare statically (a subgraph's ``outputs``, a function's
    ``output``, a human checkpoint's ``variable``)."""
    for source, edges in out_edges.items():
        if len(edges) < 2 or any(e.conditional for e in edges) or source not in nodes:
            continue
        if nodes[source].impl.dynamic_routing:
            continue
        seen: dict[str, str] = {}
        for edge in edges:
            node = nodes.get(edge.target)
            if node is None:
                continue
            for name in sorted(static_writes(node)):
                var = state.declared.get(name)
                if (var is None or var.merge == "replace") and seen.get(name, node.id) != node.id:
                    problems.append(Problem(
                        f"{where}: node {source!r}",
                        f"its fan-out runs {seen[name]!r} and {node.id!r} in the same step and "
                        f"both write variable {name!r}, whose merge rule is replace",
                        f"declare a merge rule for it (e.g. `{name}: {{merge: append}}` under "
                        "variables:), or write different variables"))
                seen.setdefault(name, node.id)


def static_writes(node: CompiledNode) -> frozenset[str]:
    """The variables a node's options say it writes."""
    writes = getattr(node.impl, "writes", None)
    if callable(writes):
        return frozenset(writes())
    config = node.impl.config
    names = [getattr(config, key, None) for key in ("output", "variable")]
    return frozenset(n for n in names if isinstance(n, str))


def _beyond(graph: Mapping[str, Iterable[str]], start: str) -> set[str]:
    """The nodes reachable from ``start`` along ``graph``'s edges, without ``start``
    itself (networkx's ``descendants``, or ``ancestors`` over the reversed edges)."""
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    seen.discard(start)
    return seen


def _components(successors: Mapping[str, list[str]]) -> Iterator[set[str]]:
    """The strongly connected components of the graph (Tarjan's algorithm, without
    recursion), each as a set of node ids."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in successors:
        if root in index:
            continue
        work = [(root, iter(successors[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    yield component


def _check_structure(spec: GraphSpec, nodes: dict[str, CompiledNode],
                     out_edges: dict[str, list[CompiledEdge]],
                     successors: dict[str, list[str]], predecessors: dict[str, list[str]],
                     problems: list[Problem], where: str) -> None:  # fmt: skip
    entry = spec.entry
    assert entry is not None
    reachable = _beyond(successors, entry) | {entry}
    for node_id in nodes:
        if node_id not in reachable:
            problems.append(Problem(f"{where}: node {node_id!r}",
                                    f"unreachable from the entry {entry!r}",
                                    "add an edge to it or remove it"))  # fmt: skip
    ends = {n for n, cn in nodes.items() if cn.impl.terminal or not out_edges[n]}
    can_end: set[str] = set(ends)
    for end in ends:
        can_end |= _beyond(predecessors, end)
    for node_id in nodes:
        if node_id in reachable and node_id not in can_end:
            problems.append(Problem(f"{where}: node {node_id!r}", "has no path to an end",
                                    "add an exit edge (with a condition) towards an end "
                                    "node"))  # fmt: skip
    limits = spec.limits
    limited = any(v is not None for v in (limits.max_steps, limits.max_visits, limits.timeout,
                                          limits.max_tokens, limits.max_cost))
    for cycle in _components(successors):
        if len(cycle) == 1:
            only = next(iter(cycle))
            if only not in successors[only]:
                continue
        if limited or any(nodes[n].max_visits for n in cycle):
            continue
        if limits.max_rounds is not None and any(nodes[n].impl.speaker for n in cycle):
            continue  # max_rounds bounds a loop in which an agent speaks
        has_exit = any(
            e.target not in cycle and (e.conditional or nodes[n].impl.dynamic_routing)
            for n in cycle
            for e in out_edges[n]
        )
        if not has_exit and cycle <= can_end:
            names = ", ".join(sorted(cycle))
            problems.append(Problem(f"{where}: cycle {names}",
                                    "loops with no conditional exit and no limit",
                                    "add a conditional exit edge, or set limits: max_steps or "
                                    "a node's max_visits"))  # fmt: skip


def _compile_ref(ref: Any, base_dir: Path) -> CompiledGraph:
    """Compile a nested graph given as a file path, an inline mapping, a spec or a
    builder/compiled graph (used by the subgraph kind)."""
    from graphflow.spec import load_spec

    if isinstance(ref, CompiledGraph):
        return ref
    if hasattr(ref, "compile") and callable(ref.compile):
        compiled = ref.compile()
        if not isinstance(compiled, CompiledGraph):
            raise DefinitionError(f"cannot use {ref!r} as a subgraph: its compile() returned "
                                  f"{type(compiled).__name__}, not a CompiledGraph")
        return compiled
    if isinstance(ref, GraphSpec):
        return compile_spec(ref, base_dir=base_dir)
    if isinstance(ref, dict):
        return compile_spec(GraphSpec.from_file(ref, source=None), base_dir=base_dir)
    if isinstance(ref, str):
        from graphflow.catalog import find_graph_file

        path = Path(ref) if Path(ref).is_absolute() else base_dir / ref
        if not path.is_file():
            found = find_graph_file(ref)
            if found is None:
                raise DefinitionError(f"subgraph file {ref!r} not found (looked in {base_dir})")
            path = found
        return compile_spec(load_spec(path))
    raise DefinitionError(f"cannot use {ref!r} as a subgraph")
