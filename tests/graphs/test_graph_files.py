"""Every graph file in graphs/ validates, runs offline to completion (human checkpoints
answered), and renders with the expected topology."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from graphflow import Store, load
from tests.conftest import require
from tests.graphs.answering import run_answering

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
FILES = sorted(GRAPHS.glob("*.yaml"))


def edges(dot: str) -> set[tuple[str, str]]:
    found = re.findall(r'^\s*("?[\w/]+"?) -> ("?[\w/]+"?)', dot, re.M)
    return {(a.strip('"'), b.strip('"')) for a, b in found}


def test_the_expected_graph_files_exist() -> None:
    names = {p.stem for p in FILES}
    assert {"two_agent", "group_chat", "group_chat_manual", "group_chat_transitions",
            "critic_loop", "sequential_chats", "nested_chat", "debug_loop"} <= names  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_graph_file_runs_offline_to_completion(path: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name in ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL"):
        monkeypatch.delenv(name, raising=False)
    if "code_execution: sandbox" in path.read_text():
        from graphflow.execution import unavailable_reason

        problem = unavailable_reason("sandbox")
        require(problem is None, f"the sandbox executor cannot run here: {problem}")
    graph = load(str(path))
    with Store(tmp_path / "runs.db") as store:
        result = run_answering(graph, store, tmp_path / "work", rounds=10)
    assert result.status == "completed", (result.reason, result.error)
    produced = [m for m in result.messages if m.node]
    assert produced, "the run produced no messages"
    if path.stem != "quickstart":  # the quickstart shows the offline fallback on purpose
        assert not any((m.content or "").startswith("[offline model]") for m in produced)


def dot_of(name: str) -> str:
    return str(load(str(GRAPHS / f"{name}.yaml")).to_dot())


def test_group_chat_file_is_hub_and_spokes() -> None:
    found = edges(dot_of("group_chat"))
    members = ("coder", "user_proxy", "critic")
    assert {("manager", m) for m in members} | {(m, "manager") for m in members} <= found
    assert ("manager", "done") in found
    assert not any(a in members and b in members for a, b in found)


def test_transitions_file_draws_exactly_the_allowed_transitions() -> None:
    found = edges(dot_of("group_chat_transitions"))
    allowed = {("planner_next", "coder"), ("coder_next", "user_proxy"),
               ("user_proxy_next", "coder"), ("user_proxy_next", "critic"),
               ("critic_next", "planner"), ("critic_next", "coder")}  # fmt: skip
    routed = {(a, b) for a, b in found if a.endswith("_next") and b != "done"}
    assert routed == allowed


def test_nested_and_sequential_files_draw_inner_graphs_as_clusters() -> None:
    nested = dot_of("nested_chat")
    assert "subgraph cluster_critic {" in nested
    assert ("critic/seo_reviewer", "critic/fact_checker") in edges(nested)
    sequential = dot_of("sequential_chats")
    assert "subgraph cluster_chat_0 {" in sequential and "subgraph cluster_chat_1 {" in sequential
    assert ("summary_0", "chat_1") in edges(sequential)


def test_two_agent_and_debug_loop_files_show_their_loops() -> None:
    two = edges(dot_of("two_agent"))
    assert {("assistant", "user_proxy_human"), ("user_proxy_human", "user_proxy"),
            ("user_proxy", "assistant"), ("user_proxy_human", "user_proxy_exit")} <= two  # fmt: skip
    debug = edges(dot_of("debug_loop"))
    assert {("assistant", "run_code"), ("run_code", "assistant"), ("assistant", "done")} <= debug


def test_debug_loop_feeds_the_error_back_and_ends_solved(tmp_path: Path) -> None:
    result = load(str(GRAPHS / "debug_loop.yaml")).run_sync("Count the words",
                                                             work_dir=tmp_path)  # fmt: skip
    runs = [m.content for m in result.messages if m.node == "run_code"]
    assert runs[0].startswith("exitcode: 1 (execution failed)") and "NameError" in runs[0]
    assert runs[1] == "exitcode: 0 (execution succeeded)\nCode output: 4\n"
    assert result.reason == "solved"


def test_group_chat_file_reasks_the_ambiguous_selection(tmp_path: Path) -> None:
    from graphflow.execution import unavailable_reason

    problem = unavailable_reason("sandbox")
    require(problem is None, f"the sandbox executor cannot run here: {problem}")
    graph = load(str(GRAPHS / "group_chat.yaml"))
    result: Any = graph.run_sync("Compute sqrt(2).", work_dir=tmp_path)
    assert [m.node for m in result.messages if m.node] == ["coder", "user_proxy", "critic"]
    assert result.reason == "terminated: critic sent a termination message"
    assert result.usage["by_node"]["manager"]["calls"] == 4  # one re-ask
