from __future__ import annotations

from pathlib import Path

import pytest

from graphflow import DefinitionError, Graph, load
from graphflow.spec import loads_spec


def compile_text(text: str):
    from graphflow.compiler import compile_spec

    return compile_spec(loads_spec(text, source="g.yaml"))


def problems(text: str) -> str:
    with pytest.raises(DefinitionError) as info:
        compile_text(text)
    return str(info.value)


def test_all_problems_are_reported_at_once() -> None:
    message = problems("""
graph: broken
entry: strat
nodes:
  a: {kind: function, call: "nodes.tools.text:draft"}
  b: {kind: functoin}
  c: {kind: function, call: "nodes.tools.text:nope"}
  d: {kind: human, promt: "x"}
  e: {use: no_such_persona}
  lonely: {kind: end}
  z: {kind: end}
edges:
  - {from: a, to: b}
  - {from: a, to: publish}
  - {from: a, to: z, when: 'contains(last.content, "x"'}
  - {from: z, to: a}
""")
    for part in [
        "entry 'strat' is not a node",
        "unknown kind 'functoin'; did you mean 'function'?",
        "module 'nodes.tools.text' has no attribute 'nope'",
        "unknown option 'promt'; did you mean 'prompt'?",
        "no catalog entry 'no_such_persona'",
        "edge a → publish: unknown node 'publish'",
        "bad condition",
        "mixes conditional edges with unconditional ones",
        "an end node cannot have outgoing edges",
    ]:
        assert part in message, part
    assert message.count("\n  - ") >= 9


def test_structure_problems() -> None:
    message = problems("""
graph: g
entry: a
nodes:
  a: {kind: function, call: "nodes.tools.text:draft"}
  b: {kind: function, call: "nodes.tools.text:draft"}
  c: {kind: function, call: "nodes.tools.text:draft"}
  island: {kind: end}
  end: {kind: end}
edges:
  - {from: a, to: b, when: "step > 3"}
  - {from: a, to: end, else: true}
  - {from: b, to: c}
  - {from: c, to: b}
""")
    assert "node 'island': unreachable from the entry 'a'" in message
    assert "node 'b': has no path to an end" in message
    assert "node 'c': has no path to an end" in message


def test_cycle_with_only_unconditional_exits_needs_a_limit() -> None:
    text = """
graph: g
entry: a
nodes:
  a: {kind: function, call: "nodes.tools.text:draft"}
  b: {kind: function, call: "nodes.tools.text:draft"}
  done: {kind: end}
edges:
  - {from: a, to: b}
  - {from: b, to: a}
  - {from: b, to: done}
"""
    assert "loops with no conditional exit and no limit" in problems(text)
    compile_text(text.replace("entry: a", "entry: a\nlimits: {max_steps: 10}"))
    # max_rounds counts agent turns: it bounds a loop only when an agent speaks in it
    rounds = text.replace("entry: a", "entry: a\nlimits: {max_rounds: 10}")
    assert "loops with no conditional exit and no limit" in problems(rounds)
    compile_text(rounds.replace('a: {kind: function, call: "nodes.tools.text:draft"}',
                                "a: {kind: agent}"))


def test_duplicate_ids_and_else_placement() -> None:
    g = Graph("g")
    g.add_node("a", lambda s: None)
    g.add_node("a", kind="end")
    g.add_node("b", kind="end")
    g.add_node("c", kind="end")
    g.add_edge("a", "b", otherwise=True)
    g.add_edge("a", "c", when="true")
    with pytest.raises(DefinitionError) as info:
        g.compile()
    assert "duplicate node id" in str(info.value)
    assert "its else edge is not its last edge" in str(info.value)


def test_catalog_reference_resolves_from_the_graph_folder(tmp_path: Path) -> None:
    (tmp_path / "nodes").mkdir()
    (tmp_path / "nodes" / "shout.yaml").write_text(
        "kind: function\ncall: nodes.tools.text:word_count\nargs: {text: last.content}\n")
    (tmp_path / "g.yaml").write_text("graph: g\nentry: a\nnodes:\n  a: {use: shout, output: n}\n")
    graph = load(tmp_path / "g.yaml")
    result = graph.run_sync("one two three")
    assert result.variables["n"] == 3


def test_topology_hash_ignores_options_but_not_edges() -> None:
    base = "graph: g\nentry: a\nnodes:\n  a: {kind: human, prompt: P}\n  b: {kind: end}\nedges:\n  - {from: a, to: b}\n"
    one = compile_text(base)
    two = compile_text(base.replace("prompt: P", "prompt: Q"))
    three = compile_text(base + "  - {from: a, to: b}\n".replace("a, to: b", "a, to: b"))
    assert one.topology == two.topology
    assert one.topology != three.topology


def test_every_bundled_graph_validates() -> None:
    folder = Path(__file__).resolve().parents[2] / "graphs"
    files = sorted(folder.glob("*.yaml"))
    assert files
    for path in files:
        load(path)


def test_reachability_and_cycles_agree_with_networkx() -> None:
    """The compiler walks graphs itself (so that importing graphflow does not import
    networkx); on random graphs it finds what networkx finds."""
    import random

    import networkx as nx

    from graphflow.compiler import _beyond, _components

    rng = random.Random(3)
    for _ in range(300):
        names = [f"n{i}" for i in range(rng.randint(1, 9))]
        successors: dict[str, list[str]] = {n: [] for n in names}
        for _ in range(rng.randint(0, 20)):
            successors[rng.choice(names)].append(rng.choice(names))
        predecessors: dict[str, list[str]] = {n: [] for n in names}
        for source, targets in successors.items():
            for target in targets:
                predecessors[target].append(source)
        digraph = nx.MultiDiGraph()
        digraph.add_nodes_from(names)
        digraph.add_edges_from((s, t) for s, ts in successors.items() for t in ts)
        for n in names:
            assert _beyond(successors, n) == nx.descendants(digraph, n)
            assert _beyond(predecessors, n) == nx.ancestors(digraph, n)
        found = sorted(sorted(c) for c in _components(successors))
        assert found == sorted(sorted(c) for c in nx.strongly_connected_components(digraph))


def test_a_compiled_graph_still_offers_its_networkx_topology() -> None:
    g = Graph("two", entry="a")
    g.add_node("a", lambda s: None)
    g.add_node("b", lambda s: None)
    g.add_edge("a", "b")
    digraph = g.compile().digraph
    assert sorted(digraph.nodes) == ["a", "b"] and list(digraph.edges()) == [("a", "b")]
