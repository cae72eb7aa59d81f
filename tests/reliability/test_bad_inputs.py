"""Property-based: every graph file is either accepted or rejected with a DefinitionError
that names a place — never another exception, never a hang.

More examples on demand: GRAPHFLOW_FUZZ_EXAMPLES=5000 pytest tests/reliability/test_bad_inputs.py
"""

from __future__ import annotations

import json
import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphflow import DefinitionError
from graphflow.compiler import compile_spec
from graphflow.spec import loads_spec

EXAMPLES = int(os.environ.get("GRAPHFLOW_FUZZ_EXAMPLES", "300"))
# The deadline catches a hang, not a slow machine: one example takes milliseconds.
SETTINGS = settings(max_examples=EXAMPLES, deadline=30_000,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

names = st.sampled_from(["a", "b", "c", "end", "ghost", "", "1", "a b", None, 3])
kinds = st.sampled_from(["function", "human", "end", "subgraph", "agent", "router", "tool",
                         "code", "nope", None, 7])
conditions = st.one_of(
    st.sampled_from(['contains(last.content, "x")', "state.n > 1", "visits.a < 3", "step",
                     "last.__class__", "foo(", "lambda: 1", "1 +", "state[", "", "true",
                     'matches(last.content, "(")', "__import__('os')"]),
    st.text(max_size=30), st.integers(), st.none())
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8))
options = st.dictionaries(st.sampled_from(["call", "prompt", "args", "output", "graph",
                                           "tools", "executor", "model", "join", "max_visits",
                                           "use", "status", "zzz"]),
                          st.one_of(scalars, st.just("nodes.tools.text:draft"),
                                    st.just({"text": "last.content"}), st.lists(scalars, max_size=2)),
                          max_size=3)


@st.composite
def graph_docs(draw: st.DrawFn) -> object:
    node_ids = draw(st.lists(names, max_size=5))
    nodes = {str(n): {**draw(options), "kind": draw(kinds)} for n in node_ids}
    if draw(st.booleans()):
        nodes = draw(st.one_of(st.lists(scalars, max_size=2), scalars))  # type: ignore[assignment]
    edges = [{"from": draw(names), "to": draw(st.one_of(names, st.lists(names, max_size=2))),
              **({"when": draw(conditions)} if draw(st.booleans()) else {}),
              **({"else": draw(st.booleans())} if draw(st.booleans()) else {})}
             for _ in range(draw(st.integers(0, 5)))]
    doc: dict[str, object] = {"graph": draw(st.one_of(st.just("g"), scalars)),
                              "entry": draw(names), "nodes": nodes, "edges": edges}
    if draw(st.booleans()):
        doc["limits"] = draw(st.dictionaries(
            st.sampled_from(["max_steps", "max_visits", "timeout", "stop_when", "bogus"]),
            st.one_of(scalars, conditions), max_size=2))
    if draw(st.booleans()):
        doc["variables"] = draw(st.one_of(st.dictionaries(st.text(max_size=4), scalars), scalars))
    if draw(st.booleans()):
        doc[draw(st.text(max_size=6))] = draw(scalars)
    return doc


def check(text: str, fmt: str) -> None:
    try:
        spec = loads_spec(text, source="fuzz.yaml", fmt=fmt)
        compile_spec(spec)
    except DefinitionError as exc:
        assert exc.problems, "a DefinitionError must list its problems"
        assert all(p.where or "fuzz" in str(exc) for p in exc.problems)


@SETTINGS
@given(graph_docs(), st.sampled_from(["yaml", "json"]))
def test_generated_graph_files_are_accepted_or_rejected_cleanly(doc: object, fmt: str) -> None:
    text = json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc)
    check(text, fmt)


@SETTINGS
@given(st.text(max_size=200), st.sampled_from(["yaml", "json"]))
def test_arbitrary_text_is_rejected_cleanly(text: str, fmt: str) -> None:
    check(text, fmt)
