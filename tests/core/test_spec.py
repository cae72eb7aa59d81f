from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphflow import DefinitionError, Graph
from graphflow.spec import (
    EdgeSpec,
    GraphSpec,
    Limits,
    NodeSpec,
    dump_spec,
    dumps_spec,
    load_spec,
    loads_spec,
)

GOOD = """
graph: review
description: a writer and a critic
entry: writer
variables: {topic: graphs, rounds: 0}
limits: {max_steps: 20, max_visits: 5}
nodes:
  writer: {kind: function, call: "nodes.tools.text:draft", args: {topic: state.topic}}
  critic: {kind: function, call: "nodes.tools.text:review", args: {text: last.content}}
  done: {kind: end}
edges:
  - {from: writer, to: critic}
  - {from: critic, to: writer, when: 'not contains(last.content, "APPROVED")', label: again}
  - {from: critic, to: done, else: true}
"""


def test_load_and_round_trip_yaml_and_json(tmp_path: Path) -> None:
    spec = loads_spec(GOOD)
    assert [n.id for n in spec.nodes] == ["writer", "critic", "done"]
    assert spec.edges[2].otherwise and spec.edges[1].label == "again"
    assert spec.nodes[0].config == {"call": "nodes.tools.text:draft", "args": {"topic": "state.topic"}}
    for name in ("g.yaml", "g.json"):
        path = dump_spec(spec, tmp_path / name)
        again = load_spec(path)
        assert again.model_dump(exclude={"source"}) == spec.model_dump(exclude={"source"})


def test_nodes_may_be_a_list() -> None:
    spec = loads_spec("graph: g\nentry: a\nnodes:\n  - {id: a, kind: end}\n")
    assert spec.nodes[0].id == "a"


def test_duplicate_yaml_keys_are_reported_with_the_line() -> None:
    text = "graph: g\nentry: a\nnodes:\n  a: {kind: end}\n  a: {kind: end}\n"
    with pytest.raises(DefinitionError) as info:
        loads_spec(text, source="g.yaml")
    assert "duplicate key 'a'" in str(info.value) and "line 5" in str(info.value)


def test_bad_yaml_names_line_and_column() -> None:
    with pytest.raises(DefinitionError) as info:
        loads_spec("graph: g\nnodes: {a: [}\n", source="bad.yaml")
    assert "bad.yaml: line 2" in str(info.value)


def test_every_problem_of_a_file_is_listed() -> None:
    text = "grpah: g\nnodes: 3\nedges: {a: b}\nlimits: {max_steps: -1}\n"
    with pytest.raises(DefinitionError) as info:
        loads_spec(text, source="x.yaml")
    message = str(info.value)
    for part in ("unknown top-level key 'grpah'", "missing graph name", "`nodes:` must be",
                 "`edges:` must be", "limits"):
        assert part in message, part


def test_missing_file() -> None:
    with pytest.raises(DefinitionError, match="no such file"):
        load_spec("does/not/exist.yaml")


def test_builder_produces_the_same_spec_as_the_file() -> None:
    g = Graph("review", entry="writer", description="a writer and a critic",
              variables={"topic": "graphs", "rounds": 0})
    g.limits(max_steps=20, max_visits=5)
    g.add_node("writer", "nodes.tools.text:draft", args={"topic": "state.topic"})
    g.add_node("critic", "nodes.tools.text:review", args={"text": "last.content"})
    g.add_node("done", kind="end")
    g.add_edge("writer", "critic")
    g.add_edge("critic", "writer", when='not contains(last.content, "APPROVED")', label="again")
    g.add_edge("critic", "done", otherwise=True)
    assert g.to_spec().model_dump(exclude={"source"}) == loads_spec(GOOD).model_dump(exclude={"source"})


def test_callables_are_saved_as_import_paths_or_marked_not_serializable(tmp_path: Path) -> None:
    from nodes.tools.text import draft

    g = Graph("g")
    g.add_node("a", draft, args={"topic": "'x'"})
    g.add_node("b", lambda state: "hi")
    g.add_node("c", kind="end")
    g.add_edge("a", "b", when=lambda state: True)
    g.add_edge("a", "c", otherwise=True)
    g.add_edge("b", "c")
    assert not g.compile().serializable
    text = dumps_spec(g.to_spec())
    assert "call: nodes.tools.text:draft" in text
    assert "<not serializable: " in text
    g.save(tmp_path / "g.yaml")
    from graphflow.compiler import compile_spec

    with pytest.raises(DefinitionError) as info:
        compile_spec(load_spec(tmp_path / "g.yaml"))
    assert "node 'b'" in str(info.value) and "edge a → b" in str(info.value)


ids = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
values = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) |
                      st.text(max_size=10),
                      lambda children: st.lists(children, max_size=3) |
                      st.dictionaries(st.text(alphabet="xyz", min_size=1, max_size=3), children,
                                      max_size=3), max_leaves=6)


@st.composite
def specs(draw: st.DrawFn) -> GraphSpec:
    node_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    nodes = [NodeSpec(id=n, kind=draw(st.sampled_from(["function", "end", "human"])),
                      description=draw(st.none() | st.text(max_size=10)),
                      max_visits=draw(st.none() | st.integers(1, 9)),
                      join=draw(st.none() | st.sampled_from(["any", "all"])),
                      config=draw(st.dictionaries(st.sampled_from(["call", "prompt", "x_y"]),
                                                  values, max_size=2)))
             for n in node_ids]
    edges = [EdgeSpec(source=draw(st.sampled_from(node_ids)), target=draw(st.sampled_from(node_ids)),
                      when=draw(st.none() | st.sampled_from(['step > 1', 'contains(last.content, "a:b")'])),
                      label=draw(st.none() | st.text(max_size=8)))
             for _ in range(draw(st.integers(0, 6)))]
    return GraphSpec(name=draw(ids), entry=node_ids[0], nodes=nodes, edges=edges,
                     variables=draw(st.dictionaries(ids, values, max_size=3)),
                     limits=Limits(max_steps=draw(st.none() | st.integers(1, 100))),
                     description=draw(st.none() | st.text(max_size=20)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.sampled_from(["yaml", "json"]))
def test_spec_file_spec_is_identity(spec: GraphSpec, fmt: str) -> None:
    again = loads_spec(dumps_spec(spec, fmt), fmt=fmt)
    assert again.model_dump(exclude={"source"}) == spec.model_dump(exclude={"source"})


def test_a_graph_name_yaml_reads_as_a_boolean_says_to_quote_it() -> None:
    with pytest.raises(DefinitionError, match="quote it"):
        loads_spec("graph: off\nentry: a\nnodes:\n  a: {kind: end}\n")
