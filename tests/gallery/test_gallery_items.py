"""What each gallery graph of this page shows, checked on its offline run."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from graphflow import Store, load
from graphflow.cli import main
from tests.conftest import require

GALLERY = Path(__file__).resolve().parents[2] / "graphs" / "gallery"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def need_sandbox() -> None:
    from graphflow.execution import unavailable_reason

    problem = unavailable_reason("sandbox")
    require(problem is None, f"the sandbox executor cannot run here: {problem}")


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, [*args, "--db", "runs.db"] if args[0] != "validate" else args)


# ---- 1. code generation, execution, debugging and human feedback ---------------------


def test_code_feedback_debugs_then_takes_feedback_then_approval(tmp_path: Path) -> None:
    need_sandbox()
    graph = load(str(GALLERY / "code_feedback.yaml"))
    with Store(tmp_path / "runs.db") as store:
        first = graph.run_sync("Count the words.", store=store, work_dir=tmp_path / "w")
        assert first.status == "waiting" and list(first.waiting) == ["review"]
        outputs = [m.content for m in first.messages if m.node == "run_code"]
        assert outputs[0].startswith("exitcode: 1") and "NameError" in outputs[0]
        assert outputs[1] == ("exitcode: 0 (execution succeeded)\nCode output: "
                              "[('the', 3), ('runs', 2), ('code', 2)]\n")  # fmt: skip
        second = graph.resume_sync(first.run_id, input="Print a table of every word.",
                                   store=store, work_dir=tmp_path / "w")  # fmt: skip
        assert second.status == "waiting"  # the reviewer is asked again after the rework
        table = [m.content for m in second.messages if m.node == "run_code"][-1]
        assert "the          3     25%" in table
        done = graph.resume_sync(first.run_id, input="approve", store=store,
                                 work_dir=tmp_path / "w")  # fmt: skip
        assert (done.status, done.reason) == ("completed", "approved by the reviewer")
        feedback = [m for m in done.messages if m.node == "review"]
        assert [m.content for m in feedback] == ["Print a table of every word.", "approve"]
        assert done.variables["exit_code"] == 0


# ---- 2. group-chat data visualization ------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_data_visualization_keeps_each_chart_as_an_artifact_shown_in_the_report(
        tmp_path: Path) -> None:  # fmt: skip
    need_sandbox()
    require(importlib.util.find_spec("matplotlib") is not None,
            "matplotlib is not installed (pip install 'graphflow[gallery]')")
    result = cli("run", str(GALLERY / "data_visualization.yaml"), "-i", "Plot the data",
                 "--run-id", "viz", "--no-interactive", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    with Store(tmp_path / "runs.db") as store:
        charts = store.artifacts("viz")
        assert [(c["step"], c["node"], c["name"], c["media_type"]) for c in charts] == [
            (3, "user_proxy", "chart.png", "image/png"), (9, "user_proxy", "chart.png", "image/png")]
        first, second = (store.artifact_data(c["digest"]) for c in charts)
        assert first != second  # the critic's changes made a new chart
        assert png_size(second) == (480, 280)  # 6 x 3.5 inches at 80 dpi
    shown = cli("show", "viz")
    assert "artifacts (2)" in shown.output and "chart.png image/png" in shown.output
    report = cli("report", "viz", "-o", "viz.html")
    assert report.exit_code == 0, report.output
    page = (tmp_path / "viz.html").read_text()
    assert page.count('<img class="artifact-image" alt="chart.png" src="data:image/png;base64,') == 2
    saved = cli("show", "viz", "--save-artifacts", "charts")
    assert saved.exit_code == 0 and (tmp_path / "charts" / "chart.png").read_bytes() == second


# ---- 7. several human users ----------------------------------------------------------


def test_several_people_answer_their_own_checkpoints_and_are_named(tmp_path: Path) -> None:
    path = str(GALLERY / "several_humans.yaml")
    started = cli("run", path, "-i", "Request the offsite", "--run-id", "buy",
                  "--no-interactive", "--quiet")  # fmt: skip
    assert started.exit_code == 3, started.output  # waiting for a person
    waiting = cli("show", "buy")
    assert "waiting at budget (question budget@1) for alice" in waiting.output
    wrong = cli("resume", "buy", "--answer", "budget=approve", "--as", "bob", "--no-interactive")
    assert wrong.exit_code != 0
    assert "checkpoint 'budget' is answered by alice, not bob" in wrong.output
    with Store(tmp_path / "runs.db") as store:  # nothing was recorded
        assert store.get_run("buy").status == "waiting" and store.message_count("buy") == 2
    for answer, person in (("budget=Cut the venue to 3,000", "alice"), ("budget=approve", "alice"),
                           ("legal=approve", "bob")):  # fmt: skip
        step = cli("resume", "buy", "--answer", answer, "--as", person, "--no-interactive",
                   "--quiet")  # fmt: skip
        assert step.exit_code in (0, 3), step.output
    data = json.loads(cli("show", "buy", "--json").output)
    assert (data["status"], data["reason"]) == ("completed", "approved by alice and bob")
    people = [(m["name"], m["content"]) for m in data["messages"] if m["node"] in ("budget", "legal")]
    assert people == [("alice", "Cut the venue to 3,000"), ("alice", "approve"), ("bob", "approve")]
    assert data["variables"]["budget_answered_by"] == "alice"
    assert data["variables"]["legal_answered_by"] == "bob"
    writer = [m["content"] for m in data["messages"] if m["node"] == "writer"]
    assert "Venue 3,000" in writer[-1]  # alice's change was made


def test_the_report_names_who_a_checkpoint_waits_for(tmp_path: Path) -> None:
    from graphflow.report.write import build_report

    graph = load(str(GALLERY / "several_humans.yaml"))
    with Store(tmp_path / "runs.db") as store:
        run = graph.run_sync("Request the offsite", store=store)
        run = graph.resume_sync(run.run_id, input="approve", store=store)
        page = build_report(store, run.run_id)
    assert "<b>legal</b> waits for bob:" in page
    assert '<span class="speaker">alice</span>' in page


def test_without_as_an_answer_is_still_attributed_to_the_checkpoints_person(
        tmp_path: Path) -> None:  # fmt: skip
    graph = load(str(GALLERY / "several_humans.yaml"))
    with Store(tmp_path / "runs.db") as store:
        run = graph.run_sync("Request the offsite", store=store)
        run = graph.resume_sync(run.run_id, input="approve", store=store)
        assert [(m.name, m.content) for m in run.messages if m.node == "budget"] == [
            ("alice", "approve")]


# ---- 8. tools from another library ---------------------------------------------------


def test_library_tools_answer_with_the_librarys_own_results(tmp_path: Path) -> None:
    import statistics

    graph = load(str(GALLERY / "library_tools.yaml"))
    with Store(tmp_path / "runs.db") as store:
        result = graph.run_sync("Do sales follow the temperature?", store=store)
    assert result.status == "completed"
    x, y = [14, 16, 19, 22, 25, 28], [215, 325, 332, 406, 522, 614]
    results = {m.name: m.content for m in result.messages if m.role == "tool"}
    assert json.loads(results["correlation"]) == statistics.correlation(x, y)
    assert json.loads(results["linear_regression"]) == statistics.linear_regression(x, y)._asdict()
    assert json.loads(results["mean"]) == statistics.mean(y)


def test_the_api_refuses_an_answer_from_another_person(tmp_path: Path) -> None:
    from graphflow.errors import RunNotResumable

    graph = load(str(GALLERY / "several_humans.yaml"))
    with Store(tmp_path / "runs.db") as store:
        run = graph.run_sync("Request the offsite", store=store)
        with pytest.raises(RunNotResumable, match="'budget' is answered by alice, not bob"):
            graph.resume_sync(run.run_id, input="approve", person="bob", store=store)
        with pytest.raises(RunNotResumable, match="answered by alice"):
            graph.resume_sync(run.run_id, input={"budget": "approve"}, person="carol",
                              store=store)  # fmt: skip
        assert store.get_run(run.run_id).status == "waiting"
        run = graph.resume_sync(run.run_id, input="approve", person="alice", store=store)
        assert list(run.waiting) == ["legal"]


def test_a_person_name_that_is_not_a_name_is_a_definition_error(tmp_path: Path) -> None:
    from graphflow.errors import DefinitionError

    bad = tmp_path / "bad.yaml"
    bad.write_text((GALLERY / "several_humans.yaml").read_text().replace(
        "person: alice", "person: 'alice smith!'"))  # fmt: skip
    with pytest.raises(DefinitionError, match="budget"):
        load(str(bad))
