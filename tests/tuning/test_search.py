"""Tuning finds the configuration the scripted server makes best, within the inference
budget, and respects the optimization budget."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from graphflow.models import load_models
from graphflow.testing import ModelServer
from graphflow.tuning import tune
from tests.tuning.scripted import DATA, INFERENCE_BUDGET, PROMPTS, SPACE, answer, config_list

pytest.importorskip("optuna")


def test_the_search_finds_the_best_configuration_within_the_inference_budget(tmp_path: Path) -> None:
    lines: list[str] = []
    with ModelServer(script=answer) as server:
        result = tune(DATA, "exact_match", config_list=config_list(server.base_url),
                      search_space=SPACE, inference_budget=INFERENCE_BUDGET,
                      study=tmp_path / "study.db", progress=lines.append)  # fmt: skip
    best = result.best
    assert best is not None and best.value == 1.0
    assert best.config.model == "good" and best.config.prompt == PROMPTS[1]
    assert best.config.params["temperature"] <= 0.3
    assert best.cost_per_instance <= INFERENCE_BUDGET
    by_model = {t.config.model for t in result.trials if t.state == "complete" and t.value == 1.0}
    assert by_model == {"good"}  # big is right too, but over the budget: never complete
    big = [t for t in result.trials if t.config.model == "big" and t.state != "duplicate"]
    assert big and all(t.state == "over_budget" for t in big)
    assert all(t.instances < len(DATA) for t in big)  # stopped early, not asked for all
    assert result.evaluated == 18  # the space's every configuration, once each
    duplicates = [t for t in result.trials if t.state == "duplicate"]
    assert len(duplicates) < 18  # each one is followed by a configuration not tried yet
    assert len(lines) == 18 and any("over_budget" in line for line in lines)
    assert result.spend == pytest.approx(sum(t.spend for t in result.trials))
    section = result.models_section()
    models = load_models(section)
    assert models is not None
    [config] = models.configs("default")
    assert config.model == "good" and config.temperature == best.config.params["temperature"]
    text = result.to_yaml()
    assert yaml.safe_load(text)["models"] == section
    assert "# prompt: Answer with the number only. {question}" in text


def test_a_range_of_temperatures_is_searched(tmp_path: Path) -> None:
    space = {**SPACE, "model": ["cheap", "good"], "temperature": {"low": 0.0, "high": 1.5}}
    with ModelServer(script=answer) as server:
        result = tune(DATA, "exact_match", config_list=config_list(server.base_url),
                      search_space=space, inference_budget=INFERENCE_BUDGET,
                      num_samples=30, seed=0)  # fmt: skip
    assert result.best is not None and result.best.value == 1.0
    assert result.best.config.model == "good" and result.best.config.prompt_index == 1
    assert result.best.config.params["temperature"] <= 0.3


def test_the_optimization_budget_stops_the_search(tmp_path: Path) -> None:
    budget = 0.03  # about three instances of the big model
    with ModelServer(script=answer) as server:
        result = tune(DATA, "exact_match", config_list=config_list(server.base_url),
                      search_space={**SPACE, "model": ["big"]}, optimization_budget=budget,
                      study=tmp_path / "study.db")  # fmt: skip
        asked = server.requests
    assert result.stop_reason.startswith("the optimization budget is used up")
    one_instance = max(t.spend / max(t.instances, 1) for t in result.trials if t.instances)
    assert budget <= result.spend < budget + one_instance
    assert asked < len(DATA) * 6  # far fewer answers than the space would take


def test_n_answers_are_voted_and_each_is_asked_once(tmp_path: Path) -> None:
    def varying(request):  # right twice out of three at any temperature
        return "5" if request.call % 3 != 2 else "6"

    with ModelServer(script=varying) as server:
        result = tune([{"question": "2+3?", "answer": "5"}], "exact_match",
                      config_list=[{"model": "m", "base_url": server.base_url, "price": [0.001, 0.001]}],
                      search_space={"prompt": "{question}", "n": [1, 3], "temperature": 0.7},
                      study=tmp_path / "study.db")  # fmt: skip
        assert server.requests == 3  # n=3 is three requests; n=1 shares the first (cached)
    three = next(t for t in result.trials if t.config.n == 3)
    assert three.value == 1.0


def test_a_study_run_again_bills_nothing_more(tmp_path: Path) -> None:
    study = tmp_path / "study.db"
    with ModelServer(script=answer) as server:
        first = tune(DATA, "exact_match", config_list=config_list(server.base_url),
                     search_space={**SPACE, "model": ["good"]}, study=study, num_samples=3)  # fmt: skip
        asked = server.requests
        again = tune(DATA, "exact_match", config_list=config_list(server.base_url),
                     search_space={**SPACE, "model": ["good"]}, study=study, num_samples=3)  # fmt: skip
        assert server.requests == asked
    assert [t.number for t in again.trials] == [t.number for t in first.trials]
    assert again.stop_reason == "3 trials evaluated"
