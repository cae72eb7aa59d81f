"""The run contract: declared state with merge rules, exact values across a resume,
branch-local ends, bounded conditions (issue findings 1, 2, 3 and 5)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from graphflow import Graph, Update
from graphflow.errors import DefinitionError
from graphflow.loader import load
from graphflow.spec import dumps_spec, loads_spec
from graphflow.store import MemoryStore, Store


class Ref(BaseModel):
    ref: str
    day: dt.date
    tags: set[str] = set()


@dataclasses.dataclass
class Point:
    x: int
    when: dt.datetime


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Mine:
    """An object of the user's own class: no way to store it exactly."""


VALUES: dict[str, Any] = {
    "when": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
    "tags": {"a", "b"},
    "amount": Decimal("1.10"),
    "ref": Ref(ref="X1", day=dt.date(2024, 1, 2), tags={"t"}),
    "raw": b"\x00\xff",
    "point": Point(3, dt.datetime(2024, 5, 6, tzinfo=dt.timezone.utc)),
    "color": Color.BLUE,
    "pair": (1, "two"),
    "keys": {1: "one", (2, 3): "tuple"},
    "id": uuid.UUID(int=7),
    "path": Path("/tmp/x"),
    "gap": dt.timedelta(days=1, seconds=2),
}


def typed_graph(produce: Any, seen: dict[str, Any]) -> Graph:
    g = Graph("typed", entry="produce")
    g.variable("ref", type=Ref).variable("point", type=Point).variable("color", type=Color)
    g.add_node("produce", produce)
    g.add_node("ask", kind="human", prompt="go on?")
    g.add_node("check", lambda state: seen.update(state.variables))
    g.add_edge("produce", "ask").add_edge("ask", "check")
    return g


def test_values_keep_their_types_across_a_human_checkpoint_and_resume(tmp_path: Path) -> None:
    uninterrupted: dict[str, Any] = {}
    resumed: dict[str, Any] = {}
    # the uninterrupted run: the answer comes in the same process, the state in memory
    g = typed_graph(lambda state: dict(VALUES), uninterrupted).compile()
    store = MemoryStore()
    run = g.run_sync(store=store)
    assert run.status == "waiting"
    g.resume_sync(run.run_id, input="yes", store=store)
    # the interrupted one: another store handle reads the run back from the database
    db = tmp_path / "runs.db"
    g2 = typed_graph(lambda state: dict(VALUES), resumed).compile()
    paused = g2.run_sync(store=db)
    again = g2.resume_sync(paused.run_id, input="yes", store=Store(db))
    assert again.status == "completed", again.error
    for name, value in VALUES.items():
        assert resumed[name] == value, name
        assert type(resumed[name]) is type(value), name
    assert resumed == uninterrupted
    assert again.variables == {k: v for k, v in VALUES.items()}


def test_an_object_of_the_users_own_class_is_refused_when_the_node_returns_it() -> None:
    g = Graph("mine", entry="produce")
    g.add_node("produce", lambda state: {"mine": Mine()})
    result = g.compile().run_sync()
    assert result.status == "failed"
    assert "node 'produce' wrote variable 'mine'" in (result.error or "")
    assert "tests.core.test_run_contract.Mine" in (result.error or "")
    assert "cannot be stored exactly" in (result.error or "")


def test_a_model_in_an_undeclared_variable_says_to_declare_its_type() -> None:
    g = Graph("undeclared", entry="produce")
    g.add_node("produce", lambda state: {"report": VALUES["ref"]})
    result = g.compile().run_sync()
    assert result.status == "failed"
    assert "declare the variable's type" in (result.error or "")
    assert 'Graph.variable("report", type=Ref)' in (result.error or "")


def test_a_declared_type_validates_what_a_node_writes() -> None:
    g = Graph("bad", entry="produce").variable("n", type=int)
    g.add_node("produce", lambda state: {"n": "many"})
    result = g.compile().run_sync()
    assert result.status == "failed"
    assert "does not fit its declared type int" in (result.error or "")


# ---- finding 2: parallel writes -----------------------------------------------------


def fan_out(merge: str | None, writer: Any, n: int = 3) -> Graph:
    g = Graph("fan", entry="split")
    if merge:
        g.variable("findings", [] if merge in ("append", "extend") else None, merge=merge)
    g.add_node("split", lambda state: None)
    for i in range(n):
        name = f"w{i}"
        g.add_node(name, lambda state, i=i: {"findings": writer(i)})
        g.add_edge("split", name)
    g.add_node("join", lambda state: None, join="all")
    for i in range(n):
        g.add_edge(f"w{i}", "join")
    return g


def test_three_parallel_appends_keep_all_three_items() -> None:
    result = fan_out("append", lambda i: f"finding {i}").compile().run_sync(store=MemoryStore())
    assert result.status == "completed"
    assert result.variables["findings"] == ["finding 0", "finding 1", "finding 2"]


def test_parallel_writers_of_a_replace_variable_fail_naming_both_nodes_and_the_variable() -> None:
    result = fan_out(None, lambda i: [i]).compile().run_sync()
    assert result.status == "failed"
    error = result.error or ""
    assert "variable 'findings'" in error and "'w0' and 'w1'" in error
    assert "merge rule" in error


@pytest.mark.parametrize(("merge", "writer", "expected"), [
    ("extend", lambda i: [i, i], [0, 0, 1, 1, 2, 2]),
    ("add", lambda i: i + 1, 6),
    ("min", lambda i: 5 - i, 3),
    ("max", lambda i: 5 - i, 5),
    ("union", lambda i: {i % 2}, {0, 1}),
    ("merge", lambda i: {f"k{i}": i}, {"k0": 0, "k1": 1, "k2": 2}),
])  # fmt: skip
def test_every_merge_rule_combines_parallel_writes(merge: str, writer: Any, expected: Any) -> None:
    g = fan_out(merge, writer)
    if merge == "merge":
        g.variables["findings"] = {}
    result = g.compile().run_sync(store=MemoryStore())
    assert result.status == "completed", result.error
    assert result.variables["findings"] == expected


def test_merge_rule_merge_refuses_two_writers_of_one_key() -> None:
    g = fan_out("merge", lambda i: {"same": i})
    g.variables["findings"] = {}
    result = g.compile().run_sync()
    assert result.status == "failed" and "key 'same' of variable 'findings'" in (result.error or "")


def keep_longest(current: Any, new: Any) -> Any:
    return new if current is None or len(new) > len(current) else current


def test_a_custom_merge_function_by_import_path() -> None:
    spec = loads_spec("""
graph: custom
entry: split
variables:
  best: {merge: "tests.core.test_run_contract:keep_longest"}
nodes:
  split: {kind: function, call: "tests.core.test_run_contract:nothing"}
  a: {kind: function, call: "tests.core.test_run_contract:short"}
  b: {kind: function, call: "tests.core.test_run_contract:long"}
edges:
  - {from: split, to: [a, b]}
""")
    from graphflow.compiler import compile_spec

    result = compile_spec(spec, base_dir=Path.cwd()).run_sync()
    assert result.status == "completed", result.error
    assert result.variables["best"] == "a longer text"


def nothing(state: Any) -> None:
    return None


def short(state: Any) -> dict[str, str]:
    return {"best": "short"}


def long(state: Any) -> dict[str, str]:
    return {"best": "a longer text"}


INNER = """
graph: inner
entry: work
nodes:
  work: {kind: function, call: "tests.core.test_run_contract:inner_work"}
"""


def inner_work(state: Any) -> dict[str, str]:
    return {"result": f"done by {state.variables.get('who')}"}


def subgraphs(merge: str | None) -> str:
    declared = f"\n  results: {{merge: {merge}, default: []}}" if merge else ""
    return f"""
graph: outer
entry: split
variables:{declared or " {}"}
nodes:
  split: {{kind: function, call: "tests.core.test_run_contract:nothing"}}
  left: {{kind: subgraph, graph: inner.yaml, input: null, variables: {{who: '"left"'}},
         outputs: {{results: result}}, output: none}}
  right: {{kind: subgraph, graph: inner.yaml, input: null, variables: {{who: '"right"'}},
          outputs: {{results: result}}, output: none}}
  join: {{kind: function, call: "tests.core.test_run_contract:nothing", join: all}}
edges:
  - {{from: split, to: [left, right]}}
  - {{from: left, to: join}}
  - {{from: right, to: join}}
"""


def test_two_parallel_subgraphs_keep_both_outputs_by_the_merge_rule(tmp_path: Path) -> None:
    (tmp_path / "inner.yaml").write_text(INNER)
    (tmp_path / "outer.yaml").write_text(subgraphs("append"))
    result = load(tmp_path / "outer.yaml").run_sync(store=MemoryStore())
    assert result.status == "completed", result.error
    assert result.variables["results"] == ["done by left", "done by right"]


def test_two_parallel_subgraphs_into_one_replace_variable_are_a_compile_error(
        tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "inner.yaml").write_text(INNER)
    (tmp_path / "outer.yaml").write_text(subgraphs(None))
    with pytest.raises(DefinitionError) as info:
        load(tmp_path / "outer.yaml")
    message = str(info.value)
    assert "'left' and 'right'" in message and "variable 'results'" in message
    assert "merge rule is replace" in message


# ---- finding 3: an end node ends its branch -----------------------------------------

BRANCH_END = """
graph: ends
entry: split
nodes:
  split: {kind: function, call: "tests.core.test_run_contract:nothing"}
  A: {kind: function, call: "tests.core.test_run_contract:nothing"}
  B: {kind: function, call: "tests.core.test_run_contract:nothing"}
  skip: {kind: end, status: B left early}
  C: {kind: function, call: "tests.core.test_run_contract:nothing", join: all}
  D: {kind: function, call: "tests.core.test_run_contract:nothing"}
  done: {kind: end%s}
edges:
  - {from: split, to: [A, B]}
  - {from: B, to: skip}
  - {from: A, to: C}
  - {from: C, to: D}
  - {from: D, to: done}
"""


def test_an_end_node_with_a_status_ends_only_its_branch(tmp_path: Path) -> None:
    (tmp_path / "ends.yaml").write_text(BRANCH_END % "")
    result = load(tmp_path / "ends.yaml").run_sync()
    assert result.status == "completed"
    assert result.visits.get("D") == 1 and result.visits.get("done") == 1
    assert result.reason is None  # B's branch was not the last one


def test_the_status_of_the_last_branch_is_the_runs_reason(tmp_path: Path) -> None:
    (tmp_path / "ends.yaml").write_text(BRANCH_END % ", status: all done")
    result = load(tmp_path / "ends.yaml").run_sync(store=tmp_path / "runs.db")
    assert (result.status, result.reason) == ("completed", "all done")
    assert Store(tmp_path / "runs.db").get_run(result.run_id).reason == "all done"


def test_an_end_node_with_stop_ends_the_whole_run(tmp_path: Path) -> None:
    (tmp_path / "ends.yaml").write_text(
        BRANCH_END.replace("status: B left early}", "status: B left early, stop: true}") % "")
    result = load(tmp_path / "ends.yaml").run_sync()
    assert (result.status, result.reason) == ("completed", "B left early")
    assert "D" not in result.visits


def test_the_last_branchs_reason_survives_a_crash_before_the_run_is_finished(
        tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "ends.yaml").write_text(BRANCH_END % ", status: all done")
    graph = load(tmp_path / "ends.yaml")
    db = tmp_path / "runs.db"
    result = graph.run_sync(store=db)
    store = Store(db)  # as if the process died after the last commit: back to running
    store.set_status(result.run_id, "running")
    again = graph.resume_sync(result.run_id, store=store)
    assert (again.status, again.reason) == ("completed", "all done")


# ---- finding 5: conditions in bounded time ------------------------------------------

EVIL = """
graph: evil
entry: a
variables: {s: "%s!"}
limits: {timeout: 2}
nodes:
  a: {kind: function, call: "tests.core.test_run_contract:nothing"}
  b: {kind: end, status: matched}
  c: {kind: end, status: no match}
edges:
  - {from: a, to: b, when: 'matches(state.s, "(a+)+$")'}
  - {from: a, to: c, else: true}
""" % ("a" * 40)


def test_a_catastrophic_regular_expression_cannot_hang_a_run(tmp_path: Path) -> None:
    (tmp_path / "evil.yaml").write_text(EVIL)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "graphflow.cli", "run", "evil.yaml", "--db",
                           "runs.db"], cwd=tmp_path, capture_output=True, timeout=30,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert "(no match)" in proc.stdout.decode()
    assert time.monotonic() - started < 15


def test_a_lookaround_pattern_is_refused_when_the_graph_compiles(tmp_path: Path) -> None:
    (tmp_path / "look.yaml").write_text(EVIL.replace("(a+)+$", "a(?=b)"))
    with pytest.raises(DefinitionError, match="bad regular expression"):
        load(tmp_path / "look.yaml")


def test_repeating_text_in_a_condition_is_capped() -> None:
    g = Graph("big", entry="a", variables={"s": "abc"})
    g.add_node("a", lambda state: None).add_node("b", kind="end").add_node("c", kind="end")
    g.add_edge("a", "b", when="len(state.s * 1000000000) > 0").add_edge("a", "c", otherwise=True)
    result = g.compile().run_sync()
    assert result.status == "failed" and "at most 1,000,000" in (result.error or "")


# ---- declarations in files and the builder ------------------------------------------


def test_declarations_round_trip_through_a_file() -> None:
    text = """
graph: g
entry: a
variables:
  topic: x
  findings: {merge: append, default: []}
  when: {type: datetime, description: the deadline}
  settings: {default: {type: pdf}}
nodes: {a: {kind: end}}
"""
    spec = loads_spec(text)
    assert spec.variables == {"topic": "x", "findings": [], "settings": {"type": "pdf"}}
    assert spec.declarations["findings"].merge == "append"
    assert spec.declarations["when"].type == "datetime"
    for fmt in ("yaml", "json"):
        assert loads_spec(dumps_spec(spec, fmt), fmt=fmt) == spec


@pytest.mark.parametrize(("entry", "message"), [
    ("{merge: apend}", "did you mean 'append'"),
    ("{type: 'lst[int]'}", "did you mean 'list'"),
    ("{merge: append, defualt: []}", "unknown key 'defualt'"),
    ("{type: int, default: many}", "does not fit its declared type int"),
    ("{type: 'nosuch.module:Thing'}", "nosuch"),
])  # fmt: skip
def test_bad_declarations_are_definition_errors(entry: str, message: str) -> None:
    from graphflow.compiler import compile_spec

    with pytest.raises(DefinitionError, match=message):
        compile_spec(loads_spec(f"graph: g\nentry: a\nvariables:\n  v: {entry}\n"
                                "nodes: {a: {kind: end}}\n"))  # fmt: skip


def test_builder_types_are_written_as_import_paths() -> None:
    g = Graph("g", entry="a").variable("refs", [], type=list[Ref], merge="append")
    g.add_node("a", kind="end")
    text = dumps_spec(g.to_spec())
    assert "list[tests.core.test_run_contract:Ref]" in text
    from graphflow.compiler import compile_spec

    compiled = compile_spec(loads_spec(text))
    assert compiled.state.declared["refs"].type == list[Ref]


def test_an_update_returned_by_a_node_with_a_typed_append_item() -> None:
    g = Graph("typed_append", entry="split").variable("refs", [], type=list[Ref], merge="append")
    g.add_node("split", lambda state: None)
    for name in ("a", "b"):
        g.add_node(name, lambda state, name=name: Update(
            variables={"refs": {"ref": name, "day": "2024-01-02"}}))
        g.add_edge("split", name)
    result = g.compile().run_sync(store=MemoryStore())
    assert result.variables["refs"] == [Ref(ref="a", day=dt.date(2024, 1, 2)),
                                        Ref(ref="b", day=dt.date(2024, 1, 2))]  # fmt: skip


def test_the_timeout_fires_while_a_plain_function_node_blocks() -> None:
    """A synchronous node that blocks (``time.sleep``) runs in a worker thread, so the
    event loop stays free and ``limits.timeout`` ends the run; Python cannot stop the
    thread itself, which finishes on its own (its result is not used)."""
    import threading

    from graphflow import Graph

    release = threading.Event()

    def blocks(state: Any) -> str:
        release.wait(30)
        return "too late"

    g = Graph("blocking", entry="slow")
    g.add_node("slow", blocks)
    g.add_node("done", kind="end")
    g.add_edge("slow", "done")
    g.limits(timeout=0.2)

    result = None
    try:
        timer = threading.Timer(2, release.set)  # lets the thread end soon after
        timer.start()
        result = g.compile().run_sync()
    finally:
        release.set()
        timer.cancel()
    assert result.status == "timeout" and result.reason == "timeout (0.2 s) reached"
    assert not any(m.content == "too late" for m in result.messages)
