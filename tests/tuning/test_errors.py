"""Bad input to tuning gets a clear error: what, where, how to fix."""

from __future__ import annotations

import builtins
import json
import re
from pathlib import Path
from typing import Any

import pytest

from graphflow.testing import ModelServer
from graphflow.tuning import TuningError, load_data, tune
from tests.tuning.scripted import DATA, SPACE, answer, config_list

pytest.importorskip("optuna")


def _tune(server: ModelServer, **options: Any) -> Any:
    arguments: dict[str, Any] = {"config_list": config_list(server.base_url),
                                 "search_space": {**SPACE, "model": ["good"]}, **options}  # fmt: skip
    data = arguments.pop("data", DATA)
    metric = arguments.pop("metric", "exact_match")
    return tune(data, metric, **arguments)


@pytest.mark.parametrize(("name", "text", "message"), [
    ("data.jsonl", '{"question": "a"}\n{"question": \n', "data.jsonl:2: not a JSON object"),
    ("data.yaml", "- question: a\n- [1, 2\n", "data.yaml:3: not valid YAML"),
    ("data.yaml", "question: a\n", "holds a dict; it must hold a list of instances"),
    ("data.json", "[1, 2]", "instance 1 is a int, not a mapping of fields"),
    ("data.jsonl", "\n\n", "has no instances"),
    ("data.csv", "a,b\n", "unknown format '.csv'"),
])  # fmt: skip
def test_a_bad_data_file_is_named_with_its_line(tmp_path: Path, name: str, text: str,
                                                message: str) -> None:  # fmt: skip
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TuningError, match=re.escape(message)):
        load_data(path)
    with pytest.raises(TuningError, match="does not exist"):
        load_data(tmp_path / "missing.jsonl")


BROKEN = {"now": True}


def scorer(responses: list[str], **instance: Any) -> float:
    """exact match, or a ZeroDivisionError while BROKEN says so (a metric being fixed)."""
    if BROKEN["now"]:
        raise ZeroDivisionError("no score")
    return float(responses[0] == instance["answer"])


def test_a_metric_that_raises_stops_tuning_and_is_asked_again_once_fixed(tmp_path: Path) -> None:
    study = tmp_path / "study.db"
    with ModelServer(script=answer) as server:
        with pytest.raises(TuningError) as error:
            _tune(server, metric=scorer, study=study)
        assert "the metric scorer raised ZeroDivisionError: no score (on instance 1)" in str(error.value)
        BROKEN["now"] = False
        result = _tune(server, metric=scorer, study=study)
    assert result.best is not None and result.best.value == 1.0
    failed = [t for t in result.trials if t.state == "failed"]
    assert len(failed) == 1 and "ZeroDivisionError" in (failed[0].reason or "")
    again = [t for t in result.trials if t.state == "complete" and t.config == failed[0].config]
    assert len(again) == 1


def test_a_study_refuses_other_settings(tmp_path: Path) -> None:
    study = tmp_path / "study.db"
    with ModelServer(script=answer) as server:
        _tune(server, study=study, num_samples=1)
        with pytest.raises(TuningError, match="was made with other data, search space"):
            _tune(server, study=study, data=DATA[:3],
                  search_space={**SPACE, "model": ["good"], "prompt": "{question}"})  # fmt: skip
        _tune(server, study=study, num_samples=2, inference_budget=1.0)  # budgets may change


@pytest.mark.parametrize(("options", "message"), [
    ({"search_space": {**SPACE, "model": ["good", "gpt-9"]}},
     "model: unknown model 'gpt-9' (the config list has: cheap, good, big)"),
    ({"search_space": {"model": ["good"]}}, "prompt: missing; give a template"),
    ({"search_space": {**SPACE, "temperature": 3}}, "temperature: 3 is out of range [0, 2]"),
    ({"search_space": {**SPACE, "temprature": [0]}}, "unknown key 'temprature'"),
    ({"search_space": {**SPACE, "prompt": "{quest}"}},
     "prompt template #1 names {quest}, which instance 1 does not have (its fields: question, answer)"),
    ({"metric": "no_such_metric"}, "unknown metric 'no_such_metric'; use a built-in"),
    ({"metric": "json:nope"}, "metric json:nope: module 'json' has no attribute 'nope'"),
    ({"data": [{"question": "x"}]}, "compares with each instance's 'answer' field"),
    ({"inference_budget": -1}, "inference_budget -1 must be a positive number"),
    ({"mode": "best"}, "mode 'best' must be 'max' or 'min'"),
    ({"search_space": {**SPACE, "prompt": ["{question}", "  "]}},
     "prompt[1]: the template is empty; write the request, with {field} placeholders"),
    ({"config_list": {"demo": {"scripted": ["hi"]}}}, "entry 'demo' is scripted"),
])  # fmt: skip
def test_bad_input_is_explained(options: dict[str, Any], message: str) -> None:
    with ModelServer(script=answer) as server, pytest.raises(TuningError, match=re.escape(message)):
        _tune(server, **options)


def test_an_unpriced_model_cannot_be_held_to_a_budget() -> None:
    with ModelServer(script=answer) as server, pytest.raises(TuningError, match="price is unknown"):
        tune(DATA, config_list=[{"model": "good", "base_url": server.base_url}],
             search_space={"prompt": "{question}"}, inference_budget=0.01)  # fmt: skip


def test_an_endpoint_that_fails_fails_its_trials_only() -> None:
    with ModelServer(script=answer) as server:
        server.fail_always("500", model="big")
        configs = config_list(server.base_url)
        result = tune(DATA, config_list=configs, search_space={**SPACE, "temperature": 0.0},
                      inference_budget=1.0)  # fmt: skip
    failed = [t for t in result.trials if t.state == "failed"]
    assert {t.config.model for t in failed} == {"big"} and "HTTP 500" in (failed[0].reason or "")
    assert result.best is not None and result.best.config.model == "good"


def test_without_optuna_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def no_optuna(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "optuna" or name.startswith("optuna."):
            raise ImportError("no optuna")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_optuna)
    with ModelServer(script=answer) as server, pytest.raises(TuningError, match=r"pip install 'graphflow\[tune\]'"):
        _tune(server)


def test_data_files_of_each_format_load(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DATA[:2]))
    (tmp_path / "b.yaml").write_text("data:\n  - {question: q, answer: a}\n")
    (tmp_path / "c.json").write_text(json.dumps(DATA[:1]))
    assert load_data(tmp_path / "a.jsonl") == DATA[:2]
    assert load_data(tmp_path / "b.yaml") == [{"question": "q", "answer": "a"}]
    assert load_data(tmp_path / "c.json") == DATA[:1]


def test_a_model_without_its_api_key_is_refused_before_any_trial(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    lines: list[str] = []
    with ModelServer(script=answer) as server:
        configs = [*config_list(server.base_url)[1:2],
                   {"model": "gpt-4o-mini", "price": [0.00015, 0.0006]}]  # OpenAI's, no key
        with pytest.raises(TuningError, match=r"model gpt-4o-mini: .*needs an API key: export "
                                              r"OPENAI_API_KEY=.*every trial of such a model would fail"):
            tune(DATA, config_list=configs, progress=lines.append, study=tmp_path / "t.db",
                 search_space={"model": ["good", "gpt-4o-mini"], "prompt": "{question}"})
        assert lines == [] and server.requests == 0  # refused before a trial was asked
        # a model left out of the search space needs no key
        result = tune(DATA, config_list=configs, search_space={"model": ["good"],
                      "prompt": "Answer with the number only. {question}", "temperature": 0})
    assert result.best is not None and result.best.config.model == "good"


def test_a_study_path_that_cannot_be_created_is_explained(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with ModelServer(script=answer) as server, pytest.raises(
            TuningError, match=r"cannot create the study file .*notes.txt/t.db: .*; give a "
                               r"path in a folder you can write"):  # fmt: skip
        _tune(server, study=tmp_path / "notes.txt" / "t.db")


def test_a_best_configuration_that_cannot_be_written_is_explained(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with ModelServer(script=answer) as server:
        result = _tune(server, num_samples=1)
    with pytest.raises(TuningError, match=r"cannot write the best configuration to .*notes.txt/"
                                          r"best.yaml: .*; give --out a path you can write"):
        result.write(tmp_path / "notes.txt" / "best.yaml")
