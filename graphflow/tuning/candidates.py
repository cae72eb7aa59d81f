"""The models a tuning run chooses from: the config list, read from Python values, a
graph file's ``models:`` section or an OAI_CONFIG_LIST file.

Each *candidate* has a name (what the search space's ``model:`` lists and what the
result reports) and a config list (tried in order, with fallback, as an agent's model
entry is). A flat config list gives one candidate per config, named by its model; a
``models:`` section with named entries gives one per entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphflow.errors import DefinitionError, ModelError
from graphflow.models.config import ModelConfig
from graphflow.tuning.errors import TuningError

__all__ = ["Candidate", "check_keys", "load_candidates"]


@dataclass(frozen=True)
class Candidate:
    """A model the search may choose: a name and its config list."""

    name: str
    configs: tuple[ModelConfig, ...]

    def describe(self) -> str:
        """E.g. ``gpt-4o-mini at https://api.openai.com/v1``."""
        return " → ".join(c.endpoint for c in self.configs)


def check_keys(candidates: Mapping[str, Candidate]) -> None:
    """Refuse a model none of whose configs has its API key (OpenAI's endpoint with no
    ``OPENAI_API_KEY``, an ``api_key_env`` that is not set): every trial with it would
    fail, so it is bad input, found before any trial is asked.

    Raises:
        TuningError: naming each such model and how to give its key.
    """
    problems = []
    for name, candidate in candidates.items():
        reasons = []
        for config in candidate.configs:
            try:
                config.resolve_key()
            except ModelError as exc:
                reasons.append(str(exc))
            else:
                break
        else:
            problems.append(f"model {name}: {'; '.join(reasons)}")
    if problems:
        raise TuningError("; ".join(problems) + "; every trial of such a model would fail (give "
                          "its key, or leave it out of the search space's model:)")  # fmt: skip


ConfigListLike = (str | Path | ModelConfig | Mapping[str, Any]
                  | Sequence[ModelConfig | Mapping[str, Any]])  # fmt: skip


def load_candidates(config_list: ConfigListLike) -> dict[str, Candidate]:
    """The candidates of ``config_list``, by name, in order.

    Args:
        config_list: a list of :class:`~graphflow.models.ModelConfig` or dicts (AutoGen's
            config list); a ``models:`` section (one config, a list, or named entries);
            or the path of a YAML/JSON file holding a graph (its ``models:`` section), a
            ``models:`` section, or an OAI_CONFIG_LIST list.

    Raises:
        TuningError: the file is missing or unreadable, the section is invalid (every
            problem listed), an entry is scripted (tuning needs endpoints), or there is
            no model.

    Example:
        >>> sorted(load_candidates([{"model": "a"}, {"model": "b"}]))
        ['a', 'b']
        >>> list(load_candidates({"fast": {"model": "a"}, "good": [{"model": "b"}, {"model": "c"}]}))
        ['fast', 'good']
    """
    base_dir: Path | None = None
    where = "config list"
    if isinstance(config_list, (str, Path)):
        path = Path(config_list)
        config_list, base_dir, where = _read(path), path.parent, str(path)
    if isinstance(config_list, ModelConfig):
        config_list = [config_list]
    if isinstance(config_list, Sequence) and not isinstance(config_list, str):
        items = list(config_list)
        if not items:
            raise TuningError(f"{where} is empty; list at least one model config")
        return _flat(items, where)
    if isinstance(config_list, Mapping):
        return _section(config_list, base_dir, where)
    raise TuningError(f"{where}: expected a config list, a models: section or a file, got "
                      f"{type(config_list).__name__}")  # fmt: skip


def _read(path: Path) -> Any:
    if not path.is_file():
        raise TuningError(f"model config file {path} does not exist; give a graph file with "
                          "models:, a models: section in YAML, or an OAI_CONFIG_LIST JSON file")  # fmt: skip
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TuningError(f"cannot read the model config file {path}: {exc}") from None
    try:
        if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise TuningError(f"model config file {path} is not valid YAML/JSON: {exc}") from None
    if isinstance(data, Mapping) and "models" in data:
        data = data["models"]
    if data is None:
        raise TuningError(f"model config file {path} names no model; add a models: section")
    return data


def _flat(items: list[Any], where: str) -> dict[str, Candidate]:
    from graphflow.models.config_list import config_from_autogen

    configs: list[ModelConfig] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        place = f"{where}[{index}]"
        if isinstance(item, ModelConfig):
            configs.append(item)
        elif isinstance(item, Mapping):
            try:
                configs.append(config_from_autogen(item, where=place))
            except DefinitionError as exc:
                problems.extend(str(p) for p in exc.problems)
        else:
            problems.append(f"{place}: a {type(item).__name__}, not a model config")
    if problems:
        raise TuningError("the config list is invalid: " + "; ".join(problems))
    out: dict[str, Candidate] = {}
    for config in configs:
        name = config.model
        if name in out:
            name = f"{config.model}@{config.url}"
        number = 2
        while name in out:
            name, number = f"{config.model}#{number}", number + 1
        out[name] = Candidate(name, (config,))
    return out


def _section(section: Mapping[str, Any], base_dir: Path | None, where: str) -> dict[str, Candidate]:
    from graphflow.models.model_set import load_models

    try:
        models = load_models(dict(section), base_dir=base_dir)
    except DefinitionError as exc:
        raise TuningError(f"{where}: " + "; ".join(str(p) for p in exc.problems)) from None
    if models is None:
        raise TuningError(f"{where} names no model; add at least one config")
    out: dict[str, Candidate] = {}
    seen: set[int] = set()
    for name in models.names:
        entry = models.entry(name)
        if id(entry) in seen:  # an alias of an entry listed already
            continue
        seen.add(id(entry))
        if entry.is_scripted or not entry.configs:
            raise TuningError(f"{where}: model entry {name!r} is scripted; tuning compares "
                              "endpoints, so give it a model: (and base_url:) or leave it out")  # fmt: skip
        out[name] = Candidate(name, tuple(entry.configs))
    return out
