"""Inference tuning: find the model, sampling options, prompt template and number of
answers that score best on your data, within a cost per instance — AutoGen's EcoOptiGen
(``autogen.Completion.tune``), on an Optuna study stored in SQLite and resumable.

- :func:`tune` — the search (also ``graphflow tune`` on the command line);
- :class:`TuneResult` / :class:`TrialResult` — what it found; ``result.write(path)``
  writes the best configuration as a graph file's ``models:`` section;
- :class:`SearchSpace` — the settings searched; :func:`load_data` — the data set;
  :data:`BUILTIN_METRICS` — ``exact_match``, ``contains``, ``any_match``;
- :class:`TuningError` — bad input (data, metric, space, models, study).

Optuna is an optional dependency (``pip install 'graphflow[tune]'``); importing this
package does not import it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from graphflow.tuning.candidates import Candidate, ConfigListLike, check_keys, load_candidates
from graphflow.tuning.data import load_data
from graphflow.tuning.errors import TuningError
from graphflow.tuning.metrics import BUILTIN_METRICS, EvalFunc, Metric, resolve_metric
from graphflow.tuning.result import TrialResult, TuneResult
from graphflow.tuning.space import SearchSpace, TrialConfig, load_search_space

__all__ = [
    "BUILTIN_METRICS",
    "Candidate",
    "Metric",
    "SearchSpace",
    "TrialConfig",
    "TrialResult",
    "TuneResult",
    "TuningError",
    "load_candidates",
    "load_data",
    "load_search_space",
    "resolve_metric",
    "tune",
]

#: Trials evaluated when ``num_samples`` is not given and the space has a range.
DEFAULT_NUM_SAMPLES = 20


def tune(
    data: str | Path | Iterable[Mapping[str, Any]],
    metric: str | EvalFunc = "exact_match",
    eval_func: str | EvalFunc | None = None,
    *,
    config_list: ConfigListLike,
    search_space: Mapping[str, Any] | str | Path | None = None,
    mode: str = "max",
    inference_budget: float | None = None,
    optimization_budget: float | None = None,
    num_samples: int | None = None,
    study: str | os.PathLike[str] | None = None,
    study_name: str = "graphflow-tune",
    seed: int | None = 0,
    cache_seed: int = 41,
    progress: Callable[[str], None] | None = None,
    base_dir: Path | None = None,
) -> TuneResult:
    """Search the inference settings that score best on ``data`` within the budgets.

    Each trial picks a model from ``config_list`` and settings from ``search_space``,
    asks the model for every instance (``n`` answers each), scores the answers with the
    metric and records the mean score and the mean cost per instance. A trial whose mean
    cost per instance is above ``inference_budget`` is stopped and cannot be chosen; the
    best of the others (ties: the cheaper) is the result.

    Args:
        data: the instances — a ``.jsonl``/``.json``/``.yaml`` file or a list of dicts;
            their fields fill the prompt templates and are passed to the metric.
        metric: with ``eval_func``, the name of the number to optimize (AutoGen's
            ``metric``); without it, the evaluation itself — a built-in
            (``exact_match``, ``contains``, ``any_match``, which compare with each
            instance's ``answer``), an import path ``module:function`` or a callable —
            whose ``success`` is optimized.
        eval_func: AutoGen's ``eval_func``: called as ``eval_func(responses,
            **instance)``, returns a number, a bool or a mapping of numbers; a callable,
            an import path or a built-in name.
        config_list: the models to choose from (see
            :func:`~graphflow.tuning.candidates.load_candidates`): a config list, a
            ``models:`` section with named entries, or a file holding either.
        search_space: the settings searched (a mapping or a YAML/JSON file; see
            :class:`SearchSpace`); it must give ``prompt`` templates.
        mode: ``max`` or ``min``: whether a higher metric is better.
        inference_budget: the highest mean cost per instance, US dollars.
        optimization_budget: the most tuning may be billed in all, US dollars (cache
            hits are free); the search stops once it is spent.
        num_samples: the trials to evaluate in the whole study (a resumed study counts
            its earlier ones); ``-1`` for no limit but the budget; default: every
            configuration of a finite space, else 20.
        study: the SQLite file that stores the trials and answers; run again with the
            same file to resume. ``None`` keeps the study in memory.
        study_name: the study's name within the file.
        seed: the sampler's seed (``None``: random).
        cache_seed: the response cache's namespace (answer ``i`` of ``n`` uses
            ``cache_seed + i``).
        progress: called with a line of text per trial.
        base_dir: where ``nodes.…`` import paths of the metric are looked up.

    Returns:
        A :class:`TuneResult`: ``best``, ``trials``, ``spend``, ``config`` (AutoGen's
        shape) and ``models_section()`` / ``write()``.

    Raises:
        TuningError: bad data, metric, search space, models, budgets or study; a metric
            that raises; a price that is unknown while a budget needs it; Optuna not
            installed.

    Example (offline, against the loopback test server)::

        from graphflow.testing import ModelServer
        with ModelServer(script=lambda request: "4") as server:
            result = tune([{"question": "2+2?", "answer": "4"}], "exact_match",
                          config_list=[{"model": "m", "base_url": server.base_url,
                                        "price": [0.001, 0.002]}],
                          search_space={"prompt": "{question}", "temperature": [0, 1]})
        assert result.best.value == 1.0
    """
    from graphflow.tuning.study import run_study

    if mode not in ("max", "min"):
        raise TuningError(f"mode {mode!r} must be 'max' or 'min'")
    for name, value in (("inference_budget", inference_budget),
                        ("optimization_budget", optimization_budget)):  # fmt: skip
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value <= 0):  # fmt: skip
            raise TuningError(f"{name} {value!r} must be a positive number of US dollars")
    if num_samples is not None and (num_samples == 0 or num_samples < -1):
        raise TuningError(f"num_samples {num_samples} must be positive, or -1 for no limit "
                          "but the optimization budget")  # fmt: skip
    instances = load_data(data)
    if eval_func is not None:
        if not isinstance(metric, str):
            raise TuningError("with eval_func, metric names the number to optimize (a key of "
                              "what eval_func returns), e.g. metric='success'")  # fmt: skip
        chosen = resolve_metric(eval_func, objective=metric, base_dir=base_dir)
    else:
        chosen = resolve_metric(metric, base_dir=base_dir)
    candidates = load_candidates(config_list)
    space = SearchSpace.from_data(load_search_space(search_space), list(candidates))
    space.check_fields(instances)
    check_keys({name: candidates[name] for name in space.model.choices})
    size = space.size()
    limit: int | None
    if num_samples == -1:
        if optimization_budget is None and size is None:
            raise TuningError("num_samples=-1 (no limit) needs an optimization budget or a "
                              "search space without ranges; set one of them")  # fmt: skip
        limit = None
    elif num_samples is None:
        limit = size if size is not None else DEFAULT_NUM_SAMPLES
    else:
        limit = num_samples
    return run_study(data=instances, metric=chosen, mode=mode, space=space,
                     candidates=candidates, inference_budget=inference_budget,
                     optimization_budget=optimization_budget, num_samples=limit,
                     study=None if study is None else Path(study), study_name=study_name,
                     seed=seed, cache_seed=cache_seed, progress=progress)  # fmt: skip
