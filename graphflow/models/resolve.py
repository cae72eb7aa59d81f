"""Deciding which models a run uses, in one documented order (docs/models.md, "Which
models a run uses"):

1. ``--model`` / ``--base-url`` (``RunContext(model=..., base_url=...)``);
2. the models recorded with a resumed run (:mod:`graphflow.models.recorded`);
3. the graph's ``models:`` entries that name endpoints (a config without ``base_url``
   goes to ``$OPENAI_BASE_URL`` when set, as the ``openai`` package does);
4. ``OAI_CONFIG_LIST``: the environment variable (JSON, or a file path), else a file of
   that name in the working directory, as AutoGen looks it up;
5. ``GRAPHFLOW_MODEL`` / ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``;
6. the graph's scripted entries — a graph's ``scripted:`` models are stand-ins, so a
   model configured in the environment (4, 5) answers in their place;
7. the offline model, when nothing is configured (:mod:`graphflow.models.offline`).

The result says where its models came from (``ModelSet.origin``), which the command line
prints when a run starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphflow.errors import DefinitionError, Problem
from graphflow.models.config import ModelConfig
from graphflow.models.config_list import config_list_from_env, config_list_from_json
from graphflow.models.model_set import ModelEntry, ModelSet, load_models
from graphflow.models.offline import OFFLINE_NOTICE, offline_model
from graphflow.models.recorded import record_lines, reuse_recorded

__all__ = ["CONFIG_LIST_FILE", "resolve_models"]

#: The name AutoGen's config list goes by, as a variable and as a file.
CONFIG_LIST_FILE = "OAI_CONFIG_LIST"
_ENV_NAMES = "GRAPHFLOW_MODEL / OPENAI_BASE_URL / OPENAI_API_KEY"


def resolve_models(
    section: Any = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    cwd: Path | None = None,
    recorded: Mapping[str, Any] | None = None,
) -> ModelSet:
    """Decide which models to use, most explicit first (see the module docs).

    Args:
        section: the graph's ``models:`` section (raw), or ``None``.
        model, base_url: command-line overrides. ``model`` naming an entry of the
            section makes it the default; otherwise they replace the model and/or
            endpoint of every config (a scripted entry is replaced by that model).
        env: the environment (default ``os.environ``).
        base_dir: where the graph file is (relative paths in the section).
        cwd: where to look for an ``OAI_CONFIG_LIST`` file (default: the working
            directory).
        recorded: the models recorded with a run being resumed
            (``RunRecord.models``).

    Raises:
        DefinitionError: the section or the config list is invalid, or ``base_url`` is
            given with no model to ask for.

    Example:
        >>> resolve_models(None, env={}).notice
        'no model configured: using the scripted offline model'
        >>> resolve_models({"model": "gpt-4o"}, model="gpt-4o-mini", env={}).configs()[0].model
        'gpt-4o-mini'
        >>> resolve_models({"scripted": ["hi"]}, env={"GRAPHFLOW_MODEL": "qwen"}).origin
        "from GRAPHFLOW_MODEL / OPENAI_BASE_URL / OPENAI_API_KEY, in place of the graph's scripted model 'default'"
    """
    env = os.environ if env is None else env
    graph = load_models(section, base_dir=base_dir)
    if model or base_url:
        return _override(graph, model, base_url, env)
    fresh = _configured(graph, env, cwd)
    if not recorded:
        return fresh
    reused = reuse_recorded(recorded, fresh, graph)
    if reused is None:
        fresh.notice = ("the models this run used cannot be rebuilt (" + "; ".join(
            record_lines(recorded)) + f"); it continues with {'; '.join(fresh.describe())}; "
            "give the run its models again (models=..., or --model/--base-url)")  # fmt: skip
        return fresh
    if reused.describe() != fresh.describe():
        reused.notice = (f"this run continues with the models it used ({'; '.join(reused.describe())}),"
                         f" not those configured now ({'; '.join(fresh.describe())}); "
                         "pass --model/--base-url to change them")  # fmt: skip
    return reused


def _configured(graph: ModelSet | None, env: Mapping[str, str], cwd: Path | None) -> ModelSet:
    """Steps 3 to 7 of the module docs."""
    environment = _from_environment(env, cwd)
    if graph is not None:
        scripted = [name for name, entry in graph.entries.items() if entry.is_scripted]
        if not scripted or environment is None:
            graph.origin = "from the graph's models: section"
            return graph
        entries = dict(graph.entries)
        for name in scripted:
            entries[name] = environment.entry()
        names = ", ".join(repr(n) for n in scripted)
        plural = "s" if len(scripted) > 1 else ""
        return ModelSet(entries, default=graph.default, source=environment.source,
                        origin=f"{environment.origin}, in place of the graph's scripted "
                               f"model{plural} {names}")  # fmt: skip
    if environment is not None:
        return environment
    return ModelSet({"default": offline_model()}, source="offline", notice=OFFLINE_NOTICE,
                    origin="nothing is configured")  # fmt: skip


def _from_environment(env: Mapping[str, str], cwd: Path | None) -> ModelSet | None:
    """The models the environment configures: OAI_CONFIG_LIST (variable, else a file in
    the working directory), else the OPENAI_* variables; ``None`` when it names none."""
    if env.get(CONFIG_LIST_FILE):
        configs = config_list_from_json(CONFIG_LIST_FILE, env=env, file_location=cwd)
        value = env[CONFIG_LIST_FILE].strip()
        where = "$OAI_CONFIG_LIST" if value.startswith(("[", "{")) else f"file {value}"
        if configs:
            return ModelSet({"default": configs}, source="oai_config_list",
                            origin=f"from OAI_CONFIG_LIST ({where})")  # fmt: skip
    else:
        path = (cwd or Path.cwd()) / CONFIG_LIST_FILE
        if path.is_file():
            configs = config_list_from_json(str(path), env={})
            if configs:
                return ModelSet({"default": configs}, source="oai_config_list",
                                origin=f"from OAI_CONFIG_LIST (file {path})")  # fmt: skip
    configs = config_list_from_env(env)
    if configs:
        return ModelSet({"default": configs}, source="env", origin=f"from {_ENV_NAMES}")
    return None


def _override(
    graph: ModelSet | None, model: str | None, base_url: str | None, env: Mapping[str, str]
) -> ModelSet:
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in
                     (("model", model), ("base_url", base_url)) if v)  # fmt: skip
    if graph is not None and model in graph.entries and not base_url:
        return ModelSet(graph.entries, default=model, source="override", origin=f"from {flags}")
    changes = {k: v for k, v in (("model", model), ("base_url", base_url)) if v}
    key_env = "OPENAI_API_KEY" if env.get("OPENAI_API_KEY") else None
    fresh_model = model or env.get("GRAPHFLOW_MODEL")
    entries: dict[str, ModelEntry] = {}
    for name, entry in (graph.entries if graph else {}).items():
        if entry.is_scripted:
            entries[name] = ModelEntry(configs=(_fresh(fresh_model, base_url, env, key_env),))
        else:
            configs = tuple(c.model_copy(update=changes) for c in entry.configs)
            entries[name] = ModelEntry(configs=configs, cache_seed=entry.cache_seed)
    if not entries:
        entries["default"] = ModelEntry(configs=(_fresh(fresh_model, base_url, env, key_env),))
    default = graph.default if graph else None
    return ModelSet(entries, default=default, source="override", origin=f"from {flags}")


def _fresh(
    model: str | None, base_url: str | None, env: Mapping[str, str], key_env: str | None
) -> ModelConfig:
    if not model:
        raise DefinitionError(
            [
                Problem(
                    "--base-url",
                    "no model to ask for",
                    "pass --model NAME too, or set GRAPHFLOW_MODEL",
                )
            ]
        )
    return ModelConfig(
        model=model, base_url=base_url or env.get("OPENAI_BASE_URL") or None, api_key_env=key_env
    )
