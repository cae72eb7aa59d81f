"""Deciding which models a run uses: command-line options, the graph's ``models:``
section, AutoGen's ``OAI_CONFIG_LIST``, ``OPENAI_*`` environment variables, or, when
nothing is configured, the offline model (:mod:`graphflow.models.offline`), so every
graph runs without an API key.
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

__all__ = ["resolve_models"]


def resolve_models(
    section: Any = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> ModelSet:
    """Decide which models to use, most explicit first.

    1. ``model`` / ``base_url`` (command-line options): ``model`` naming an entry of the
       section makes it the default; otherwise they replace the model and/or endpoint of
       every config (a scripted section is replaced by that model).
    2. The graph's ``models:`` section.
    3. ``OAI_CONFIG_LIST`` in the environment (JSON, or a file path).
    4. ``GRAPHFLOW_MODEL`` / ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``.
    5. The offline model; the result's ``notice`` says so
       (:data:`~graphflow.models.offline.OFFLINE_NOTICE`).

    Raises:
        DefinitionError: the section or the config list is invalid, or ``base_url`` is
            given with no model to ask for.

    Example:
        >>> resolve_models(None, env={}).notice
        'no model configured: using the scripted offline model'
        >>> resolve_models({"model": "gpt-4o"}, model="gpt-4o-mini", env={}).configs()[0].model
        'gpt-4o-mini'
    """
    env = os.environ if env is None else env
    graph = load_models(section, base_dir=base_dir)
    if model or base_url:
        return _override(graph, model, base_url, env)
    if graph is not None:
        return graph
    if env.get("OAI_CONFIG_LIST"):
        configs = config_list_from_json("OAI_CONFIG_LIST", env=env, file_location=base_dir)
        if configs:
            return ModelSet({"default": configs}, source="oai_config_list")
    configs = config_list_from_env(env)
    if configs:
        return ModelSet({"default": configs}, source="env")
    return ModelSet({"default": offline_model()}, source="offline", notice=OFFLINE_NOTICE)


def _override(
    graph: ModelSet | None, model: str | None, base_url: str | None, env: Mapping[str, str]
) -> ModelSet:
    if graph is not None and model in graph.entries and not base_url:
        return ModelSet(graph.entries, default=model, source="override")
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
    return ModelSet(entries, default=default, source="override")


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
