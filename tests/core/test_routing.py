"""Routing as a pure method of the compiled graph: first match, else, fan-out, goto and
joins, checked without a scheduler, a store or a run."""

from __future__ import annotations

import pytest

from graphflow import Graph, Message, State, Update
from graphflow.errors import ConditionError, NoTransitionError
from graphflow.graph import CompiledGraph, Routing


def noop(state: State) -> None:
    return None


def graph_of(*edges: tuple[str, str, dict[str, object]], joins: tuple[str, ...] = (),
             kinds: dict[str, str] | None = None, entry: str = "start") -> CompiledGraph:  # fmt: skip
    g = Graph("routes", entry=entry)
    names = list(dict.fromkeys([entry, *[n for s, t, _ in edges for n in (s, t)]]))
    for name in names:
        kind = (kinds or {}).get(name)
        if kind is None:
            g.add_node(name, noop, join="all" if name in joins else None)
        else:
            g.add_node(name, kind=kind)
    for source, target, options in edges:
        g.add_edge(source, target, **options)  # type: ignore[arg-type]
    return g.compile()


def routed(graph: CompiledGraph, node: str, update: Update | None = None, **variables: object
           ) -> list[str]:  # fmt: skip
    return graph.successors(node, update or Update(), State(variables=dict(variables), step=3))


def test_the_first_condition_that_holds_wins_and_else_is_the_default() -> None:
    graph = graph_of(("start", "big", {"when": "state.n > 3"}),
                     ("start", "medium", {"when": "state.n > 1"}),
                     ("start", "fallback", {"otherwise": True}))  # fmt: skip
    assert routed(graph, "start", n=5) == ["big"]  # both conditions hold: the first wins
    assert routed(graph, "start", n=2) == ["medium"]
    assert routed(graph, "start", n=0) == ["fallback"]


def test_no_condition_holding_and_no_else_is_a_no_transition_error() -> None:
    graph = graph_of(("start", "a", {"when": "state.n > 3"}), ("a", "b", {}))
    with pytest.raises(NoTransitionError) as caught:
        routed(graph, "start", n=0)
    assert (caught.value.node, caught.value.step) == ("start", 3)
    assert "no outgoing condition held (a: state.n > 3)" in str(caught.value)
    assert "else: true" in str(caught.value)


def test_a_failing_condition_is_a_condition_error_naming_the_edge() -> None:
    graph = graph_of(("start", "a", {"when": "state.n > 3"}), ("start", "b", {"otherwise": True}))
    with pytest.raises(ConditionError, match=r"edge start → a: condition 'state.n > 3' failed"):
        routed(graph, "start", n="text")


def test_unconditional_edges_fan_out_in_declared_order() -> None:
    graph = graph_of(("start", "b", {}), ("start", "a", {}), ("start", "c", {}))
    assert routed(graph, "start") == ["b", "a", "c"]


def test_conditions_see_the_routed_nodes_own_last_message() -> None:
    graph = graph_of(("start", "yes", {"when": 'last.content == "mine"'}),
                     ("start", "no", {"otherwise": True}))  # fmt: skip
    mine, theirs = Message(content="mine", node="start"), Message(content="theirs", node="x")
    after = State(messages=[mine, theirs], step=0)  # a parallel branch spoke after it
    assert graph.successors("start", Update(messages=[mine]), after) == ["yes"]
    assert graph.successors("start", Update(), after) == ["no"]  # said nothing: the last message


def test_goto_must_name_a_successor_and_a_router_must_choose() -> None:
    graph = graph_of(("start", "a", {}), ("start", "b", {}))
    assert routed(graph, "start", Update(goto="b")) == ["b"]
    assert routed(graph, "start", Update(goto=["a", "b"])) == ["a", "b"]
    with pytest.raises(NoTransitionError, match="add an edge start → c"):
        routed(graph, "start", Update(goto="c"))
    router = graph_of(("start", "a", {}), ("start", "done", {}),
                      kinds={"start": "router", "done": "end"})  # fmt: skip
    with pytest.raises(NoTransitionError, match="did not choose a successor"):
        routed(router, "start")


def test_end_nodes_and_nodes_without_edges_end_their_branch() -> None:
    graph = graph_of(("start", "done", {}), kinds={"done": "end"})
    assert routed(graph, "done") == []
    leaf = graph_of(("start", "leaf", {}))
    assert routed(leaf, "leaf") == []


def diamond() -> CompiledGraph:
    # start → a → join and start → b1 → b2 → join, with join: all
    return graph_of(("start", "a", {}), ("start", "b1", {}), ("b1", "b2", {}),
                    ("a", "join", {}), ("b2", "join", {}), joins=("join",))  # fmt: skip


def test_a_join_all_waits_while_another_branch_can_still_reach_it() -> None:
    graph = diamond()
    step = graph.route(["a", "b1"], {"a": Update(), "b1": Update()}, State(step=1))
    assert step == Routing(frontier=["b2"], waiting=["join"], via={"a": ["join"], "b1": ["b2"]})
    last = graph.route(["b2"], {"b2": Update()}, State(step=2), waiting=step.waiting)
    assert (last.frontier, last.waiting) == (["join"], [])


def test_a_join_all_does_not_wait_for_a_branch_not_taken() -> None:
    graph = diamond()
    # only a ran (b1's branch was never started): nothing else can reach the join
    assert graph.next_frontier(["join"]) == (["join"], [])


def test_joins_that_only_wait_for_each_other_run() -> None:
    graph = graph_of(("start", "j1", {}), ("start", "j2", {}), ("j1", "j2", {}),
                     ("j2", "j1", {"when": "false"}), ("j2", "end", {"otherwise": True}),
                     joins=("j1", "j2"))  # fmt: skip
    assert graph.next_frontier(["j1", "j2"]) == (["j1", "j2"], [])


def test_join_any_runs_on_each_arrival_and_targets_are_deduplicated() -> None:
    graph = graph_of(("start", "a", {}), ("start", "b", {}), ("a", "join", {}), ("b", "join", {}))
    step = graph.route(["a", "b"], {"a": Update(), "b": Update()}, State(step=1))
    assert step.frontier == ["join"] and step.via == {"a": ["join"], "b": ["join"]}


def test_routing_leaves_the_state_alone() -> None:
    graph = graph_of(("start", "a", {"when": "state.n > 1"}), ("start", "b", {"otherwise": True}))
    state = State(messages=[Message(content="x")], variables={"n": 2}, visits={"start": 1}, step=4)
    before = (list(state.messages), dict(state.variables), dict(state.visits), state.step)
    graph.route(["start"], {"start": Update(messages=[Message(content="y")])}, state)
    assert (state.messages, state.variables, state.visits, state.step) == before
    assert state.focus is None
