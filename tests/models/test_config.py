"""ModelConfig, AutoGen's OAI_CONFIG_LIST, the models: section and resolve_models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from graphflow.errors import DefinitionError, ModelError
from graphflow.models import (
    OFFLINE_NOTICE,
    ModelClient,
    ModelConfig,
    ModelSet,
    ScriptedModel,
    config_from_autogen,
    config_list_from_env,
    config_list_from_json,
    filter_configs,
    load_models,
    resolve_models,
)

SECRET = "sk-do-not-leak-42"


def test_literal_api_key_is_kept_in_memory_but_never_shown():
    config = ModelConfig.model_validate({"model": "gpt-4o", "api_key": SECRET})
    assert config.resolve_key() == SECRET
    for text in (
        repr(config),
        str(config),
        json.dumps(config.model_dump()),
        config.model_dump_json(),
        str(config.identity()),
    ):
        assert SECRET not in text
    assert "api_key" not in config.model_dump()
    assert "api_key" not in config.model_dump(include={"api_key", "model"})


def test_key_is_read_from_the_environment_at_call_time(monkeypatch):
    config = ModelConfig(model="m", api_key_env="GF_KEY")
    monkeypatch.setenv("GF_KEY", "first")
    assert config.resolve_key() == "first"
    monkeypatch.setenv("GF_KEY", "second")
    assert config.resolve_key() == "second"
    monkeypatch.delenv("GF_KEY")
    with pytest.raises(ModelError, match="GF_KEY"):
        config.resolve_key()


def test_default_key_variables_and_local_servers(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        ModelConfig(model="gpt-4o").resolve_key()
    assert ModelConfig(model="llama3", base_url="http://localhost:11434/v1").resolve_key()
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert ModelConfig(model="gpt-4o").resolve_key() == "from-env"
    azure = ModelConfig(model="m", api_type="azure", base_url="https://x.openai.azure.com")
    assert azure.resolve_key(env={"AZURE_OPENAI_API_KEY": "az"}) == "az"


def test_validation_of_fields():
    with pytest.raises(ValidationError, match="base_url"):
        ModelConfig(model="m", api_type="azure")
    with pytest.raises(ValidationError, match="params may not set 'api_key'"):
        ModelConfig(model="m", params={"api_key": "x"})
    with pytest.raises(ValidationError):
        ModelConfig(model="m", temprature=0.5)  # type: ignore[call-arg]
    assert ModelConfig(model="m", tags="fast").tags == ("fast",)
    assert ModelConfig(model="m", base_url="http://h/v1/").base_url == "http://h/v1"


def test_prices_configured_listed_or_unknown():
    assert ModelConfig(model="m", price=[1, 2]).cost(1000, 1000) == 3
    assert ModelConfig(model="m", price={"prompt": 1, "completion": 0}).cost(500, 9) == 0.5
    assert ModelConfig(model="gpt-4o-mini-2024-07-18").cost(1000, 1000) == pytest.approx(0.00075)
    # the price library knows hosted models beyond OpenAI's, at their providers' URLs
    mistral = ModelConfig(model="mistral-large-latest", base_url="https://api.mistral.ai/v1")
    assert mistral.cost(1000, 1000) == pytest.approx(0.008)
    azure = ModelConfig(model="gpt-4o-mini", api_type="azure", base_url="https://r.openai.azure.com")
    assert azure.cost(1000, 1000) == pytest.approx(0.00075)
    # a local server, a proxy or an unlisted model: unknown, not $0
    assert ModelConfig(model="gpt-4o", base_url="http://localhost:8000/v1").cost(1000, 0) is None
    assert ModelConfig(model="llama3").cost(1000, 1000) is None
    assert ModelConfig(model="llama3", price=[0, 0]).cost(1000, 1000) == 0


def test_request_params_merge():
    config = ModelConfig(model="m", temperature=0, max_tokens=10, params={"top_p": 0.5})
    assert config.request_params() == {"temperature": 0, "max_tokens": 10, "top_p": 0.5}


def test_filter_configs_like_autogen():
    configs = [
        ModelConfig(model="gpt-4o", tags=["big"]),
        ModelConfig(model="gpt-4o-mini", tags=["small", "fast"]),
        ModelConfig(model="llama3", base_url="http://l/v1"),
    ]
    assert [c.model for c in filter_configs(configs, {"tags": ["fast", "big"]})] == [
        "gpt-4o",
        "gpt-4o-mini",
    ]
    assert [c.model for c in filter_configs(configs, {"model": "llama3"})] == ["llama3"]
    assert [c.model for c in filter_configs(configs, {"model": ["gpt-4o"], "tags": "big"})] == [
        "gpt-4o"
    ]
    assert filter_configs(configs, None) == configs
    raw = [{"model": "a", "tags": ["x"]}, {"model": "b"}]
    assert filter_configs(raw, {"tags": ["x"]}) == [raw[0]]


AUTOGEN_LIST = [
    {"model": "gpt-4", "api_key": SECRET, "tags": ["gpt4"], "api_rate_limit": 5},
    {"model": "gpt-4o-mini", "api_key": SECRET, "tags": ["small"], "price": [0.1, 0.2]},
    {
        "model": "gpt-4",
        "api_type": "azure",
        "base_url": "https://r.openai.azure.com",
        "api_version": "2024-02-01",
        "api_key": SECRET,
    },
    {"model": "a-non-openai-model", "api_type": "anthropic", "api_key": SECRET},
]


def test_oai_config_list_from_env_json_with_filter():
    env = {"OAI_CONFIG_LIST": json.dumps(AUTOGEN_LIST)}
    configs = config_list_from_json(env=env, filter_dict={"tags": ["gpt4"]})
    assert [c.model for c in configs] == ["gpt-4"]
    assert configs[0].resolve_key() == SECRET and SECRET not in repr(configs)
    small = config_list_from_json(env=env, filter_dict={"model": ["gpt-4o-mini"]})
    assert small[0].price == (0.1, 0.2)
    azure = config_list_from_json(env=env, filter_dict={"api_type": ["azure"]})
    assert azure[0].api_type == "azure" and azure[0].api_version == "2024-02-01"


def test_oai_config_list_unsupported_api_type_is_reported_unless_filtered():
    env = {"OAI_CONFIG_LIST": json.dumps(AUTOGEN_LIST)}
    with pytest.raises(DefinitionError, match="'anthropic' is not an OpenAI-compatible"):
        config_list_from_json(env=env)


def test_oai_config_list_from_file_path_in_env_and_file_location(tmp_path: Path):
    path = tmp_path / "OAI_CONFIG_LIST.json"
    path.write_text(json.dumps(AUTOGEN_LIST[:2]))
    from_env = config_list_from_json(env={"OAI_CONFIG_LIST": str(path)})
    assert [c.model for c in from_env] == ["gpt-4", "gpt-4o-mini"]
    from_file = config_list_from_json("OAI_CONFIG_LIST.json", file_location=tmp_path, env={})
    assert from_file == from_env


def test_oai_config_list_errors_say_where(tmp_path: Path):
    with pytest.raises(DefinitionError, match="no config list found"):
        config_list_from_json("NOPE_LIST", env={}, file_location=tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"model": "a"},\n {"model": }]')
    with pytest.raises(DefinitionError, match="line 2"):
        config_list_from_json(str(bad), env={})
    with pytest.raises(DefinitionError, match=r"\[0\]: temperature"):
        config_list_from_json("L", env={"L": '[{"model": "a", "temperature": 9}]'})


def test_autogen_ollama_entry_gets_local_base_url():
    assert config_from_autogen({"model": "llama3", "api_type": "ollama"}).base_url == (
        "http://localhost:11434/v1"
    )


def test_config_list_from_env_variants():
    assert config_list_from_env({}) == []
    only_key = config_list_from_env({"OPENAI_API_KEY": SECRET})[0]
    assert only_key.model == "gpt-4o-mini" and only_key.api_key_env == "OPENAI_API_KEY"
    assert SECRET not in only_key.model_dump_json()
    local = config_list_from_env(
        {"GRAPHFLOW_MODEL": "qwen", "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}
    )[0]
    assert (local.model, local.base_url, local.api_key_env) == (
        "qwen",
        "http://127.0.0.1:8000/v1",
        None,
    )


# ---- the models: section ---------------------------------------------------------


def test_section_single_list_and_named_forms():
    single = load_models({"model": "gpt-4o", "temperature": 0})
    assert single.names == ["default"] and single.configs()[0].temperature == 0
    listed = load_models([{"model": "a"}, {"model": "b"}])
    assert [c.model for c in listed.configs()] == ["a", "b"]
    named = load_models(
        {
            "smart": {"model": "gpt-4o"},
            "cheap": [{"model": "gpt-4o-mini"}, {"model": "llama3", "base_url": "http://l/v1"}],
            "fast": "cheap",
            "default": "smart",
        }
    )
    assert named.default == "default" and named.configs()[0].model == "gpt-4o"
    assert [c.model for c in named.configs("fast")] == ["gpt-4o-mini", "llama3"]
    assert load_models(None) is None and load_models({}) is None


def test_section_llm_config_style_and_cache_seed():
    models = load_models(
        {
            "config_list": [{"model": "a"}, {"model": "b", "temperature": 1}],
            "temperature": 0,
            "cache_seed": None,
        }
    )
    assert [c.temperature for c in models.configs()] == [0, 1]
    client = models.create()
    assert isinstance(client, ModelClient) and client.cache_seed is None
    assert models.create(cache_seed=5).cache_seed == 5


def test_section_oai_config_list_entry(tmp_path: Path):
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(AUTOGEN_LIST))
    models = load_models(
        {"team": {"oai_config_list": "OAI_CONFIG_LIST", "filter": {"tags": ["small"]}}},
        base_dir=tmp_path,
    )
    assert [c.model for c in models.configs("team")] == ["gpt-4o-mini"]


def test_section_scripted_inline_and_from_file(tmp_path: Path):
    (tmp_path / "replies.yaml").write_text("- First reply.\n- content: Second\n")
    models = load_models(
        {
            "default": {"scripted": {"replies": ["hi", "TERMINATE"]}},
            "file": {"scripted": "replies.yaml"},
        },
        base_dir=tmp_path,
    )
    assert models.is_scripted() and models.is_scripted("file")
    first, second = models.create(), models.create()
    assert isinstance(first, ScriptedModel) and first is not second  # fresh per run
    assert first.complete_sync([{"role": "user", "content": "x"}]).text == "hi"
    assert models.create("file").complete_sync([{"role": "user", "content": "x"}]).text == (
        "First reply."
    )
    single = load_models({"scripted": ["only"]})
    assert single.is_scripted()


def test_section_reports_every_problem_with_its_place():
    with pytest.raises(DefinitionError) as caught:
        load_models(
            {
                "a": {"model": "x", "temprature": 1},
                "b": [{"model": "y", "timeout": -1}, "oops"],
                "c": "nowhere",
                "d": {"scripted": {"rules": [{"contains": "x"}]}},
            }
        )
    text = str(caught.value)
    assert "4 problems" in text or "5 problems" in text
    for place in ("models.a", "models.b[0].timeout", "models.b[1]", "models.c", "models.d"):
        assert place in text, place


def test_alias_cycle_and_bad_shapes():
    with pytest.raises(DefinitionError, match="cycle"):
        load_models({"a": "b", "b": "a", "c": {"model": "m"}})
    with pytest.raises(DefinitionError, match="expected a mapping or a list"):
        load_models(42)
    with pytest.raises(DefinitionError, match="empty config list"):
        load_models({"a": []})


def test_model_set_names_unknown_entries():
    models = ModelSet({"default": [ModelConfig(model="m")], "cheap": [ModelConfig(model="c")]})
    problems = models.problems("expensive", where="node writer: model")
    assert len(problems) == 1
    assert "unknown model 'expensive' (defined: default, cheap)" in str(problems[0])
    assert models.problems("cheap") == []
    assert models.problems({"model": "inline"}) == []
    assert models.create({"model": "inline"}).configs[0].model == "inline"
    assert models.describe()[0].startswith("default (default): m at https://api.openai.com/v1")


# ---- resolve_models -----------------------------------------------------------------


def test_resolution_order_graph_then_oai_then_env_then_offline():
    env = {"OAI_CONFIG_LIST": json.dumps(AUTOGEN_LIST[:1]), "OPENAI_API_KEY": "k"}
    assert resolve_models({"model": "from-graph"}, env=env).configs()[0].model == "from-graph"
    assert resolve_models({"model": "g"}, env=env).source == "graph"
    oai = resolve_models(None, env=env)
    assert oai.source == "oai_config_list" and oai.configs()[0].model == "gpt-4"
    from_env = resolve_models(None, env={"OPENAI_API_KEY": "k", "GRAPHFLOW_MODEL": "gpt-4.1"})
    assert from_env.source == "env" and from_env.configs()[0].model == "gpt-4.1"
    offline = resolve_models(None, env={})
    assert offline.offline and offline.notice == OFFLINE_NOTICE
    assert offline.is_scripted()
    answer = offline.create().complete_sync([{"role": "user", "content": "Plan my week"}])
    assert "Plan my week" in answer.text and answer.text.rstrip().endswith("TERMINATE")
    for resolved in (oai, from_env):
        assert resolved.notice is None and not resolved.offline


def test_command_line_overrides():
    section = {"default": {"model": "gpt-4o"}, "cheap": {"model": "gpt-4o-mini"}}
    switched = resolve_models(section, model="cheap", env={})
    assert switched.default == "cheap" and switched.source == "override"
    patched = resolve_models(section, model="llama3", base_url="http://l:1/v1", env={})
    assert {(c.model, c.base_url) for n in patched.names for c in patched.configs(n)} == {
        ("llama3", "http://l:1/v1")
    }
    url_only = resolve_models(section, base_url="http://l:1/v1", env={})
    assert [c.model for c in url_only.configs()] == ["gpt-4o"]
    scripted = resolve_models({"scripted": ["x"]}, model="gpt-4o", env={})
    assert not scripted.is_scripted() and scripted.configs()[0].model == "gpt-4o"
    bare = resolve_models(None, model="qwen", env={"OPENAI_BASE_URL": "http://q/v1"})
    assert (bare.configs()[0].model, bare.configs()[0].base_url) == ("qwen", "http://q/v1")
    with pytest.raises(DefinitionError, match="--model"):
        resolve_models(None, base_url="http://l:1/v1", env={})


def test_model_set_accepts_ready_model_objects():
    scripted = ScriptedModel(["hi"])
    client = ModelClient([ModelConfig(model="m", base_url="http://127.0.0.1:9/v1")])
    models = ModelSet({"default": scripted, "real": client})
    assert models.create() is scripted and models.create("real") is client
    assert models.is_scripted() and not models.is_scripted("real")
    assert "ModelClient([m at http://127.0.0.1:9/v1])" in models.describe()[1]
    with pytest.raises(DefinitionError, match="model object with complete"):
        ModelSet({"default": "not a model"})


def test_strip_api_keys_removes_literal_keys_at_any_depth():
    from graphflow.models import strip_api_keys

    section = {
        "default": {"model": "a", "api_key": SECRET},
        "team": {"config_list": [{"model": "b", "api_key": SECRET}], "api_key_env": "X"},
    }
    clean = strip_api_keys(section)
    assert SECRET not in json.dumps(clean)
    assert clean["team"]["api_key_env"] == "X" and section["default"]["api_key"] == SECRET
    assert load_models(clean).configs("team")[0].model == "b"
