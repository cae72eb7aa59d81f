"""Which models a run uses is decided in one documented order, printed, recorded with
the run (never a key) and reused when the run is resumed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphflow.models import ModelConfig, resolve_models
from graphflow.models.recorded import models_record
from graphflow.store import Store

GRAPH = """
graph: ask-then-write
entry: ask
models: {scripted: ["a canned answer", "another canned answer"]}
nodes:
  ask: {kind: human, prompt: "Topic?", variable: topic}
  write: {kind: agent, system_message: "Write about {topic}."}
  check: {kind: human, prompt: "Again?", variable: again}
  rewrite: {kind: agent, system_message: "Write again."}
edges:
  - {from: ask, to: write}
  - {from: write, to: check}
  - {from: check, to: rewrite}
"""

ENV_NAMES = ("OAI_CONFIG_LIST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHFLOW_MODEL")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import os

    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return {k: v for k, v in os.environ.items() if k not in ENV_NAMES}


def gf(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_a_resumed_run_keeps_the_models_it_started_with_and_says_so(tmp_path, model_server,
                                                                    clean_env):  # fmt: skip
    server = model_server(["from the real model", "again from the real model"])
    (tmp_path / "g.yaml").write_text(GRAPH)
    db = str(tmp_path / "runs.db")
    common = ("--db", db, "--no-interactive")
    first = gf("run", "g.yaml", *common, "--run-id", "r", "--model", "real-model",
               "--base-url", server.base_url, cwd=tmp_path, env=clean_env)  # fmt: skip
    assert first.returncode == 3, first.stderr
    second = gf("resume", "r", "--input", "graphs", *common, cwd=tmp_path, env=clean_env)
    assert second.returncode == 3, second.stderr
    assert f"models: default: real-model at {server.base_url} (from --model real-model " in \
        second.stderr and ", recorded with the run)" in second.stderr  # fmt: skip
    third = gf("resume", "r", "--input", "yes", *common, cwd=tmp_path, env=clean_env)
    assert third.returncode == 0, third.stderr
    assert server.requests_for("real-model") == 2  # no canned answer mixed in
    with Store(db) as store:
        texts = [m.content for m in store.load_messages("r") if m.role == "assistant"]
        recorded = store.get_run("r").models
    assert texts == ["from the real model", "again from the real model"]
    assert recorded["source"] == "override" and recorded["origin"].startswith("from --model")
    assert recorded["entries"]["default"]["configs"] == [
        {"model": "real-model", "base_url": server.base_url, "provider": "openai-compatible"}]


def test_resume_with_other_flags_uses_them_and_says_so(tmp_path, model_server, clean_env):
    server = model_server(["first", "second"])
    (tmp_path / "g.yaml").write_text(GRAPH)
    db = str(tmp_path / "runs.db")
    common = ("--db", db, "--no-interactive")
    gf("run", "g.yaml", *common, "--run-id", "r", cwd=tmp_path, env=clean_env)
    switched = gf("resume", "r", "--input", "graphs", *common, "--model", "other",
                  "--base-url", server.base_url, cwd=tmp_path, env=clean_env)  # fmt: skip
    assert switched.returncode == 3, switched.stderr
    assert f"models: default: other at {server.base_url} (from --model other --base-url" in \
        switched.stderr  # fmt: skip
    assert server.requests_for("other") == 1


def test_an_environment_model_answers_in_place_of_a_graphs_scripted_one(tmp_path, model_server,
                                                                         clean_env):  # fmt: skip
    server = model_server(["from the config list"])
    (tmp_path / "g.yaml").write_text(GRAPH)
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(
        [{"model": "listed", "base_url": server.base_url, "api_key": "sk-listed-0123456789"}]))
    db = str(tmp_path / "runs.db")
    run = gf("run", "g.yaml", "-i", "x", "--db", db, "--no-interactive", "--run-id", "r",
             cwd=tmp_path, env=clean_env)  # fmt: skip
    assert run.returncode == 3, run.stderr
    resumed = gf("resume", "r", "--input", "graphs", "--db", db, "--no-interactive",
                 cwd=tmp_path, env=clean_env)  # fmt: skip
    assert "from OAI_CONFIG_LIST (file" in resumed.stderr
    assert "in place of the graph's scripted model 'default'" in resumed.stderr
    assert server.requests_for("listed") == 1
    assert "sk-listed" not in Path(db).read_bytes().decode("latin-1")  # keys never stored


def test_the_resolution_order():
    section = {"default": {"model": "from-graph"}, "demo": {"scripted": ["canned"]}}
    env = {"GRAPHFLOW_MODEL": "from-env", "OPENAI_BASE_URL": "http://env:1/v1"}
    models = resolve_models(section, env=env)
    # a graph's endpoint config wins over the environment, and goes to OPENAI_BASE_URL
    assert [c.model for c in models.configs()] == ["from-graph"]
    # its scripted entry is a stand-in: the environment's model answers in its place
    assert [c.model for c in models.configs("demo")] == ["from-env"]
    assert models.origin.endswith("in place of the graph's scripted model 'demo'")
    flags = resolve_models(section, model="cli", base_url="http://cli:1/v1", env=env)
    assert {c.model for n in flags.names for c in flags.configs(n)} == {"cli"}
    assert resolve_models(section, env={}).is_scripted("demo")


def test_a_config_list_file_in_the_working_directory_is_found(tmp_path):
    (tmp_path / "OAI_CONFIG_LIST").write_text('[{"model": "listed-in-file"}]')
    models = resolve_models(None, env={}, cwd=tmp_path)
    assert models.source == "oai_config_list" and models.configs()[0].model == "listed-in-file"
    assert resolve_models(None, env={}, cwd=tmp_path / "elsewhere").offline


def test_recorded_models_are_rebuilt_and_a_change_is_noticed():
    used = resolve_models(None, model="m1", base_url="http://one:1/v1", env={})
    record = models_record(used)
    now = resolve_models(None, env={"GRAPHFLOW_MODEL": "m2"}, recorded=record)
    assert now.source == "recorded" and now.configs()[0].model == "m1"
    assert now.configs()[0].url == "http://one:1/v1"
    assert "continues with the models it used" in (now.notice or "")
    same = resolve_models(None, model="m1", base_url="http://one:1/v1", env={})
    again = resolve_models(None, env={}, recorded=models_record(same))
    assert again.configs()[0].model == "m1"
    offline = models_record(resolve_models(None, env={}))
    assert resolve_models(None, env={"GRAPHFLOW_MODEL": "x"}, recorded=offline).is_scripted()


def test_a_records_keys_stay_out_and_options_come_back_from_the_configuration():
    config = ModelConfig(model="m", base_url="http://h:1/v1", api_key="sk-live-secret",
                         temperature=0.2)  # fmt: skip
    from graphflow.models import ModelSet

    record = models_record(ModelSet({"default": [config]}))
    assert "sk-live-secret" not in json.dumps(record)
    back = resolve_models({"model": "m", "base_url": "http://h:1/v1", "temperature": 0.2},
                          env={}, recorded=record)  # fmt: skip
    assert back.configs()[0].temperature == 0.2
