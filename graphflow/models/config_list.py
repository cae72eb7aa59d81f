"""Model configs from AutoGen's OAI_CONFIG_LIST and from plain environment variables.

``OAI_CONFIG_LIST`` is either an environment variable holding a JSON list of configs, or
the path of a JSON file with that list (AutoGen's ``config_list_from_json`` rule: the
variable's value is tried as JSON first, then as a file path; with no variable, a file of
that name is looked for). Entries use AutoGen's keys (``model``, ``api_key``,
``base_url``, ``api_type``, ``api_version``, ``tags``, ``price``); keys graphflow does not
use are ignored, since the file is shared with other tools.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from graphflow.errors import DefinitionError, Problem
from graphflow.models.config import ModelConfig, filter_configs

__all__ = ["config_from_autogen", "config_list_from_env", "config_list_from_json"]

_KEPT = {
    "model",
    "base_url",
    "api_key",
    "api_key_env",
    "api_type",
    "api_version",
    "azure_deployment",
    "temperature",
    "max_tokens",
    "params",
    "price",
    "timeout",
    "max_retries",
    "tags",
}
_OPENAI_COMPATIBLE = {"openai", "azure", "ollama", "vllm", "lmstudio", "llamacpp", "together"}
_OLLAMA_URL = "http://localhost:11434/v1"


def config_from_autogen(entry: Mapping[str, Any], *, where: str = "OAI_CONFIG_LIST") -> ModelConfig:
    """Convert one AutoGen config-list entry to a :class:`ModelConfig`.

    Raises:
        DefinitionError: the entry has no model, an API type that is not OpenAI-compatible,
            or invalid values.

    Example:
        >>> config_from_autogen({"model": "llama3", "api_type": "ollama"}).base_url
        'http://localhost:11434/v1'
    """
    if not isinstance(entry, Mapping):
        raise DefinitionError([Problem(where, f"expected a mapping, got {type(entry).__name__}")])
    data = {k: v for k, v in entry.items() if k in _KEPT}
    api_type = str(data.get("api_type") or "openai").lower()
    if api_type not in _OPENAI_COMPATIBLE:
        raise DefinitionError(
            [
                Problem(
                    where,
                    f"api_type {api_type!r} is not an OpenAI-compatible API",
                    "graphflow speaks the OpenAI chat API; point base_url at an "
                    "OpenAI-compatible endpoint, or filter this entry out with filter_dict",
                )
            ]
        )
    if api_type == "ollama":
        data.setdefault("base_url", entry.get("client_host") or _OLLAMA_URL)
    if "azure_endpoint" in entry and "base_url" not in data:
        data["base_url"] = entry["azure_endpoint"]
    data["api_type"] = "azure" if api_type == "azure" else "openai"
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(
            [Problem(f"{where}: {_loc(e['loc'])}", e["msg"]) for e in exc.errors()]
        ) from None


def config_list_from_json(
    env_or_file: str = "OAI_CONFIG_LIST",
    *,
    file_location: str | Path | None = None,
    filter_dict: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[ModelConfig]:
    """Load an AutoGen config list from an environment variable or a JSON file.

    ``env_or_file`` is an environment variable name (its value is JSON text, or a file
    path) or a file name (looked up in ``file_location`` or the current directory).
    ``filter_dict`` keeps only matching entries (see :func:`filter_configs`); it is
    applied before conversion, so entries of other API types can be filtered away.

    Raises:
        DefinitionError: nothing found under that name, bad JSON, or bad entries.

    Example:
        >>> configs = config_list_from_json(
        ...     "MY_LIST", env={"MY_LIST": '[{"model": "a"}, {"model": "b", "tags": ["x"]}]'},
        ...     filter_dict={"tags": ["x"]})
        >>> [c.model for c in configs]
        ['b']
    """
    env = os.environ if env is None else env
    where = env_or_file
    value = env.get(env_or_file)
    if value is not None and value.strip().startswith(("[", "{")):
        text, where = value, f"${env_or_file}"
    else:
        path = Path(value) if value else Path(env_or_file)
        if file_location is not None and not path.is_absolute():
            path = Path(file_location) / path
        if not path.is_file():
            raise DefinitionError(
                [
                    Problem(
                        env_or_file,
                        f"no config list found (no environment variable {env_or_file} "
                        f"holding JSON, and no file {str(path)!r})",
                        f'export {env_or_file}=\'[{{"model": "gpt-4o-mini"}}]\' or '
                        "create that JSON file",
                    )
                ]
            )
        text, where = path.read_text(encoding="utf-8"), str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            [Problem(where, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from None
    entries = [data] if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise DefinitionError([Problem(where, "expected a JSON list of model configs")])
    problems: list[Problem] = []
    configs: list[ModelConfig] = []
    for index, entry in enumerate(filter_configs(entries, filter_dict)):
        try:
            configs.append(config_from_autogen(entry, where=f"{where}[{index}]"))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DefinitionError(problems)
    return configs


def config_list_from_env(env: Mapping[str, str] | None = None) -> list[ModelConfig]:
    """A one-entry config list from ``GRAPHFLOW_MODEL``, ``OPENAI_BASE_URL`` and
    ``OPENAI_API_KEY``, or ``[]`` when none of them is set.

    The model defaults to ``gpt-4o-mini`` when only a key or a base URL is given. The key
    itself is not copied: the config names the variable and reads it per request.

    Example:
        >>> [c.model for c in config_list_from_env({"GRAPHFLOW_MODEL": "llama3",
        ...     "OPENAI_BASE_URL": "http://localhost:11434/v1"})]
        ['llama3']
        >>> config_list_from_env({})
        []
    """
    env = os.environ if env is None else env
    model = env.get("GRAPHFLOW_MODEL")
    base_url = env.get("OPENAI_BASE_URL")
    has_key = bool(env.get("OPENAI_API_KEY"))
    if not (model or base_url or has_key):
        return []
    return [
        ModelConfig(
            model=model or "gpt-4o-mini",
            base_url=base_url or None,
            api_key_env="OPENAI_API_KEY" if has_key else None,
        )
    ]


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "config"
