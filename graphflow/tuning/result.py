"""What tuning found: each trial's settings, score and cost, the best configuration, and
that configuration written as a graph file's ``models:`` section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphflow.tuning.candidates import Candidate
from graphflow.tuning.errors import TuningError
from graphflow.tuning.space import TrialConfig

__all__ = ["TrialResult", "TuneResult"]


@dataclass(frozen=True)
class TrialResult:
    """One trial of a study.

    Attributes:
        number: the trial's number in the study, from 0.
        config: its settings.
        state: ``complete`` (scored on every instance, within the inference budget),
            ``over_budget`` (stopped: its mean cost per instance is above the inference
            budget), ``stopped`` (the optimization budget ran out during it), ``failed``
            (the model could not answer, or it was interrupted) or ``duplicate`` (the
            same settings as an earlier trial, not asked again).
        value: the mean of the optimized metric (``None`` when nothing was scored).
        metrics: the mean of every number the metric returned.
        instances: instances scored.
        cost_per_instance: mean inference cost per instance, US dollars.
        spend: US dollars billed for this trial (cache hits cost nothing).
        reason: why it is not ``complete``.
        retried: a failed trial that is asked again (it was interrupted, or the metric
            or a template failed on it); it does not count as evaluated.
    """

    number: int
    config: TrialConfig
    state: str
    value: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    instances: int = 0
    cost_per_instance: float = 0.0
    spend: float = 0.0
    reason: str | None = None
    retried: bool = False

    def describe(self, metric: str = "score") -> str:
        """One line for progress output, e.g. ``trial 3: model=good temperature=0.2 n=1
        prompt#2 → success 1 on 8 instances, $0.000038/instance, billed $0.000304``."""
        head = f"trial {self.number}: {self.config.describe()}"
        if self.state == "duplicate":
            return f"{head} → {self.reason}"
        score = f"{metric} -" if self.value is None else f"{metric} {self.value:.4g}"
        text = (f"{head} → {score} on {self.instances} instances, "
                f"${self.cost_per_instance:.6f}/instance, billed ${self.spend:.6f}")  # fmt: skip
        return text if self.state == "complete" else f"{text} [{self.state}: {self.reason}]"


@dataclass(frozen=True)
class TuneResult:
    """The outcome of :func:`~graphflow.tuning.tune`.

    Attributes:
        best: the best complete trial (ties go to the cheaper one), ``None`` when no
            trial completed within the inference budget.
        trials: every trial of the study, this session's and earlier ones'.
        spend: US dollars billed by the whole study.
        metric: the name of the optimized number; ``mode``: ``max`` or ``min``.
        stop_reason: why the search ended.
        study: the study's SQLite file (``None`` for a study kept in memory).
    """

    best: TrialResult | None
    trials: tuple[TrialResult, ...]
    spend: float
    metric: str
    mode: str
    stop_reason: str
    candidates: Mapping[str, Candidate]
    study: Path | None = None

    @property
    def evaluated(self) -> int:
        """How many trials were evaluated (duplicates and interrupted ones left out)."""
        return sum(1 for t in self.trials if t.state in ("complete", "over_budget", "failed")
                   and not t.retried)  # fmt: skip

    @property
    def config(self) -> dict[str, Any] | None:
        """The best settings in AutoGen's shape: ``model``, the request options,
        ``prompt`` (and ``system``), ``n``; ``None`` without a best trial."""
        if self.best is None:
            return None
        chosen = self.best.config
        out: dict[str, Any] = {"model": chosen.model, **chosen.params, "n": chosen.n,
                               "prompt": chosen.prompt}  # fmt: skip
        if chosen.system is not None:
            out["system"] = chosen.system
        return out

    def models_section(self, name: str = "default") -> dict[str, list[dict[str, Any]]]:
        """The best model with its tuned options as a ``models:`` section with one entry,
        ``name``: the candidate's config list, each config carrying the tuned
        ``temperature``, ``max_tokens`` and ``params.top_p``. Literal API keys are left
        out.

        Raises:
            ValueError: there is no best trial.
        """
        if self.best is None:
            raise ValueError("no trial completed within the budget: there is no best "
                             "configuration to write")  # fmt: skip
        chosen = self.best.config
        configs = []
        for config in self.candidates[chosen.model].configs:
            data = config.model_dump(mode="json", exclude_defaults=True)
            params = dict(data.get("params") or {})
            for key, value in chosen.params.items():
                if key in ("temperature", "max_tokens"):
                    data[key] = value
                else:
                    params[key] = value
            if params:
                data["params"] = params
            data.pop("api_key", None)
            configs.append(data)
        return {name: configs}

    def to_yaml(self, name: str = "default") -> str:
        """The best configuration as a YAML file: a ``models:`` section ready to paste
        into a graph file, headed by comments giving the score, the cost, and the tuned
        prompt template and ``n`` (which belong to the agent, not the model entry)."""
        import yaml

        section = self.models_section(name)  # raises ValueError without a best trial
        best = self.best
        assert best is not None and best.value is not None
        chosen = best.config
        lines = [
            f"# tuned: {self.metric} {best.value:.4g} ({self.mode}) on {best.instances} "
            f"instances, ${best.cost_per_instance:.6f} per instance (trial {best.number} "
            f"of {self.evaluated}, ${self.spend:.6f} spent tuning)",
            f"# n: {chosen.n}",
            *_comment("prompt", chosen.prompt),
        ]
        if chosen.system is not None:
            lines += _comment("system", chosen.system)
        body = yaml.safe_dump({"models": section}, sort_keys=False,
                              allow_unicode=True)  # fmt: skip
        return "\n".join(lines) + "\n" + body

    def write(self, path: str | Path, name: str = "default") -> Path:
        """Write :meth:`to_yaml` to ``path`` (its folder made if missing); returns the path.

        Raises:
            TuningError: the file cannot be written (the study keeps the result: run
                the same search again to write it elsewhere).
        """
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.to_yaml(name), encoding="utf-8")
        except OSError as exc:
            raise TuningError(f"cannot write the best configuration to {target}: "
                              f"{exc.strerror or exc}; give --out a path you can write (the "
                              "study keeps the trials: the same command writes it again "
                              "without asking the models)") from None  # fmt: skip
        return target


def _comment(label: str, text: str) -> list[str]:
    rows = text.splitlines() or [""]
    return [f"# {label}: {rows[0]}", *(f"#   {row}" for row in rows[1:])]
