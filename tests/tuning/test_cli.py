"""``graphflow tune``: progress, the best configuration written, clear errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from graphflow.cli import main
from graphflow.models import load_models
from graphflow.store import Store
from graphflow.testing import ModelServer
from tests.tuning.scripted import DATA, INFERENCE_BUDGET, SPACE, answer, config_list

pytest.importorskip("optuna")


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DATA[:4]))
    (tmp_path / "space.yaml").write_text(yaml.safe_dump({**SPACE, "model": ["cheap", "good"]}))
    return tmp_path


def _invoke(*args: str) -> object:
    return CliRunner().invoke(main, ["tune", *args], catch_exceptions=False)


def test_tune_writes_the_best_models_section(files: Path) -> None:
    with ModelServer(script=answer) as server:
        (files / "graph.yaml").write_text(yaml.safe_dump({"models": config_list(server.base_url)}))
        result = _invoke("--data", "data.jsonl", "--models", "graph.yaml", "--space", "space.yaml",
                         "--budget-inference", str(INFERENCE_BUDGET), "--study", "t.db",
                         "--out", "best.yaml")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "trial 0: model=" in result.output and "best: trial" in result.output
    assert "every configuration of the search space was tried (12)" in result.output
    section = yaml.safe_load((files / "best.yaml").read_text())["models"]
    models = load_models(section)
    assert models is not None and models.configs("default")[0].model == "good"


def test_tune_prints_the_section_and_takes_inline_models_and_prompts(files: Path) -> None:
    with ModelServer(script=answer) as server:
        inline = json.dumps(config_list(server.base_url)[1:2])
        result = CliRunner().invoke(main, [
            "tune", "--data", "data.jsonl", "--models", inline, "--study", "t.db",
            "--prompt", "Answer with the number only. {question}", "--trials", "1"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["models"]["default"][0]["model"] == "good"
    assert "trial 0:" in result.stderr


def test_a_metric_that_raises_is_reported_without_a_traceback(files: Path) -> None:
    (files / "mymetric.py").write_text("def score(responses, **instance):\n"
                                       "    return 1 / 0\n")  # fmt: skip
    with ModelServer(script=answer) as server:
        (files / "models.yaml").write_text(yaml.safe_dump(config_list(server.base_url)))
        result = _invoke("--data", "data.jsonl", "--models", "models.yaml", "--space",
                         "space.yaml", "--metric", "mymetric:score", "--study", "t.db")  # fmt: skip
    assert result.exit_code == 2
    assert "error: the metric mymetric:score raised ZeroDivisionError: division by zero" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "missing.jsonl"], "tuning data file missing.jsonl does not exist"),
    (["--data", "bad.jsonl"], "bad.jsonl:1: not a JSON object"),
    (["--space", "unknown.yaml"], "model: unknown model 'gpt-9'"),
    (["--metric", "nomodule:score"], "metric nomodule:score:"),
    (["--models", "nothere.yaml"], "model config file nothere.yaml does not exist"),
    (["--study", "notes.txt"], "cannot open the study notes.txt: DatabaseError"),
    (["--metric", "nomodule:x"], "metric nomodule:x: cannot import"),  # not an emoji code
    (["--study", "runs.db"], "runs.db is a graphflow run database, not a tuning study"),
    (["--study", "app.db"], "app.db is an SQLite database of something else (tables: notes)"),
])  # fmt: skip
def test_bad_input_exits_2_with_the_reason(files: Path, args: list[str], message: str) -> None:
    (files / "bad.jsonl").write_text("{not json\n")
    (files / "notes.txt").write_text("not a database, but notes\n" * 100)
    Store(files / "runs.db").close()
    with sqlite3.connect(files / "app.db") as app:
        app.execute("CREATE TABLE notes (text TEXT)")
    app.close()
    (files / "unknown.yaml").write_text(yaml.safe_dump({**SPACE, "model": ["gpt-9"]}))
    with ModelServer(script=answer) as server:
        (files / "models.yaml").write_text(yaml.safe_dump(config_list(server.base_url)))
        options = {"--data": "data.jsonl", "--models": "models.yaml", "--space": "space.yaml",
                   "--study": "t.db"}  # fmt: skip
        options.update(dict(zip(args[::2], args[1::2], strict=True)))
        result = _invoke(*[x for pair in options.items() for x in pair])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    if "runs.db" in args or "app.db" in args:  # the database was left as it was
        with sqlite3.connect(files / args[1]) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        db.close()
        assert "studies" not in tables and "tuning_answers" not in tables


def test_no_configuration_within_the_budget_exits_1(files: Path) -> None:
    with ModelServer(script=answer) as server:
        (files / "models.yaml").write_text(yaml.safe_dump(config_list(server.base_url)[2:]))
        result = _invoke("--data", "data.jsonl", "--models", "models.yaml", "--prompt",
                         "{question}", "--budget-inference", "0.0001", "--study", "t.db")  # fmt: skip
    assert result.exit_code == 1
    assert "no configuration completed within the inference budget" in result.output


def test_a_model_the_server_does_not_know_fails_its_trials_with_the_reason(files: Path) -> None:
    with ModelServer(script=answer, models=["good"], only_models=True) as server:
        configs = [{**c, "model": "gpt-9"} for c in config_list(server.base_url)[1:2]]
        (files / "models.yaml").write_text(yaml.safe_dump(configs))
        result = _invoke("--data", "data.jsonl", "--models", "models.yaml", "--prompt",
                         "{question}", "--study", "t.db")  # fmt: skip
    assert result.exit_code == 1
    assert "every trial failed" in result.output and "gpt-9" in result.output
    assert "model_not_found" in result.output or "404" in result.output
