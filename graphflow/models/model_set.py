"""A graph's models: named entries, each a config list (tried in order) or a scripted
model, read from the ``models:`` section of a graph file or built in Python.

The section takes any of these forms::

    models: {model: gpt-4o-mini, temperature: 0}          # one config
    models: [{model: gpt-4o}, {model: gpt-4o-mini}]        # a config list (fallback order)
    models:                                                # named entries; a node says
      default: {model: gpt-4o, cache_seed: 7}              #   model: cheap
      cheap: [{model: gpt-4o-mini}, {model: llama3, base_url: http://localhost:11434/v1}]
      azure: {config_list: [...], temperature: 0}          # AutoGen llm_config style
      team: {oai_config_list: OAI_CONFIG_LIST, filter: {tags: [gpt4]}}
      offline: {scripted: {replies: [Hello!, TERMINATE]}}  # or scripted: replies.yaml
      fast: cheap                                          # an alias
    models: {scripted: [Hello!, TERMINATE]}                # one scripted model

An entry's ``cache_seed`` sets its default cache seed (``null`` turns caching off).
The first entry (or the one named ``default``) is the default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType
from typing import Any, cast

from pydantic import ValidationError

from graphflow.errors import DefinitionError, Problem
from graphflow.models.cache import ResponseCache
from graphflow.models.client import DEFAULT_CACHE_SEED, ModelClient
from graphflow.models.config import ModelConfig
from graphflow.models.config_list import config_list_from_json
from graphflow.models.response import ChatModel
from graphflow.models.retry import RetryPolicy
from graphflow.models.scripted_model import ScriptedModel
from graphflow.models.usage import Budget

__all__ = ["ModelEntry", "ModelSet", "load_models"]

_CONFIG_KEYS = set(ModelConfig.model_fields)
_ENTRY_KEYS = _CONFIG_KEYS | {"scripted", "oai_config_list", "filter", "config_list", "cache_seed"}
_MARKERS = {"model", "scripted", "oai_config_list", "config_list"}


@dataclass(frozen=True)
class ModelEntry:
    """One named choice: a config list, scripted-model data from a graph file, or a
    ready model object given in Python (a ScriptedModel, a ModelClient, any ChatModel)."""

    configs: tuple[ModelConfig, ...] = ()
    scripted: Any = None
    base_dir: Path | None = None
    cache_seed: int | EllipsisType | None = ...
    instance: Any = None

    @property
    def is_scripted(self) -> bool:
        """Whether the entry answers from a script (no endpoint is asked)."""
        return self.scripted is not None or isinstance(self.instance, ScriptedModel)

    def describe(self) -> str:
        """E.g. ``gpt-4o at https://api.openai.com/v1 → llama3 at http://…``."""
        if self.instance is not None:
            return repr(self.instance)
        if self.is_scripted:
            return "scripted model"
        return " → ".join(c.endpoint for c in self.configs)


class ModelSet:
    """Named model entries with a default, and where they came from.

    Attributes:
        source: ``graph``, ``python``, ``override`` (command-line options),
            ``recorded`` (what a resumed run used), ``oai_config_list``, ``env`` or
            ``offline``.
        origin: where they came from, for people (``from --model``, ``from
            OAI_CONFIG_LIST (file ./OAI_CONFIG_LIST) in place of the graph's scripted
            entries`` …); ``None`` when not said.
        notice: a line to show the user (the offline fallback; a resumed run whose
            models differ from what the configuration now gives).

    Example:
        >>> models = ModelSet({"default": [ModelConfig(model="gpt-4o")],
        ...                    "offline": ScriptedModel(["hi"])})
        >>> models.names, models.default, models.is_scripted("offline")
        (['default', 'offline'], 'default', True)
    """

    def __init__(
        self,
        entries: Mapping[str, ModelEntry | Sequence[ModelConfig] | ModelConfig | ChatModel],
        *,
        default: str | None = None,
        source: str = "python",
        notice: str | None = None,
        origin: str | None = None,
    ) -> None:
        self.entries: dict[str, ModelEntry] = {
            name: _entry(value) for name, value in entries.items()
        }
        if not self.entries:
            raise DefinitionError([Problem("models", "no models given")])
        self.default = default or (
            "default" if "default" in self.entries else next(iter(self.entries))
        )
        if self.default not in self.entries:
            raise DefinitionError(
                [Problem("models", f"default model {self.default!r} is not defined")]
            )
        self.source = source
        self.notice = notice
        self.origin = origin

    def __repr__(self) -> str:
        return f"ModelSet({self.names}, default={self.default!r}, source={self.source!r})"

    @property
    def names(self) -> list[str]:
        """The entry names, in order."""
        return list(self.entries)

    @property
    def offline(self) -> bool:
        """True when no model was configured and the scripted offline model stands in."""
        return self.source == "offline"

    def entry(self, ref: str | None = None, *, where: str = "model") -> ModelEntry:
        """The entry named ``ref`` (``None``: the default).

        Raises:
            DefinitionError: no such entry; the message lists the defined names.
        """
        name = ref or self.default
        if name not in self.entries:
            raise DefinitionError(
                [
                    Problem(
                        where,
                        f"unknown model {name!r} (defined: {', '.join(self.names)})",
                        "add it under models: or use one of the defined names",
                    )
                ]
            )
        return self.entries[name]

    def is_scripted(self, ref: str | None = None) -> bool:
        """Whether entry ``ref`` is a scripted model."""
        return self.entry(ref).is_scripted

    def configs(self, ref: str | None = None) -> list[ModelConfig]:
        """The config list of entry ``ref`` (empty for a scripted entry)."""
        return list(self.entry(ref).configs)

    def problems(self, ref: Any, *, where: str = "model") -> list[Problem]:
        """Problems with a node's ``model:`` option (a name, or an inline entry), for
        compile-time checks; empty when it is fine."""
        try:
            self._pick(ref, where=where)
        except DefinitionError as exc:
            return exc.problems
        return []

    def _pick(self, ref: Any, *, where: str) -> ModelEntry:
        if ref is None or isinstance(ref, str):
            return self.entry(ref, where=where)
        return _parse_entry(ref, where, None, {})

    def create(
        self,
        ref: Any = None,
        *,
        cache: ResponseCache | None = None,
        cache_seed: int | EllipsisType | None = ...,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        where: str = "model",
    ) -> ChatModel:
        """A model for entry ``ref``: a name, ``None`` (the default), or an inline entry
        (a config mapping or list, as a node may give under ``model:``).

        Config entries give a new :class:`ModelClient`; scripted data gives a new
        :class:`ScriptedModel` (so each run starts its script afresh); a model object
        given in Python (ScriptedModel, ModelClient …) is returned as is. The cache seed is ``cache_seed`` if
        given, else the entry's ``cache_seed``, else 41 (scripted data: no caching).
        """
        entry = self._pick(ref, where=where)
        seed = cache_seed if cache_seed is not ... else entry.cache_seed
        if entry.instance is not None:
            return cast("ChatModel", entry.instance)
        if entry.is_scripted:
            model = ScriptedModel.from_data(entry.scripted, base_dir=entry.base_dir, where=where)
            named = isinstance(entry.scripted, Mapping) and "name" in entry.scripted
            entry_name = ref if isinstance(ref, str) else (self.default if ref is None else None)
            if not named and entry_name:
                # usage then says which entry answered, so a continued run can find its place
                model.name = f"scripted:{entry_name}"
            if seed is not ... and seed is not None and cache is not None:
                model.cache, model.cache_seed = cache, seed
            return model
        return ModelClient(
            list(entry.configs),
            cache=cache,
            cache_seed=DEFAULT_CACHE_SEED if seed is ... else seed,
            retry=retry,
            budget=budget,
        )

    def describe(self) -> list[str]:
        """One line per entry, for the command line (the default one marked when there
        are several)."""
        several = len(self.entries) > 1
        return [
            f"{name}{' (default)' if several and name == self.default else ''}: "
            f"{entry.describe()}"
            for name, entry in self.entries.items()
        ]

    def summary(self) -> str:
        """One line saying which models these are and where they came from, e.g.
        ``models: default: gpt-4o at https://api.openai.com/v1 (from the graph)``."""
        where = f" ({self.origin})" if self.origin else ""
        return "models: " + "; ".join(self.describe()) + where


def _entry(value: Any) -> ModelEntry:
    if isinstance(value, ModelEntry):
        return value
    if isinstance(value, ModelConfig):
        return ModelEntry(configs=(value,))
    if isinstance(value, ChatModel):
        return ModelEntry(instance=value)
    if isinstance(value, Sequence) and value and all(isinstance(c, ModelConfig) for c in value):
        return ModelEntry(configs=tuple(value))
    raise DefinitionError(
        [
            Problem(
                "models",
                f"expected ModelConfig(s) or a model object with complete(), "
                f"got {type(value).__name__}",
            )
        ]
    )


def load_models(
    section: Any, *, base_dir: Path | None = None, where: str = "models"
) -> ModelSet | None:
    """Read a graph file's ``models:`` section (see the module docs); ``None`` when empty.

    Raises:
        DefinitionError: listing every problem, each with its place (``models.cheap[1]``).

    Example:
        >>> models = load_models({"default": {"model": "gpt-4o"}, "cheap": [{"model": "a"}, {"model": "b"}]})
        >>> [c.model for c in models.configs("cheap")]
        ['a', 'b']
    """
    if section is None or (isinstance(section, (list, dict)) and not section):
        return None
    raw: dict[str, Any]
    if isinstance(section, list) or (isinstance(section, Mapping) and _is_single(section)):
        raw = {"default": section}
    elif isinstance(section, Mapping):
        raw = dict(section)
    else:
        raise DefinitionError(
            [
                Problem(
                    where,
                    f"expected a mapping or a list, got {type(section).__name__}",
                    "write models: {model: gpt-4o-mini} or a list of such configs",
                )
            ]
        )
    problems: list[Problem] = []
    entries: dict[str, ModelEntry] = {}
    aliases = {str(k): v for k, v in raw.items() if isinstance(v, str)}
    for name, value in raw.items():
        if isinstance(value, str):
            continue
        try:
            entries[str(name)] = _parse_entry(value, f"{where}.{name}", base_dir, {})
        except DefinitionError as exc:
            problems.extend(exc.problems)
    for name, target in aliases.items():
        seen = {name}
        while target in aliases and target not in seen:
            seen.add(target)
            target = aliases[target]
        if target in entries:
            entries[name] = entries[target]
        elif name == "default" and target not in raw:
            problems.append(Problem(f"{where}.default", f"names {target!r}, which is not defined"))
        elif target in seen:
            problems.append(Problem(f"{where}.{name}", "aliases form a cycle"))
        elif target not in raw:
            problems.append(
                Problem(f"{where}.{name}", f"alias of {target!r}, which is not defined")
            )
    if problems:
        raise DefinitionError(problems)
    return ModelSet(entries, source="graph")


def _is_single(section: Mapping[str, Any]) -> bool:
    keys = set(section)
    return bool(keys & _MARKERS) and keys <= _ENTRY_KEYS


def _parse_entry(
    value: Any, where: str, base_dir: Path | None, shared: Mapping[str, Any]
) -> ModelEntry:
    if isinstance(value, list):
        if not value:
            raise DefinitionError([Problem(where, "an empty config list")])
        return ModelEntry(configs=_configs(value, where, shared))
    if not isinstance(value, Mapping):
        raise DefinitionError(
            [Problem(where, f"expected a model config, a list of them, or a name; got {value!r}")]
        )
    unknown = set(value) - _ENTRY_KEYS
    if unknown:
        raise DefinitionError(
            [
                Problem(
                    where,
                    f"unknown keys {sorted(unknown)}",
                    f"a model entry takes {sorted(_ENTRY_KEYS)}",
                )
            ]
        )
    seed: int | EllipsisType | None = value.get("cache_seed", ...)
    if seed is not ... and seed is not None and not isinstance(seed, int):
        raise DefinitionError([Problem(f"{where}.cache_seed", "must be an integer or null")])
    rest = {k: v for k, v in value.items() if k != "cache_seed"}
    if "scripted" in rest:
        if set(rest) != {"scripted"}:
            raise DefinitionError(
                [Problem(where, "scripted: takes no other keys besides cache_seed")]
            )
        ScriptedModel.from_data(rest["scripted"], base_dir=base_dir, where=f"{where}.scripted")
        return ModelEntry(scripted=rest["scripted"], base_dir=base_dir, cache_seed=seed)
    if "oai_config_list" in rest:
        configs = config_list_from_json(
            str(rest["oai_config_list"]), file_location=base_dir, filter_dict=rest.get("filter")
        )
        if not configs:
            raise DefinitionError([Problem(where, "the filter left no configs of the list")])
        return ModelEntry(configs=tuple(configs), cache_seed=seed)
    if "config_list" in rest:
        inner = rest.pop("config_list")
        if not isinstance(inner, list) or not inner:
            raise DefinitionError([Problem(f"{where}.config_list", "must be a non-empty list")])
        return ModelEntry(configs=_configs(inner, f"{where}.config_list", rest), cache_seed=seed)
    return ModelEntry(configs=_configs([rest], where, shared, single=True), cache_seed=seed)


def _configs(
    items: list[Any], where: str, shared: Mapping[str, Any], *, single: bool = False
) -> tuple[ModelConfig, ...]:
    problems: list[Problem] = []
    out: list[ModelConfig] = []
    for index, item in enumerate(items):
        place = where if single else f"{where}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(place, f"expected a model config mapping, got {item!r}"))
            continue
        try:
            out.append(ModelConfig.model_validate({**shared, **item}))
        except ValidationError as exc:
            for error in exc.errors():
                loc = ".".join(str(p) for p in error["loc"])
                problems.append(Problem(f"{place}.{loc}" if loc else place, error["msg"]))
    if problems:
        raise DefinitionError(problems)
    return tuple(out)
