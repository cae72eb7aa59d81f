"""graphflow's layers, read from its code: which part imports which.

A *part* is a subpackage of graphflow (``graphflow/store/``) or a top-level module
(``graphflow/scheduler.py``). Every import counts, function-local ones too, except those
under ``if TYPE_CHECKING:`` (they exist only for the type checker). The part graph must be
acyclic: ``tests/test_architecture.py`` checks it, and this script draws it for
docs/design.md::

    python scripts/layers.py            # writes docs/layers.dot and docs/layers.svg
    python scripts/layers.py --check    # prints cycles and over-long modules; exit 1 if any
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "graphflow"
MAX_LINES = 500

#: Layers from the top down; a part may import parts of its own layer or below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("interfaces", ("__main__", "cli", "serve", "progress")),
    ("reports and drawings", ("report", "render", "show")),
    ("classic AutoGen API", ("autogen",)),
    ("AutoGen-style patterns", ("patterns",)),
    ("API facade and compiler", ("runs", "distributed", "loader", "builder", "compiler", "tuning")),
    ("scheduler", ("scheduler", "resuming")),
    ("agents runtime and node kinds", ("agents", "kinds")),
    ("run context and compiled graph", ("context", "graph", "spec", "conditions", "results")),
    ("services", ("store", "models", "execution", "tools", "testing", "imports", "import_policy",
                  "catalog", "memory", "knowledge",
                  "secrets", "display")),
    ("foundations", ("messages", "events", "errors", "bundled", "blocking", "tracing", "conversation",
                     "terminal")),
)

#: Upward imports made on purpose, each inside the one function that needs it: a compiled
#: graph's convenience methods (``graph.run()``, ``graph.render()``) call the run facade
#: and the renderer when called, so users need not import them.
ALLOWED_UPWARD = frozenset({("graph", "runs"), ("graph", "render")})


def part_of(module: str) -> str | None:
    """The part a dotted module name belongs to (``graphflow.store.sqlite`` → ``store``),
    or None for modules outside graphflow and for graphflow's root package itself."""
    names = module.split(".")
    if names[0] != "graphflow" or len(names) < 2:
        return None
    part = names[1]
    if (PACKAGE / part).is_dir() or (PACKAGE / f"{part}.py").is_file():
        return part
    return None  # an attribute imported from the root package


def _module_name(path: Path) -> str:
    names = list(path.relative_to(ROOT).with_suffix("").parts)
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module ``tree`` imports, outside ``if TYPE_CHECKING:`` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".")[: None if is_package else -1]
                here = here[: len(here) - node.level + 1]
                base = ".".join([*here, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
    return name == "TYPE_CHECKING"


def import_graph() -> nx.DiGraph:
    """The part graph: an edge ``a → b`` for each part ``a`` importing part ``b``; each
    edge's ``where`` attribute lists the importing files."""
    graph = nx.DiGraph()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        source = part_of(module)
        if source is None:
            continue
        graph.add_node(source)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for target in _imports(tree, module, path.name == "__init__.py"):
            part = part_of(target)
            if part is not None and part != source:
                graph.add_edge(source, part)
                graph.edges[source, part].setdefault("where", set()).add(
                    str(path.relative_to(ROOT)))
    return graph


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    """The strongly connected groups of more than one part, each sorted."""
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def long_modules() -> list[tuple[str, int]]:
    """Modules of graphflow over :data:`MAX_LINES` lines, with their line counts."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_LINES:
            found.append((str(path.relative_to(ROOT)), lines))
    return found


def layer_of(part: str) -> int:
    """The index of the layer ``part`` belongs to in :data:`LAYERS` (0 is the top)."""
    for index, (_, parts) in enumerate(LAYERS):
        if part in parts:
            return index
    raise KeyError(f"part {part!r} is in no layer: add it to LAYERS in scripts/layers.py")


def upward_imports(graph: nx.DiGraph) -> list[tuple[str, str]]:
    """Edges that import a part of a higher layer than the importer's (except
    :data:`ALLOWED_UPWARD`)."""
    return sorted((a, b) for a, b in graph.edges
                  if layer_of(b) < layer_of(a) and (a, b) not in ALLOWED_UPWARD)


def to_dot(graph: nx.DiGraph) -> str:
    """The part graph as DOT: one row per layer, top layer first, drawing the transitive
    reduction (an import implied by a chain of others is left out, so the picture stays
    readable; the check functions above use every edge)."""
    reduced = nx.transitive_reduction(graph) if nx.is_directed_acyclic_graph(graph) else graph
    lines = ["digraph layers {", '  rankdir=TB; newrank=true; nodesep=0.25; ranksep=0.45;',
             '  node [shape=box, style="rounded,filled", fillcolor="#f4f6fb", '
             'fontname="Helvetica", fontsize=11];',
             '  edge [color="#8a94a8", arrowsize=0.6];']  # fmt: skip
    for index, (title, parts) in enumerate(LAYERS):
        present = [p for p in parts if p in graph]
        if not present:
            continue
        lines.append(f'  subgraph cluster_{index} {{ label="{title}"; labeljust=l; '
                     'style=rounded; color="#c8cfdc"; fontname="Helvetica"; fontsize=10;')  # fmt: skip
        lines.append("    { rank=same; " + " ".join(f'"{p}";' for p in present) + " }")
        lines.append("  }")
    lines.extend(f'  "{a}" -> "{b}";' for a, b in sorted(reduced.edges))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="print cycles, upward imports and long modules; exit 1 if any")
    args = parser.parse_args(argv)
    graph = import_graph()
    if args.check:
        problems = [f"cycle: {' ⇄ '.join(c)}" for c in cycles(graph)]
        problems += [f"upward import: {a} → {b}" for a, b in upward_imports(graph)]
        problems += [f"{path}: {n} lines (> {MAX_LINES})" for path, n in long_modules()]
        print("\n".join(problems) or "no cycles, no upward imports, no long modules")
        return 1 if problems else 0
    import graphviz

    dot = to_dot(graph)
    (ROOT / "docs" / "layers.dot").write_text(dot, encoding="utf-8")
    svg = graphviz.Source(dot).pipe(format="svg")
    (ROOT / "docs" / "layers.svg").write_bytes(svg)
    print("wrote docs/layers.dot and docs/layers.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
