"""The models a run used, as recorded with the run, and reusing them when it resumes.

A run records, the first time one of its nodes needs a model, which models it got
(:func:`models_record`): per entry the model name, endpoint, provider kind, the variable
its key is read from — never a key — or that the entry is scripted; and where they came
from (``--model``, the graph, ``OAI_CONFIG_LIST`` …). When the run is resumed in another
process, :func:`reuse_recorded` rebuilds the same models, unless ``--model`` /
``--base-url`` override them, so a transcript never mixes two models silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphflow.models.config import ModelConfig
from graphflow.models.model_set import ModelEntry, ModelSet
from graphflow.models.offline import offline_model

__all__ = ["models_record", "record_lines", "recorded_overrides", "reuse_recorded",
           "with_overrides"]

_KEPT = ("model", "api_type", "api_version", "azure_deployment", "api_key_env")


def models_record(models: ModelSet) -> dict[str, Any]:
    """What to store with a run about ``models`` (JSON-ready, no keys).

    Example:
        >>> record = models_record(ModelSet({"default": [ModelConfig(model="m",
        ...     base_url="http://127.0.0.1:9/v1", api_key="sk-secret")]}))
        >>> record["entries"]["default"]
        {'kind': 'configs', 'configs': [{'model': 'm', 'base_url': 'http://127.0.0.1:9/v1', 'provider': 'openai-compatible'}]}
        >>> "sk-secret" in str(record)
        False
    """
    entries: dict[str, Any] = {}
    for name, entry in models.entries.items():
        entries[name] = _entry_record(entry)
    out: dict[str, Any] = {"source": models.source, "default": models.default, "entries": entries}
    if models.origin:
        out["origin"] = models.origin
    return out


def _entry_record(entry: ModelEntry) -> dict[str, Any]:
    instance = entry.instance
    configs = entry.configs or tuple(getattr(instance, "configs", ()) or ())
    if entry.is_scripted:
        out: dict[str, Any] = {"kind": "scripted"}
        name = getattr(instance, "name", None)
        if name:
            out["name"] = name
    elif configs and all(isinstance(c, ModelConfig) for c in configs):
        out = {"kind": "configs", "configs": [_config_record(c) for c in configs]}
    else:
        return {"kind": "python", "describe": entry.describe()}
    if instance is not None:
        out["python"] = type(instance).__name__
    if isinstance(entry.cache_seed, int) or entry.cache_seed is None:
        out["cache_seed"] = entry.cache_seed
    return out


def _config_record(config: ModelConfig) -> dict[str, Any]:
    data = {key: getattr(config, key) for key in _KEPT if getattr(config, key) is not None}
    if data.get("api_type") == "openai":
        del data["api_type"]
    return {"model": data.pop("model"), "base_url": config.url, "provider": config.provider,
            **data}  # fmt: skip


def with_overrides(record: Mapping[str, Any] | None, model: str | None,
                   base_url: str | None) -> dict[str, Any]:  # fmt: skip
    """``record`` (a run's, or none yet) with the ``--model`` / ``--base-url`` a run was
    given, so that resuming it without them keeps them.

    Example:
        >>> with_overrides(None, "m", None)
        {'overrides': {'model': 'm'}}
    """
    given = {k: v for k, v in (("model", model), ("base_url", base_url)) if v}
    return {**(record or {}), "overrides": given}


def recorded_overrides(record: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """The ``(model, base_url)`` overrides a run recorded (``(None, None)`` if none)."""
    given = (record or {}).get("overrides") or {}
    return given.get("model"), given.get("base_url")


def record_lines(record: Mapping[str, Any]) -> list[str]:
    """One line per entry of a stored record, e.g. ``default: gpt-4o at https://…``.

    Example:
        >>> record_lines({"default": "a", "entries": {"a": {"kind": "scripted"}}})
        ['a (default): scripted model']
    """
    out = []
    for name, item in (record.get("entries") or {}).items():
        if item.get("kind") == "configs":
            what = " → ".join(f"{c.get('model')} at {c.get('base_url')}"
                              for c in item.get("configs") or ())  # fmt: skip
        elif item.get("kind") == "scripted":
            what = "scripted model"
        else:
            what = str(item.get("describe") or "a model given in Python")
        default = " (default)" if name == record.get("default") else ""
        out.append(f"{name}{default}: {what}")
    return out


def reuse_recorded(record: Mapping[str, Any], fresh: ModelSet,
                   graph: ModelSet | None) -> ModelSet | None:  # fmt: skip
    """The models recorded with a run, rebuilt for its resumption, or ``None`` when they
    cannot be (a model object given in Python that is not given again).

    A recorded config that the current configuration (``fresh``) or the graph still
    has is taken from there, with its options and key; otherwise it is rebuilt from the
    record (model, endpoint, the key's variable). A scripted entry is the graph's entry
    of that name (the offline model for a run that had none).
    """
    entries: dict[str, ModelEntry] = {}
    known = [c for s in (fresh, graph) if s is not None for e in s.entries.values()
             for c in e.configs]  # fmt: skip
    for name, item in (record.get("entries") or {}).items():
        kind = item.get("kind")
        seed = item.get("cache_seed", ...)
        if kind == "configs":
            configs = tuple(_config(c, known) for c in item.get("configs") or ())
            if not configs:
                return None
            entries[name] = ModelEntry(configs=configs, cache_seed=seed)
        elif kind == "scripted":
            found = _scripted(name, item, record, fresh, graph)
            if found is None:
                return None
            entries[name] = found
        else:
            return None
    if not entries:
        return None
    default = record.get("default")
    return ModelSet(entries, default=default if default in entries else None,
                    source="recorded", origin="recorded with the run")  # fmt: skip


def _config(data: Mapping[str, Any], known: list[ModelConfig]) -> ModelConfig:
    for config in known:
        if (config.model, config.url) == (data.get("model"), data.get("base_url")):
            return config
    values = {k: data[k] for k in _KEPT if data.get(k) is not None}
    return ModelConfig(base_url=data.get("base_url"), **values)


def _scripted(name: str, item: Mapping[str, Any], record: Mapping[str, Any], fresh: ModelSet,
              graph: ModelSet | None) -> ModelEntry | None:  # fmt: skip
    if record.get("source") == "offline":
        return ModelEntry(instance=offline_model())
    for models in (graph, fresh):
        entry = models.entries.get(name) if models is not None else None
        if entry is not None and entry.is_scripted and entry.scripted is not None:
            return entry
    return None
