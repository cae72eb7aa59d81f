from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graphflow import Graph, IncompatibleGraph, RunNotResumable, Store, load


def ask_graph(extra_edge: bool = False) -> Graph:
    g = Graph("ask")
    g.add_node("ask", kind="human", prompt="Your name?", variable="name")
    g.add_node("greet", lambda s: f"hello {s.variables['name']}")
    g.add_node("other", lambda s: "other")
    g.add_edge("ask", "greet", when="state.name != 'x'")
    g.add_edge("ask", "other", otherwise=True)
    if extra_edge:
        g.add_edge("greet", "other")
    return g


def test_resume_with_a_changed_topology_is_refused_unless_allowed(store: Store) -> None:
    first = ask_graph().compile().run_sync(store=store)
    changed = ask_graph(extra_edge=True).compile()
    with pytest.raises(IncompatibleGraph, match="different graph topology"):
        changed.resume_sync(first.run_id, input="Ada", store=store)
    record = store.get_run(first.run_id)
    assert record.status == "waiting" and record.lease_owner is None
    done = changed.resume_sync(first.run_id, input="Ada", store=store, allow_changed_graph=True)
    assert [m.content for m in done.messages] == ["Ada", "hello Ada", "other"]


def test_resume_needs_an_answer_and_refuses_one_when_not_waiting(store: Store) -> None:
    graph = ask_graph().compile()
    first = graph.run_sync(store=store)
    with pytest.raises(RunNotResumable, match="waiting for input at node 'ask'"):
        graph.resume_sync(first.run_id, store=store)
    graph.resume_sync(first.run_id, input="Ada", store=store)
    with pytest.raises(RunNotResumable, match="already ended"):
        graph.resume_sync(first.run_id, input="Ada", store=store)


def test_parallel_checkpoints_take_one_answer_each(store: Store) -> None:
    g = Graph("two")
    g.add_node("split", lambda s: None)
    g.add_node("a", kind="human", prompt="A?")
    g.add_node("b", kind="human", prompt="B?")
    g.add_node("work", lambda s: "worked")
    g.add_edge("split", "a")
    g.add_edge("split", "b")
    g.add_edge("split", "work")
    graph = g.compile()
    first = graph.run_sync(store=store)
    assert first.waiting == {"a": "A?", "b": "B?"}
    assert list(store.load_writes(first.run_id, 1)) == ["work"]  # the finished branch is kept
    with pytest.raises(RunNotResumable, match="several nodes"):
        graph.resume_sync(first.run_id, input="x", store=store)
    done = graph.resume_sync(first.run_id, input={"a": "1", "b": "2"}, store=store)
    assert [m.content for m in done.messages] == ["1", "2", "worked"]


def test_a_waiting_run_resumes_from_another_process(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    graph = load("quickstart")
    first = graph.run_sync(store=db)
    assert first.status == "waiting"
    code = ("import sys; from graphflow import load; "
            "r = load('quickstart').resume_sync(sys.argv[1], input='yes', store=sys.argv[2]); "
            "print(r.status, r.reason)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, first.run_id, str(db)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "completed published"


def test_subgraph_runs_as_its_own_run_and_pauses_the_parent(store: Store) -> None:
    inner = Graph("inner")
    inner.add_node("q", kind="human", prompt="inner question")
    inner.add_node("say", lambda s: f"inner got {s.last.content}")
    inner.add_edge("q", "say")
    outer = Graph("outer")
    outer.add_node("start", lambda s: "go")
    outer.add_node("nested", kind="subgraph", graph=inner, outputs={"seen": "missing"})
    outer.add_node("after", lambda s: f"after: {s.last.content}")
    outer.add_edge("start", "nested")
    outer.add_edge("nested", "after")
    graph = outer.compile()
    first = graph.run_sync(store=store)
    assert first.status == "waiting" and first.question == "inner question"
    child = f"{first.run_id}.nested.0"
    assert store.get_run(child).status == "waiting"
    done = graph.resume_sync(first.run_id, input="42", store=store)
    assert done.status == "completed"
    assert [m.content for m in done.messages] == ["go", "inner got 42", "after: inner got 42"]
    assert store.get_run(child).parent_run == first.run_id
    assert "cluster_nested" in graph.to_dot()


def _talk_then_ask(turns: int) -> Graph:
    from graphflow import Message, Update

    g = Graph("talk", variables={"i": 0})
    g.add_node("talk", lambda s: Update(messages=[Message(content=f"said {s.variables['i']}")],
                                        variables={"i": s.variables["i"] + 1}))  # fmt: skip
    g.add_node("ask", kind="human", prompt="go on?", variable="answer")
    g.add_node("done", kind="end")
    g.add_edge("talk", "talk", when=f"state.i < {turns}")
    g.add_edge("talk", "ask", otherwise=True)
    g.add_edge("ask", "done")
    return g


def test_a_resume_reads_what_its_next_step_needs_not_the_whole_conversation(
        tmp_path: Path) -> None:  # fmt: skip
    graph = _talk_then_ask(300).compile()
    with Store(tmp_path / "runs.db") as store:
        first = graph.run_sync(store=store)
    with Store(tmp_path / "runs.db") as store:
        done = graph.resume_sync(first.run_id, input="yes", store=store)
        assert done.status == "completed" and done.variables["answer"] == "yes"
        assert len(done.messages) == 301 and done.last is not None
        assert done.last.content == "yes" and not done.messages.loaded  # type: ignore[attr-defined]
        assert repr(done).count("said") == 0  # a result's repr reads nothing either
    # read after the store closed: the same conversation as an uninterrupted run's
    assert [m.content for m in done.messages] == [f"said {i}" for i in range(300)] + ["yes"]
    assert done.messages == first.messages + [done.messages[-1]]  # noqa: RUF005
