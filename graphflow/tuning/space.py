"""The search space: which inference settings are tried, and how a trial's settings are
drawn from it (by an Optuna trial, define-by-run).

A search space is a mapping (a YAML file or a dict), AutoGen's ``Completion.tune``
config keys:

.. code-block:: yaml

    model: [cheap, strong]            # candidate names; default: every model in the config list
    temperature: {low: 0, high: 1}    # a range, a list of choices, or one fixed value
    top_p: [0.5, 1.0]
    max_tokens: {low: 16, high: 512, log: true}
    n: [1, 3]                         # answers per instance (voted by built-in metrics)
    prompt:                           # user-message templates, {field} of each instance
      - "{question}"
      - "Answer with one word. {question}"
    system: "You are a careful assistant."   # optional system-message templates

When both ``temperature`` and ``top_p`` vary, a trial varies one of them (the other is
left to the endpoint), as AutoGen's ``temperature_or_top_p`` does and as OpenAI
advises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphflow.tuning.errors import TuningError

__all__ = ["Dimension", "SearchSpace", "TrialConfig", "load_search_space"]

_KEYS = ("model", "temperature", "top_p", "max_tokens", "n", "prompt", "system")
_BOUNDS: dict[str, tuple[float, float]] = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0),
                                           "max_tokens": (1, 1_000_000), "n": (1, 100)}  # fmt: skip


@dataclass(frozen=True)
class Dimension:
    """One setting: fixed (``value``), a choice among ``choices``, or a range."""

    name: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def varies(self) -> bool:
        """Whether a trial chooses this setting (more than one possible value)."""
        return self.low is not None or len(self.choices) > 1

    def suggest(self, trial: Any) -> Any:
        """Draw this setting's value from an Optuna trial."""
        if self.low is not None and self.high is not None:
            if self.integer:
                return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
            return trial.suggest_float(self.name, self.low, self.high, log=self.log)
        if len(self.choices) == 1:
            return self.choices[0]
        return trial.suggest_categorical(self.name, list(self.choices))

    def to_data(self) -> Any:
        """The JSON form (for the study's fingerprint)."""
        if self.low is not None:
            return {"low": self.low, "high": self.high, "log": self.log}
        return list(self.choices)


@dataclass(frozen=True)
class TrialConfig:
    """The settings of one trial.

    Attributes:
        model: the candidate's name.
        prompt, system: the templates (``system`` may be ``None``); ``prompt_index`` and
            ``system_index`` are their places in the search space's lists.
        n: answers asked per instance.
        params: request options (``temperature``, ``top_p``, ``max_tokens``).
    """

    model: str
    prompt: str
    prompt_index: int
    n: int = 1
    system: str | None = None
    system_index: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """E.g. ``model=cheap temperature=0.2 max_tokens=64 n=1 prompt#2``."""
        parts = [f"model={self.model}"]
        parts += [f"{k}={_short(v)}" for k, v in self.params.items()]
        parts.append(f"n={self.n}")
        parts.append(f"prompt#{self.prompt_index + 1}")
        if self.system_index is not None:
            parts.append(f"system#{self.system_index + 1}")
        return " ".join(parts)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class SearchSpace:
    """The settings a study searches over (see the module docs)."""

    model: Dimension
    prompts: tuple[str, ...]
    systems: tuple[str, ...] = ()
    temperature: Dimension | None = None
    top_p: Dimension | None = None
    max_tokens: Dimension | None = None
    n: Dimension = Dimension("n", (1,), integer=True)

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None, models: Sequence[str]) -> SearchSpace:
        """Read a search space; ``models`` are the candidates' names.

        Raises:
            TuningError: listing every problem: an unknown key, an unknown model, a value
                out of range, a missing prompt template.

        Example:
            >>> space = SearchSpace.from_data({"temperature": {"low": 0, "high": 1},
            ...                                "prompt": "{q}"}, ["a", "b"])
            >>> space.model.choices, space.temperature.varies
            (('a', 'b'), True)
        """
        data = dict(data or {})
        problems = [f"unknown key {key!r} (known: {', '.join(_KEYS)})" for key in data
                    if key not in _KEYS]  # fmt: skip
        model = _model(data.get("model"), models, problems)
        prompts = _templates(data.get("prompt"), "prompt", problems, required=True)
        systems = _templates(data.get("system"), "system", problems, required=False)
        numbers = {key: _number(key, data[key], problems)
                   for key in ("temperature", "top_p", "max_tokens", "n") if key in data}  # fmt: skip
        if problems:
            raise TuningError("search space: " + "; ".join(problems))
        return cls(model=model, prompts=prompts, systems=systems,
                   temperature=numbers.get("temperature"), top_p=numbers.get("top_p"),
                   max_tokens=numbers.get("max_tokens"),
                   n=numbers.get("n") or Dimension("n", (1,), integer=True))  # fmt: skip

    def dimensions(self) -> list[Dimension]:
        """Every setting that is not left to the endpoint."""
        return [d for d in (self.model, self.temperature, self.top_p, self.max_tokens, self.n)
                if d is not None]  # fmt: skip

    def size(self) -> int | None:
        """How many distinct configurations there are; ``None`` when a range varies."""
        total = len(self.prompts) * max(len(self.systems), 1)
        for dim in self.dimensions():
            if dim.low is not None:
                return None
            total *= len(dim.choices)
        if self._either():
            assert self.temperature is not None and self.top_p is not None
            total = total // len(self.top_p.choices) + total // len(self.temperature.choices)
        return total

    def grid(self) -> list[dict[str, Any]] | None:
        """Every configuration of a space without ranges, as the parameters an Optuna
        trial would hold (``None`` when a range varies), in a fixed order."""
        if self.size() is None:
            return None
        axes: list[list[dict[str, Any]]] = []
        if self._either():
            assert self.temperature is not None and self.top_p is not None
            axes.append([{"temperature_or_top_p": d.name, d.name: v}
                         for d in (self.temperature, self.top_p) for v in d.choices])  # fmt: skip
        else:
            axes += [[{d.name: v} for v in d.choices] for d in (self.temperature, self.top_p)
                     if d is not None and d.varies]  # fmt: skip
        axes += [[{d.name: v} for v in d.choices]
                 for d in (self.max_tokens, self.model, self.n) if d is not None and d.varies]  # fmt: skip
        for name, templates in (("prompt", self.prompts), ("system", self.systems)):
            if len(templates) > 1:
                axes.append([{name: index} for index in range(len(templates))])
        points: list[dict[str, Any]] = [{}]
        for axis in axes:
            points = [{**point, **choice} for point in points for choice in axis]
        return points

    def _either(self) -> bool:
        return bool(self.temperature and self.top_p and self.temperature.varies
                    and self.top_p.varies)  # fmt: skip

    def suggest(self, trial: Any) -> TrialConfig:
        """The settings of an Optuna trial, drawn from this space."""
        params: dict[str, Any] = {}
        sampling = [d for d in (self.temperature, self.top_p) if d is not None]
        if self._either():
            chosen = trial.suggest_categorical("temperature_or_top_p", ["temperature", "top_p"])
            sampling = [d for d in sampling if d.name == chosen]
        for dim in [*sampling, self.max_tokens]:
            if dim is not None:
                params[dim.name] = dim.suggest(trial)
        prompt_index = (trial.suggest_categorical("prompt", list(range(len(self.prompts))))
                        if len(self.prompts) > 1 else 0)  # fmt: skip
        system_index: int | None = None
        if self.systems:
            system_index = (trial.suggest_categorical("system", list(range(len(self.systems))))
                            if len(self.systems) > 1 else 0)  # fmt: skip
        return TrialConfig(
            model=str(self.model.suggest(trial)), prompt=self.prompts[prompt_index],
            prompt_index=prompt_index, n=int(self.n.suggest(trial)),
            system=None if system_index is None else self.systems[system_index],
            system_index=system_index, params=params,
        )  # fmt: skip

    def check_fields(self, data: Sequence[Mapping[str, Any]]) -> None:
        """Check, before anything is asked, that every template's placeholders are
        fields of every instance.

        Raises:
            TuningError: naming the template, the placeholder and the first instance
                without it.
        """
        from graphflow.models.template import template_fields

        for key, templates in (("prompt", self.prompts), ("system", self.systems)):
            for number, template in enumerate(templates, start=1):
                roots = {re.split(r"[.\[]", f)[0]: f for f in template_fields(template)}
                for index, instance in enumerate(data, start=1):
                    missing = [f for root, f in roots.items() if root not in instance]
                    if missing:
                        raise TuningError(
                            f"{key} template #{number} names {{{missing[0]}}}, which instance "
                            f"{index} does not have (its fields: {', '.join(instance) or 'none'}); "
                            "use the data's field names in {placeholders}")  # fmt: skip

    def to_data(self) -> dict[str, Any]:
        """The JSON form (for the study's fingerprint)."""
        out: dict[str, Any] = {d.name: d.to_data() for d in self.dimensions()}
        out["prompt"] = list(self.prompts)
        out["system"] = list(self.systems)
        return out


def _model(value: Any, models: Sequence[str], problems: list[str]) -> Dimension:
    if value is None:
        return Dimension("model", tuple(models))
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        problems.append("model: give a model name or a list of names")
        return Dimension("model", tuple(models))
    for name in names:
        if name not in models:
            problems.append(f"model: unknown model {name!r} (the config list has: "
                            f"{', '.join(models)}); add it to the config list or remove it")  # fmt: skip
    return Dimension("model", tuple(str(n) for n in names))


def _templates(value: Any, key: str, problems: list[str], *, required: bool) -> tuple[str, ...]:
    if value is None:
        if required:
            problems.append(f"{key}: missing; give a template or a list of templates with "
                            "{field} placeholders of the data, e.g. prompt: '{question}'")  # fmt: skip
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(t, str) for t in items):
        problems.append(f"{key}: give a template (text) or a list of templates")
        return ()
    from graphflow.errors import DefinitionError
    from graphflow.models.template import template_fields

    for index, text in enumerate(items):
        if not text.strip():
            problems.append(f"{key}[{index}]: the template is empty; write the request, with "
                            "{field} placeholders of the data")  # fmt: skip
            continue
        try:
            template_fields(text)
        except DefinitionError as exc:
            problems.append(f"{key}[{index}]: " + "; ".join(p.what for p in exc.problems))
    return tuple(items)


def _number(key: str, value: Any, problems: list[str]) -> Dimension | None:
    integer = key in ("max_tokens", "n")
    low_bound, high_bound = _BOUNDS[key]
    kind = "an integer" if integer else "a number"

    def check(number: Any) -> bool:
        if isinstance(number, bool) or not isinstance(number, (int, float)) or (
                integer and not float(number).is_integer()):  # fmt: skip
            problems.append(f"{key}: {number!r} is not {kind}")
            return False
        if not low_bound <= number <= high_bound:
            problems.append(f"{key}: {number!r} is out of range [{low_bound:g}, {high_bound:g}]")
            return False
        return True

    if isinstance(value, Mapping):
        unknown = set(value) - {"low", "high", "log"}
        if unknown or "low" not in value or "high" not in value:
            problems.append(f"{key}: a range is {{low: ..., high: ...}} (optionally log: true)")
            return None
        low, high, log = value["low"], value["high"], bool(value.get("log", False))
        if not (check(low) and check(high)):
            return None
        if low > high:
            problems.append(f"{key}: low {low} is above high {high}")
            return None
        if log and low <= 0:
            problems.append(f"{key}: a log range needs low > 0")
            return None
        if low == high:
            return Dimension(key, (int(low) if integer else float(low),), integer=integer)
        return Dimension(key, low=low, high=high, log=log, integer=integer)
    items = value if isinstance(value, list) else [value]
    if not items or not all(check(v) for v in items):
        if not items:
            problems.append(f"{key}: an empty list of choices")
        return None
    cast = [int(v) if integer else float(v) for v in items]
    return Dimension(key, tuple(dict.fromkeys(cast)), integer=integer)


def load_search_space(value: Mapping[str, Any] | str | Path | None) -> Mapping[str, Any] | None:
    """A search space given as a mapping, or read from a YAML/JSON file (a mapping, or a
    mapping with a ``search_space:`` mapping).

    Raises:
        TuningError: the file is missing, unreadable, or does not hold a mapping.
    """
    if value is None or isinstance(value, Mapping):
        return value
    path = Path(value)
    if not path.is_file():
        raise TuningError(f"search space file {path} does not exist")
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TuningError(f"search space file {path} is not readable YAML/JSON: {exc}") from None
    if isinstance(loaded, Mapping) and isinstance(loaded.get("search_space"), Mapping):
        loaded = loaded["search_space"]
    if not isinstance(loaded, Mapping):
        raise TuningError(f"search space file {path} must hold a mapping (model:, "
                          "temperature:, prompt: …)")  # fmt: skip
    return loaded
