"""AutoGen's model configuration: ``config_list_from_json`` and ``llm_config``.

``config_list_from_json`` returns AutoGen's plain dicts (a program may read
``config_list[0]["model"]``); an agent's ``llm_config`` (``{"config_list": [...],
"temperature": 0, "cache_seed": 42, ...}``) becomes a model entry of the chat's
:class:`~graphflow.models.ModelSet`, given to the run in Python, so API keys never reach
the graph or the run database.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphflow.errors import DefinitionError, Problem
from graphflow.models.config import ModelConfig, filter_configs
from graphflow.models.config_list import config_from_autogen
from graphflow.models.model_set import ModelEntry

__all__ = ["config_list_from_json", "llm_entry"]

#: llm_config keys that are not request options of every config.
_NOT_PARAMS = {"config_list", "cache_seed", "tools", "functions", "cache"}


def config_list_from_json(
    env_or_file: str = "OAI_CONFIG_LIST",
    file_location: str | None = "",
    filter_dict: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """AutoGen's ``config_list_from_json``: the JSON list in the environment variable
    ``env_or_file`` (its value is JSON text or a file path), else in the file of that
    name (in ``file_location``), filtered by ``filter_dict``.

    Returns:
        The configs as dicts, as AutoGen returns them.

    Raises:
        DefinitionError: nothing found under that name, or not a JSON list.

    Example:
        >>> os.environ["MY_CONFIGS"] = '[{"model": "gpt-4o", "tags": ["a"]}, {"model": "x"}]'
        >>> config_list_from_json("MY_CONFIGS", filter_dict={"tags": ["a"]})
        [{'model': 'gpt-4o', 'tags': ['a']}]
    """
    value = os.environ.get(env_or_file)
    if value is not None and value.strip().startswith(("[", "{")):
        text, where = value, f"${env_or_file}"
    else:
        path = Path(value) if value else Path(env_or_file)
        if file_location and not path.is_absolute():
            path = Path(file_location) / path
        if not path.is_file():
            raise DefinitionError([Problem(env_or_file, "no config list found (no environment "
                                           f"variable {env_or_file} and no file {str(path)!r})",
                                           f'create {path} holding [{{"model": "gpt-4o-mini"}}]')])  # fmt: skip
        text, where = path.read_text(encoding="utf-8"), str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError([Problem(where, f"not valid JSON: {exc.msg} at line {exc.lineno}")]
                              ) from None  # fmt: skip
    entries = [data] if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise DefinitionError([Problem(where, "expected a JSON list of model configs")])
    return [dict(e) for e in filter_configs(entries, filter_dict)]


def llm_entry(llm_config: Mapping[str, Any], where: str) -> ModelEntry:
    """The model entry of an agent's ``llm_config``: its ``config_list`` (tried in order,
    with fallback), each config given the top-level request options (``temperature`` …),
    and its ``cache_seed``.

    Raises:
        DefinitionError: no config list, or a config graphflow cannot call.
    """
    items: Sequence[Any] = llm_config.get("config_list") or []
    shared = {k: v for k, v in llm_config.items() if k not in _NOT_PARAMS}
    if not items and "model" in llm_config:
        items = [shared]
    if not items:
        raise DefinitionError([Problem(where, "llm_config has no config_list",
                                       'give it {"config_list": config_list}')])  # fmt: skip
    configs: list[ModelConfig] = []
    for index, item in enumerate(items):
        if isinstance(item, ModelConfig):
            configs.append(item)
            continue
        merged = {**shared, **dict(item)}
        params = {k: v for k, v in merged.items()
                  if k not in ModelConfig.model_fields and k not in ("api_type", "tags",
                                                                    "price", "azure_endpoint")}  # fmt: skip
        config = config_from_autogen(merged, where=f"{where}.config_list[{index}]")
        if params:
            config = config.model_copy(update={"params": {**config.params, **params}})
        configs.append(config)
    seed = llm_config.get("cache_seed", ...)
    return ModelEntry(configs=tuple(configs), cache_seed=seed)
