"""The store contract: what every run store does, run against each store of FACTORIES.

The tests speak only through the RunReader / RunWriter / RunStore protocols (and a graph
run end to end), so a new store passes them unchanged.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from graphflow import Graph, Message, Update
from graphflow.errors import RunInUse, RunNotFound, StoreError
from graphflow.store import RUN_STATUSES, ChildRun, RunStore
from graphflow.store.lease import LEASE_SECONDS
from tests.store.factories import StoreFactory

SPEC = {"name": "g", "entry": "a", "nodes": {"a": {}, "b": {}}}


def new_run(store: RunStore, run_id: str = "r1", *, variables: dict[str, Any] | None = None,
            messages: tuple[Message, ...] = (), **kw: Any) -> str:  # fmt: skip
    store.create_run(run_id, graph="g", spec=SPEC, topology="t0", source="g.yaml",
                     frontier={"run": ["a"], "wait": []}, variables=variables or {"n": 0},
                     messages=messages, **kw)  # fmt: skip
    return run_id


def commit(store: RunStore, run_id: str, step: int, *, nodes: tuple[str, ...] = ("a",),
           variables: dict[str, Any] | None = None, text: str | None = None,
           usage: dict[str, Any] | None = None, run_usage: dict[str, Any] | None = None,
           frontier: dict[str, Any] | None = None, had_writes: bool = False) -> None:  # fmt: skip
    """Commit step ``step`` as the scheduler would (one message ``text`` from the node)."""
    messages = [Message(content=text, node=nodes[0])] if text is not None else []
    state_vars, visits = store.load_variables(run_id, step - 1)
    state_vars.update(variables or {})
    for n in nodes:
        visits[n] = visits.get(n, 0) + 1
    store.commit_step(run_id, step, nodes=list(nodes), messages=messages,
                      first_seq=store.message_count(run_id), variables=variables,
                      frontier=frontier or {"run": ["a"], "wait": []}, usage=usage,
                      run_usage=run_usage, started_at=time.time(), state=(state_vars, visits),
                      had_writes=had_writes)  # fmt: skip


# ---- runs ---------------------------------------------------------------------------


def test_a_created_run_reads_back_with_its_head_and_lease(store: RunStore) -> None:
    before = time.time()
    new_run(store, messages=(Message(role="user", name="user", content="hi"),))
    record = store.get_run("r1")
    assert (record.run_id, record.graph, record.source, record.spec, record.topology) == (
        "r1", "g", "g.yaml", SPEC, "t0")
    assert (record.status, record.last_step, record.frontier, record.usage) == (
        "running", -1, {"run": ["a"], "wait": []}, {})
    assert record.parent_run is None and record.forked_at is None and record.failed_node is None
    assert record.lease_owner and record.lease_until and record.lease_until > before
    assert before <= record.created_at <= record.updated_at <= time.time()
    assert store.load_variables("r1", -1) == ({"n": 0}, {})
    assert [(m.role, m.content) for m in store.load_messages("r1")] == [("user", "hi")]
    assert store.message_rows("r1")[0]["step"] == -1


def test_a_run_id_is_taken_once(store: RunStore) -> None:
    new_run(store)
    with pytest.raises(StoreError, match="already exists"):
        new_run(store)


def test_an_unknown_run_is_reported_as_not_found(store: RunStore) -> None:
    for call in (lambda: store.get_run("nope"), lambda: store.acquire_lease("nope"),
                 lambda: store.load_variables("nope", 0),
                 lambda: store.fork_run("nope", 0, "f", {"run": ["a"]})):  # fmt: skip
        with pytest.raises(RunNotFound, match="no run 'nope'"):
            call()
    assert store.steps("nope") == [] and store.load_messages("nope") == []
    assert store.child_runs("nope") == [] and store.find_runs("nope") == []


def test_runs_are_listed_newest_first_and_found_by_prefix(store: RunStore) -> None:
    for run_id in ("ab_1", "ab%2", "abc3", "x"):
        new_run(store, run_id)
        time.sleep(0.002)
    store.set_status("abc3", "completed")
    assert [r.run_id for r in store.list_runs()] == ["x", "abc3", "ab%2", "ab_1"]
    assert [r.run_id for r in store.list_runs(limit=2)] == ["x", "abc3"]
    assert [r.run_id for r in store.list_runs(status="completed")] == ["abc3"]
    assert store.find_runs("ab") == ["ab_1", "ab%2", "abc3"]
    assert store.find_runs("ab_") == ["ab_1"]  # _ and % are not wildcards
    assert store.find_runs("ab%") == ["ab%2"]


# ---- steps and state ----------------------------------------------------------------


def test_committed_steps_come_back_in_order_and_move_the_head(store: RunStore) -> None:
    new_run(store)
    for step in range(3):
        commit(store, "r1", step, text=f"m{step}", variables={"n": step + 1},
               frontier={"run": ["b"] if step == 2 else ["a"], "wait": []})  # fmt: skip
    rows = store.steps("r1")
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert rows[1]["nodes"] == ["a"] and rows[1]["variables"] == {"n": 2}
    assert rows[0]["seconds"] >= 0 and rows[0]["started_at"] > 0
    record = store.get_run("r1")
    assert record.last_step == 2 and record.frontier["run"] == ["b"]
    assert [r.last_step for r in store.list_runs()] == [2]
    assert store.step_row("r1", 1) == rows[1] and store.step_row("r1", 7) is None
    assert [m.content for m in store.load_messages("r1")] == ["m0", "m1", "m2"]
    assert [m.content for m in store.load_messages("r1", before_step=2)] == ["m0", "m1"]
    assert [(r["seq"], r["step"]) for r in store.message_rows("r1")] == [(0, 0), (1, 1), (2, 2)]
    assert store.message_count("r1") == 3


def test_a_reader_following_a_run_reads_only_what_is_new(store: RunStore) -> None:
    new_run(store, messages=(Message(role="user", content="task"),))
    for step in range(4):
        commit(store, "r1", step, text=f"m{step}")
    assert [r["seq"] for r in store.message_rows("r1", from_seq=3)] == [3, 4]
    assert [r["content"] for r in store.message_rows("r1", from_seq=0)][:2] == ["task", "m0"]
    assert store.message_rows("r1", from_seq=9) == []
    assert [r["step"] for r in store.steps("r1", from_step=2)] == [2, 3]
    assert [r["step"] for r in store.steps("r1", from_step=0)] == [0, 1, 2, 3]
    assert store.steps("r1", from_step=4) == [] and store.steps("nope", from_step=1) == []


def test_a_conversation_holds_its_length_and_tail_and_reads_the_rest_when_used(
        factory: StoreFactory) -> None:  # fmt: skip
    store = factory.open()
    new_run(store, messages=(Message(role="user", content="task"),))
    for step in range(40):
        commit(store, "r1", step, text=f"m{step}")
    convo = store.load_conversation("r1")
    assert len(convo) == 41 and not convo.loaded
    assert convo[-1].content == "m39" and convo[40] is convo[-1] and convo[0].content == "task"
    assert [m.content for m in convo[-3:]] == ["m37", "m38", "m39"]
    assert not convo.loaded  # the count and the tail came from one small read
    assert convo == store.load_messages("r1") and convo.loaded
    assert store.load_conversation("nope") == []
    short = factory.open()
    new_run(short, "r2", messages=(Message(content="only"),))
    assert short.load_conversation("r2").loaded and short.load_conversation("r2") == [
        Message(content="only")]


def test_a_conversation_stays_readable_after_its_store_closed(factory: StoreFactory) -> None:
    store = factory.open()
    new_run(store)
    for step in range(30):
        commit(store, "r1", step, text=f"m{step}")
    convo = store.load_conversation("r1")
    assert not convo.loaded
    store.close()
    assert [m.content for m in convo] == [f"m{i}" for i in range(30)]


def test_a_step_is_committed_once(factory: StoreFactory) -> None:
    first, second = factory.open(), factory.open()
    new_run(first)
    commit(first, "r1", 0, text="once")
    with pytest.raises(StoreError, match="step 0 of run 'r1' is already committed"):
        commit(second, "r1", 0, text="twice")
    assert [m.content for m in first.load_messages("r1")] == ["once"]
    assert len(first.steps("r1")) == 1


def test_state_is_the_fold_of_deltas_at_the_head_and_at_any_step(store: RunStore) -> None:
    new_run(store, variables={"n": 0, "keep": "x"})
    for step in range(450):  # crosses the SQLite store's snapshot interval twice
        commit(store, "r1", step, nodes=("a", "b") if step % 2 else ("a",),
               variables={"n": step + 1} if step % 3 else None)  # fmt: skip
    assert store.load_variables("r1", 449) == ({"n": 450, "keep": "x"}, {"a": 450, "b": 225})
    for at in (-1, 0, 1, 198, 199, 200, 250, 399, 400):
        n = max([s + 1 for s in range(at + 1) if s % 3] or [0])
        visits = {"a": at + 1, "b": (at + 1) // 2} if at >= 1 else ({"a": 1} if at == 0 else {})
        assert store.load_variables("r1", at) == ({"n": n, "keep": "x"}, visits), at


def test_values_come_back_exactly(store: RunStore) -> None:
    new_run(store, variables={"t": (1, 2), "d": {"k": [1]}, "s": {"x"}})
    assert store.load_variables("r1", -1)[0] == {"t": (1, 2), "d": {"k": [1]}, "s": {"x"}}


def test_a_fork_holds_the_state_before_its_step(store: RunStore) -> None:
    new_run(store)
    for step in range(4):
        commit(store, "r1", step, text=f"m{step}", variables={"n": step + 1},
               frontier={"run": [f"after{step}"], "wait": []})  # fmt: skip
    store.fork_run("r1", 2, "f1", {"run": ["a"], "wait": []})
    fork = store.get_run("f1")
    assert (fork.status, fork.parent_run, fork.forked_at, fork.last_step) == ("ready", "r1", 2, 1)
    assert fork.frontier["run"] == ["after1"] and fork.lease_owner is None
    assert [m.content for m in store.load_messages("f1")] == ["m0", "m1"]
    assert store.load_variables("f1", 1) == ({"n": 2}, {"a": 2})
    store.fork_run("r1", 0, "f0", {"run": ["a"], "wait": []})
    assert store.get_run("f0").frontier == {"run": ["a"], "wait": []}
    with pytest.raises(StoreError, match=r"fork at a step in 0\.\.4"):
        store.fork_run("r1", 9, "bad", {"run": ["a"]})
    with pytest.raises(StoreError, match="already exists"):
        store.fork_run("r1", 1, "f1", {"run": ["a"]})
    assert store.get_run("r1").last_step == 3  # the original is untouched


# ---- the step in flight: branch writes and effects -----------------------------------


def test_branch_writes_are_kept_until_the_step_commits(store: RunStore) -> None:
    new_run(store)
    store.save_writes("r1", 0, {"a": {"messages": [], "variables": {"x": 1}}})
    store.save_writes("r1", 0, {"b": {"variables": {"y": 2}}})
    store.save_writes("r1", 0, {"a": {"variables": {"x": 3}}})
    assert store.load_writes("r1", 0) == {"a": {"variables": {"x": 3}}, "b": {"variables": {"y": 2}}}
    assert store.load_writes("r1", 1) == {}
    commit(store, "r1", 0, nodes=("a", "b"), had_writes=True)
    assert store.load_writes("r1", 0) == {}


def test_an_effect_is_recorded_once_and_dropped_by_the_commit(store: RunStore) -> None:
    new_run(store)
    assert store.get_effect("r1", 0, "a", "call-1") == (False, None)
    store.put_effect("r1", 0, "a", "call-1", {"result": "done", "n": 1})
    store.put_effect("r1", 0, "b", "call-1", None)
    assert store.get_effect("r1", 0, "a", "call-1") == (True, {"result": "done", "n": 1})
    assert store.get_effect("r1", 0, "b", "call-1") == (True, None)
    assert store.get_effect("r1", 0, "a", "call-2") == (False, None)
    assert store.effect_results("r1") == [{"result": "done", "n": 1}, None]
    commit(store, "r1", 0)
    assert store.get_effect("r1", 0, "a", "call-1") == (False, None)
    assert store.effect_results("r1") == []


# ---- leases -------------------------------------------------------------------------


def test_a_second_holder_is_refused_while_the_lease_is_held(factory: StoreFactory) -> None:
    first, second = factory.open(), factory.open()
    new_run(first)  # the creator holds the lease
    with pytest.raises(RunInUse, match=r"run 'r1' is in use by process \d+ on .*; wait for it"):
        second.acquire_lease("r1")
    record = first.acquire_lease("r1")  # the holder may take it again
    assert record.run_id == "r1" and record.lease_owner
    second.release_lease("r1")  # not the holder: nothing happens
    with pytest.raises(RunInUse):
        second.acquire_lease("r1")
    first.release_lease("r1")
    taken = second.acquire_lease("r1")
    assert taken.lease_owner == second.get_run("r1").lease_owner != record.lease_owner
    with pytest.raises(RunInUse):
        first.acquire_lease("r1")


def test_an_expired_lease_can_be_taken_and_a_renewed_one_cannot(
        factory: StoreFactory, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    first, second = factory.open(), factory.open()
    new_run(first)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + LEASE_SECONDS / 2)
    first.renew_lease("r1")  # extends it to now + LEASE_SECONDS
    monkeypatch.setattr(time, "time", lambda: real() + LEASE_SECONDS * 1.2)
    with pytest.raises(RunInUse):
        second.acquire_lease("r1")
    monkeypatch.setattr(time, "time", lambda: real() + LEASE_SECONDS * 2)
    assert second.acquire_lease("r1").lease_until == pytest.approx(real() + LEASE_SECONDS * 3, abs=5)


def test_the_lease_read_is_the_run_at_its_head(store: RunStore) -> None:
    new_run(store)
    commit(store, "r1", 0, frontier={"run": ["b"], "wait": []})
    record = store.acquire_lease("r1")
    assert record.last_step == 0 and record.frontier["run"] == ["b"]


def test_a_status_releases_the_lease_unless_asked_not_to(factory: StoreFactory) -> None:
    first, second = factory.open(), factory.open()
    new_run(first)
    first.set_status("r1", "running", release=False)
    with pytest.raises(RunInUse):
        second.acquire_lease("r1")
    first.set_status("r1", "waiting", waiting={"step": 0, "nodes": {"a": {"question": "?"}}})
    assert first.get_run("r1").lease_owner is None
    second.acquire_lease("r1")


# ---- statuses -----------------------------------------------------------------------


def test_status_transitions_keep_reason_error_question_and_failed_node(store: RunStore) -> None:
    new_run(store)
    commit(store, "r1", 0)
    store.set_status("r1", "waiting", waiting={"step": 1, "nodes": {"a": {"question": "Name?"}}})
    record = store.get_run("r1")
    assert record.status == "waiting" and record.waiting == {"step": 1, "nodes": {"a": {"question": "Name?"}}}
    store.set_status("r1", "running", release=False)
    assert store.get_run("r1").waiting is None
    store.set_status("r1", "failed", reason="error in node 'b'", error="boom", failed_node="b",
                     failed_step=1)  # fmt: skip
    record = store.get_run("r1")
    assert (record.status, record.reason, record.error, record.failed_node, record.failed_step) == (
        "failed", "error in node 'b'", "boom", "b", 1)
    store.set_status("r1", "running", release=False)  # resumed: the failure is history
    record = store.get_run("r1")
    assert record.failed_node is None and record.failed_step is None and record.error is None
    store.set_status("r1", "limit_reached", reason="max_steps (1) reached")
    assert store.get_run("r1").reason == "max_steps (1) reached"
    with pytest.raises(StoreError, match="unknown run status 'finished'"):
        store.set_status("r1", "finished")  # type: ignore[arg-type]


def test_every_status_can_be_stored(store: RunStore) -> None:
    new_run(store)
    for status in RUN_STATUSES:
        store.set_status("r1", status)
        assert store.get_run("r1").status == status


def test_usage_per_step_and_run_totals(store: RunStore) -> None:
    new_run(store)
    commit(store, "r1", 0, usage={"a": {"calls": 1, "prompt_tokens": 5}},
           run_usage={"calls": 1, "prompt_tokens": 5})  # fmt: skip
    commit(store, "r1", 1)
    commit(store, "r1", 2, usage={"b": {"calls": 2, "cost": 0.5}},
           run_usage={"calls": 3, "prompt_tokens": 5, "cost": 0.5})  # fmt: skip
    assert store.step_usages("r1") == [{"a": {"calls": 1, "prompt_tokens": 5}},
                                       {"b": {"calls": 2, "cost": 0.5}}]  # fmt: skip
    assert store.get_run("r1").usage == {"calls": 3, "prompt_tokens": 5, "cost": 0.5}
    assert store.steps("r1")[1]["usage"] is None


# ---- parents and children -----------------------------------------------------------


def test_child_runs_name_their_parent_node_and_visit(store: RunStore) -> None:
    new_run(store, "p")
    commit(store, "p", 0)
    time.sleep(0.002)
    new_run(store, "inner-0", parent_run="p", parent_node="sub", parent_visit=0)
    time.sleep(0.002)
    store.fork_run("p", 1, "fork", {"run": ["a"]})
    time.sleep(0.002)
    new_run(store, "inner-1", parent_run="p", parent_node="sub", parent_visit=1)
    assert store.child_runs("p") == [ChildRun("inner-0", None, "sub", 0), ChildRun("fork", 1),
                                     ChildRun("inner-1", None, "sub", 1)]  # fmt: skip
    record = store.get_run("inner-1")
    assert (record.parent_run, record.parent_node, record.parent_visit, record.forked_at) == (
        "p", "sub", 1, None)
    assert store.child_runs("inner-1") == []


# ---- retention ----------------------------------------------------------------------


def test_delete_removes_everything_of_a_run(store: RunStore) -> None:
    new_run(store, "r1", messages=(Message(content="in"),))
    new_run(store, "r2")
    commit(store, "r1", 0, text="out")
    store.save_writes("r1", 1, {"a": {}})
    store.put_effect("r1", 1, "a", "k", 1)
    store.delete_run("r1")
    with pytest.raises(RunNotFound):
        store.get_run("r1")
    assert store.load_messages("r1") == [] and store.steps("r1") == []
    assert store.load_writes("r1", 1) == {} and store.effect_results("r1") == []
    assert [r.run_id for r in store.list_runs()] == ["r2"]


def test_prune_by_status_age_and_count(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = []
    for i in range(4):
        ids.append(new_run(store, f"done{i}"))
        store.set_status(f"done{i}", "completed")
        time.sleep(0.002)
    new_run(store, "asking")
    store.set_status("asking", "waiting", waiting={"nodes": {"h": {"question": "?"}}})
    assert store.prune() == []  # no condition, nothing goes
    assert sorted(store.prune(keep_last=2, dry_run=True)) == ids[:3]
    assert len(store.list_runs()) == 5
    assert sorted(store.prune(status=["completed"], keep_last=2)) == ids[:3]
    assert {r.run_id for r in store.list_runs()} == {ids[3], "asking"}
    assert store.prune(older_than=3600) == []
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 7200)
    assert store.prune(older_than=3600) == [ids[3]]  # waiting runs are kept unless named
    assert store.prune(status=["waiting"]) == ["asking"]
    assert store.list_runs() == []


# ---- through the scheduler ----------------------------------------------------------


def test_a_graph_runs_waits_resumes_and_fails_on_the_store(factory: StoreFactory) -> None:
    store = factory.open()
    g = Graph("flow", variables={"count": 0})
    g.add_node("start", lambda s: Update(messages=[Message(content="go")], variables={"count": 1}))
    g.add_node("ask", kind="human", prompt="Go on?")
    g.add_node("check", lambda s: 1 / 0 if s.last.content == "crash" else "fine")
    g.add_edge("start", "ask")
    g.add_edge("ask", "check")
    graph = g.compile()
    first = graph.run_sync(store=store)
    assert first.status == "waiting" and first.question == "Go on?"
    assert store.get_run(first.run_id).lease_owner is None
    failed = graph.resume_sync(first.run_id, input="crash", store=factory.open())
    record = store.get_run(first.run_id)
    assert (failed.status, record.status, record.failed_node, record.failed_step) == (
        "failed", "failed", "check", 2)
    assert "ZeroDivisionError" in (record.error or "")
    other = graph.run_sync(store=store)
    done = graph.resume_sync(other.run_id, input="yes", store=store)
    assert done.status == "completed" and done.variables == {"count": 1}
    assert [m.content for m in store.load_messages(done.run_id)] == ["go", "yes", "fine"]


def test_a_subgraph_run_is_linked_to_its_node_and_visit(store: RunStore) -> None:
    inner = Graph("inner")
    inner.add_node("reply", lambda s: f"inner {len(s.messages)}")
    outer = Graph("outer", variables={"i": 0})
    outer.add_node("sub", kind="subgraph", graph=inner.compile())
    outer.add_node("count", lambda s: Update(variables={"i": s.variables["i"] + 1}))
    outer.add_node("end", kind="end")
    outer.add_edge("sub", "count")
    outer.add_edge("count", "sub", when="state.i < 2")
    outer.add_edge("count", "end", otherwise=True)
    run = outer.compile().run_sync("hello", store=store)
    assert run.status == "completed"
    children = store.child_runs(run.run_id)
    assert [(c.parent_node, c.parent_visit, c.forked_at) for c in children] == [
        ("sub", 0, None), ("sub", 1, None)]
    assert store.get_run(children[1].run_id).parent_run == run.run_id


def loop_graph() -> Graph:
    g = Graph("loop", variables={"i": 0})
    g.add_node("a", lambda s: Update(messages=[Message(content=f"a{s.variables['i']}")],
                                     variables={"i": s.variables["i"] + 1}))  # fmt: skip
    g.add_node("end", kind="end")
    g.add_edge("a", "a", when="state.i < 5")
    g.add_edge("a", "end", otherwise=True)
    return g


def test_a_fork_resumes_to_the_same_end(store: RunStore) -> None:
    graph = loop_graph().compile()
    first = graph.run_sync(store=store)
    store.fork_run(first.run_id, 3, "forked", {"run": [graph.entry], "wait": []})
    assert store.load_variables("forked", 2)[0]["i"] == 3 and store.message_count("forked") == 3
    done = graph.resume_sync("forked", store=store)
    assert done.status == "completed" and done.variables["i"] == 5
    assert [m.content for m in done.messages] == [m.content for m in first.messages]


def test_a_resume_is_refused_while_another_holder_advances_the_run(factory: StoreFactory) -> None:
    g = Graph("w")
    g.add_node("h", kind="human")
    first = factory.open()
    run = g.compile().run_sync(store=first)
    first.acquire_lease(run.run_id)  # holds it, as a running process would
    second = factory.open()
    with pytest.raises(RunInUse, match="in use by process"):
        g.compile().resume_sync(run.run_id, input="x", store=second)
    assert second.get_run(run.run_id).status == "waiting"
    first.release_lease(run.run_id)
    assert g.compile().resume_sync(run.run_id, input="x", store=second).status == "completed"


# ---- artifacts ----------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def test_artifacts_are_kept_per_step_and_read_back_by_digest(store: RunStore) -> None:
    import hashlib

    new_run(store)
    digest = store.put_artifact("r1", 0, "run_code", "plots/chart.png", "image/png", PNG)
    assert digest == hashlib.sha256(PNG).hexdigest()
    store.put_artifact("r1", 0, "run_code", "data.csv", "text/csv", b"a,b\n1,2\n")
    store.put_artifact("r1", 2, "run_code", "chart.png", "image/png", PNG)
    rows = store.artifacts("r1")
    assert [(r["step"], r["node"], r["name"], r["media_type"], r["size"]) for r in rows] == [
        (0, "run_code", "data.csv", "text/csv", 8),
        (0, "run_code", "plots/chart.png", "image/png", len(PNG)),
        (2, "run_code", "chart.png", "image/png", len(PNG))]
    assert rows[1]["digest"] == rows[2]["digest"] == digest and rows[0]["run_id"] == "r1"
    assert rows[0]["created_at"] > 0
    assert store.artifact_data(digest) == PNG
    assert store.artifact_data(rows[0]["digest"]) == b"a,b\n1,2\n"
    assert store.artifacts("other") == []
    with pytest.raises(StoreError, match="no artifact with digest"):
        store.artifact_data("0" * 64)


def test_an_artifact_put_again_replaces_the_earlier_one(store: RunStore) -> None:
    new_run(store)
    first = store.put_artifact("r1", 0, "n", "out.txt", "text/plain", b"one")
    second = store.put_artifact("r1", 0, "n", "out.txt", "text/plain", b"two")
    assert [(r["name"], r["digest"]) for r in store.artifacts("r1")] == [("out.txt", second)]
    with pytest.raises(StoreError, match="no artifact"):  # nothing names the old bytes
        store.artifact_data(first)
    # the same bytes again (a resumed step re-running its code) change nothing
    store.put_artifact("r1", 0, "n", "out.txt", "text/plain", b"two")
    assert len(store.artifacts("r1")) == 1 and store.artifact_data(second) == b"two"


def test_bad_artifacts_are_refused_with_the_reason(store: RunStore) -> None:
    from graphflow.store.protocol import MAX_ARTIFACT_BYTES

    new_run(store)
    with pytest.raises(StoreError, match=r"more than the 10,485,760 a store keeps"):
        store.put_artifact("r1", 0, "n", "big.bin", "application/octet-stream",
                           b"\0" * (MAX_ARTIFACT_BYTES + 1))  # fmt: skip
    for name in ("../x.png", "/etc/passwd", "", "a/../../b"):
        with pytest.raises(StoreError, match="relative path"):
            store.put_artifact("r1", 0, "n", name, "image/png", PNG)
    with pytest.raises(StoreError, match="type/subtype"):
        store.put_artifact("r1", 0, "n", "x.png", "png", PNG)
    with pytest.raises(RunNotFound):
        store.put_artifact("nope", 0, "n", "x.png", "image/png", PNG)
    assert store.artifacts("r1") == []
    assert store.put_artifact("r1", 0, "n", "exact.bin", "application/octet-stream",
                              b"\1" * MAX_ARTIFACT_BYTES)  # the cap itself is allowed


def test_the_same_bytes_are_stored_once_and_outlive_one_deleted_run(store: RunStore) -> None:
    new_run(store, "a")
    new_run(store, "b")
    digest = store.put_artifact("a", 0, "n", "chart.png", "image/png", PNG)
    assert store.put_artifact("b", 3, "m", "copy.png", "image/png", PNG) == digest
    store.delete_run("a")
    assert store.artifacts("a") == [] and store.artifact_data(digest) == PNG
    store.delete_run("b")
    with pytest.raises(StoreError, match="no artifact"):
        store.artifact_data(digest)


def test_a_fork_keeps_the_artifacts_of_the_steps_before_it(store: RunStore) -> None:
    new_run(store)
    for step in range(3):
        commit(store, "r1", step, text=f"m{step}")
        store.put_artifact("r1", step, "a", f"out{step}.txt", "text/plain", f"{step}".encode())
    store.fork_run("r1", 2, "f1", {"run": ["a"], "wait": []})
    kept = store.artifacts("f1")
    assert [(r["run_id"], r["step"], r["name"]) for r in kept] == [
        ("f1", 0, "out0.txt"), ("f1", 1, "out1.txt")]
    assert store.artifact_data(kept[1]["digest"]) == b"1"
    store.delete_run("r1")  # the fork still reads what it kept
    assert store.artifact_data(kept[0]["digest"]) == b"0"
    assert len(store.artifacts("r1")) == 0


def test_artifacts_are_seen_by_another_handle(factory: StoreFactory) -> None:
    first, second = factory.open(), factory.open()
    new_run(first)
    digest = first.put_artifact("r1", 0, "n", "t.txt", "text/plain", b"shared")
    assert [r["digest"] for r in second.artifacts("r1")] == [digest]
    assert second.artifact_data(digest) == b"shared"


def test_a_spec_changed_between_two_runs_is_stored_as_it_is_then(store: RunStore) -> None:
    """The store encodes the spec it is given each time (only a compiled graph's own
    spec record, which nobody changes, is encoded once)."""
    spec: dict[str, Any] = {"graph": "g", "description": "first"}
    store.create_run("r1", graph="g", spec=spec, topology="t0",
                     frontier={"run": ["a"], "wait": []}, variables={}, messages=())  # fmt: skip
    spec["description"] = "second"
    store.create_run("r2", graph="g", spec=spec, topology="t0",
                     frontier={"run": ["a"], "wait": []}, variables={}, messages=())  # fmt: skip
    assert store.get_run("r1").spec["description"] == "first"
    assert store.get_run("r2").spec["description"] == "second"


def test_a_compiled_graph_stores_its_spec_record_once_encoded(store: RunStore) -> None:
    from graphflow import Graph
    from graphflow.scheduler.entry import create_run

    g = Graph("g", entry="a")
    g.add_node("a", "tests.store.test_contract:new_run", args={"run_id": "'é\\\"'"})
    graph = g.compile()
    for run_id in ("r1", "r2"):
        create_run(graph, store=store, run_id=run_id)
        assert store.get_run(run_id).spec == graph.spec_record()


def test_every_head_is_stored_as_given(store: RunStore) -> None:
    """Heads of any shape come back as they were committed (the SQLite store keeps the
    text of the usual one-node head and must not mistake another shape for it)."""
    new_run(store)
    heads: list[dict[str, Any]] = [
        {"run": ["x"], "wait": [], "via": {"a": ["b", "c"]}},
        {"run": ["x"], "wait": [], "via": {"a": "bc"}},  # same key, another value
        {"run": ["x"], "via": {"a": ["x"]}, "reason": "done"},  # three keys, no "wait"
        {"run": ["é\"'"], "wait": [], "via": {"a\"": ["é\"'"]}},
    ]
    for step, head in enumerate(heads):
        commit(store, "r1", step, frontier=head)
    assert [row["next"] for row in store.steps("r1")] == heads
