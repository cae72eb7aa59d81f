"""The search: an Optuna study stored in SQLite, driven trial by trial (ask and tell),
under an inference budget and an optimization budget, resumable after a crash.

What is stored, all in the study file: Optuna's tables (the study, each trial's
parameters, state and value) with graphflow's record of each trial in its user
attributes (settings, metric means, instances scored, cost per instance, dollars billed
— updated after every instance, so a trial cut short still counts what it spent); and
the model answers, in a response-cache table, so that asking again costs nothing.

Resuming: the same call (or ``graphflow tune`` command) on the same study file goes on
from the stored trials. Finished trials are never evaluated again, a trial that was
running when the process died is asked again first (its answers come back from the
cache, unbilled), and ``num_samples`` counts the trials of the whole study. One process
at a time: a second one on the same file is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from graphflow.blocking import run_blocking
from graphflow.errors import GraphflowError, ModelError
from graphflow.models.client import ModelClient
from graphflow.tuning.candidates import Candidate
from graphflow.tuning.errors import TuningError
from graphflow.tuning.evaluate import Evaluation, client_for, evaluate
from graphflow.tuning.metrics import Metric
from graphflow.tuning.result import TrialResult, TuneResult
from graphflow.tuning.space import SearchSpace, TrialConfig

__all__ = ["DEFAULT_STUDY_NAME", "run_study"]

DEFAULT_STUDY_NAME = "graphflow-tune"
_INSTALL_HINT = ("tuning needs Optuna, an optional dependency: pip install 'graphflow[tune]' "
                 "(or pip install 'optuna>=3.5')")  # fmt: skip
_MAX_DUPLICATES = 200


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise TuningError(_INSTALL_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


@contextlib.contextmanager
def _exclusive(path: Path | None) -> Iterator[None]:
    """Hold an advisory lock on the study file while tuning (released by the OS when the
    process dies)."""
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: no lock
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "ab")  # noqa: SIM115 - closed below, after the lock
    except OSError as exc:
        raise TuningError(f"cannot create the study file {path}: {exc.strerror or exc}; give a "
                          "path in a folder you can write") from None  # fmt: skip
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TuningError(f"study {path} is being tuned by another process; wait for it "
                              "to finish or use another --study file") from None  # fmt: skip
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _fingerprint(data: Sequence[Mapping[str, Any]], space: SearchSpace, metric: Metric,
                 mode: str, candidates: Mapping[str, Candidate]) -> dict[str, str]:  # fmt: skip
    models = {name: [c.model_dump(mode="json", exclude_defaults=True) for c in cand.configs]
              for name, cand in candidates.items()}  # fmt: skip
    return {"data": _digest(list(data)), "search space": _digest(space.to_data()),
            "metric": _digest([metric.label, metric.objective, mode]),
            "models": _digest(models)}  # fmt: skip


def _key(config: TrialConfig) -> str:
    return json.dumps([config.model, config.prompt_index, config.system_index, config.n,
                       sorted(config.params.items())], default=str)  # fmt: skip


def _config_data(config: TrialConfig) -> dict[str, Any]:
    return {"model": config.model, "prompt_index": config.prompt_index,
            "system_index": config.system_index, "n": config.n, "params": config.params}  # fmt: skip


def _config_from(data: Mapping[str, Any], space: SearchSpace) -> TrialConfig:
    prompt_index = int(data.get("prompt_index") or 0)
    system_index = data.get("system_index")
    return TrialConfig(
        model=str(data.get("model")), prompt=space.prompts[prompt_index],
        prompt_index=prompt_index, n=int(data.get("n") or 1),
        system=None if system_index is None else space.systems[int(system_index)],
        system_index=None if system_index is None else int(system_index),
        params=dict(data.get("params") or {}),
    )  # fmt: skip


def _result(frozen: Any, space: SearchSpace) -> TrialResult | None:
    attrs = frozen.user_attrs
    if "config" not in attrs:
        return None
    record = attrs.get("result") or {}
    state = record.get("state") or ("failed" if frozen.state.name in ("RUNNING", "FAIL")
                                    else frozen.state.name.lower())  # fmt: skip
    return TrialResult(
        number=frozen.number, config=_config_from(attrs["config"], space), state=state,
        value=record.get("value"), metrics=record.get("metrics") or {},
        instances=int(record.get("instances") or 0),
        cost_per_instance=float(record.get("cost_per_instance") or 0.0),
        spend=float(attrs.get("spend") or 0.0), reason=record.get("reason"),
        retried=bool(record.get("retry")),
    )  # fmt: skip


def _counts(frozen: Any) -> bool:
    """Whether a stored trial counts as evaluated (``num_samples`` and duplicates)."""
    record = frozen.user_attrs.get("result") or {}
    return record.get("state") in ("complete", "over_budget", "failed") and not record.get("retry")


def run_study(
    *,
    data: Sequence[Mapping[str, Any]],
    metric: Metric,
    mode: str,
    space: SearchSpace,
    candidates: Mapping[str, Candidate],
    inference_budget: float | None,
    optimization_budget: float | None,
    num_samples: int | None,
    study: Path | None,
    study_name: str,
    seed: int | None,
    cache_seed: int,
    progress: Callable[[str], None] | None,
) -> TuneResult:
    """Run (or resume) a study; see :func:`graphflow.tuning.tune` for the arguments."""
    optuna = _optuna()
    say = progress or (lambda line: None)
    fingerprint = _fingerprint(data, space, metric, mode, candidates)
    if study is not None:
        _check_study_file(study)
    with _exclusive(study):
        sampler = optuna.samplers.TPESampler(seed=seed)
        direction = "maximize" if mode == "max" else "minimize"
        try:
            storage: Any = (optuna.storages.RDBStorage(f"sqlite:///{study}")
                            if study is not None else optuna.storages.InMemoryStorage())  # fmt: skip
            handle = optuna.create_study(study_name=study_name, storage=storage,
                                         sampler=sampler, direction=direction,
                                         load_if_exists=True)  # fmt: skip
        except ValueError as exc:  # the stored study has another direction
            raise TuningError(f"study {study} ({study_name}): {exc}; use another --study file") from None
        except Exception as exc:  # not an SQLite file, a damaged one, an unwritable place
            raise TuningError(f"cannot open the study {study}: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:300]}; give a new file or a study "
                              "file made by graphflow tune") from None  # fmt: skip
        _check_fingerprint(handle, fingerprint, study, study_name)
        cache = None
        if study is not None:
            from graphflow.models.cache import ResponseCache

            cache = ResponseCache(study, table="tuning_answers")
        try:
            stop = run_blocking(lambda: _search(
                optuna, handle, storage, data=data, metric=metric, space=space,
                candidates=candidates, inference_budget=inference_budget,
                optimization_budget=optimization_budget, num_samples=num_samples,
                cache=cache, cache_seed=cache_seed, say=say, study=study))  # fmt: skip
        finally:
            if cache is not None:
                cache.close()
        trials = [r for t in handle.get_trials(deepcopy=False) if (r := _result(t, space))]
    spend = sum(t.spend for t in trials)
    complete = [t for t in trials if t.state == "complete" and t.value is not None]
    sign = 1.0 if mode == "max" else -1.0
    best = min(complete, key=lambda t: (-sign * (t.value or 0.0), t.cost_per_instance, t.number),
               default=None)  # fmt: skip
    return TuneResult(best=best, trials=tuple(trials), spend=spend, metric=metric.objective,
                      mode=mode, stop_reason=stop, candidates=dict(candidates), study=study)  # fmt: skip


def _check_study_file(path: Path) -> None:
    """Refuse an SQLite file that is not a study: a run database, or any other database
    with tables and no Optuna study in them, would get Optuna's tables added to it."""
    from graphflow.store.sqlite.probe import probe_sqlite_file

    found = probe_sqlite_file(path)
    if found is None:
        return  # missing, empty, or not SQLite: Optuna's own error says so
    if found.run_database:
        raise TuningError(f"{path} is a graphflow run database, not a tuning study; give "
                          "another --study file (a new one, or one graphflow tune made)")  # fmt: skip
    if found.tables and "studies" not in found.tables:
        tables = sorted(found.tables)
        shown = ", ".join(tables[:8]) + (" …" if len(tables) > 8 else "")
        raise TuningError(f"{path} is an SQLite database of something else (tables: {shown}); "
                          "give another --study file (a new one, or one graphflow tune "
                          "made), so that tuning does not add its tables to it")  # fmt: skip


def _check_fingerprint(handle: Any, fingerprint: dict[str, str], study: Path | None,
                       name: str) -> None:  # fmt: skip
    stored = handle.user_attrs.get("graphflow_fingerprint")
    if stored is None:
        if handle.trials:
            raise TuningError(f"study {study} ({name}) was not made by graphflow tune; use "
                              "another --study file")  # fmt: skip
        handle.set_user_attr("graphflow_fingerprint", fingerprint)
        return
    changed = [part for part, digest in fingerprint.items() if stored.get(part) != digest]
    if changed:
        raise TuningError(f"study {study} ({name}) was made with other {', '.join(changed)}; "
                          "resume it with the same data, search space, metric, mode and "
                          "models (budgets and --trials may change), or start a new --study "
                          "file")  # fmt: skip


def _recover(optuna: Any, handle: Any, storage: Any, say: Callable[[str], None]) -> None:
    """Trials left running by a process that died: mark them failed and ask them again."""
    running = handle.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for frozen in running:
        storage.set_trial_user_attr(frozen._trial_id, "result", {
            "state": "failed", "retry": True, "reason": "interrupted; asked again"})
        storage.set_trial_state_values(frozen._trial_id, optuna.trial.TrialState.FAIL)
        handle.enqueue_trial(frozen.params, user_attrs={"resumes": frozen.number})
        say(f"trial {frozen.number} was interrupted: it is asked again first (answers it "
            "already had come from the cache)")  # fmt: skip


async def _search(optuna: Any, handle: Any, storage: Any, *, data: Sequence[Mapping[str, Any]],
            metric: Metric, space: SearchSpace, candidates: Mapping[str, Candidate],
            inference_budget: float | None, optimization_budget: float | None,
            num_samples: int | None, cache: Any, cache_seed: int,
            say: Callable[[str], None], study: Path | None) -> str:  # fmt: skip
    """Ask, evaluate and tell trials until a limit is reached; returns why it stopped.

    It runs in one event loop, so that each candidate's model client (and its
    connections) serves every trial; Optuna's calls in between are synchronous."""
    clients = {name: client_for(candidate, cache) for name, candidate in candidates.items()}
    try:
        return await _trials(optuna, handle, storage, data=data, metric=metric, space=space,
                             clients=clients, inference_budget=inference_budget,
                             optimization_budget=optimization_budget,
                             num_samples=num_samples, cache_seed=cache_seed, say=say,
                             study=study)  # fmt: skip
    finally:
        for client in clients.values():
            await client.aclose()


async def _trials(optuna: Any, handle: Any, storage: Any, *, data: Sequence[Mapping[str, Any]],
                  metric: Metric, space: SearchSpace, clients: Mapping[str, ModelClient],
                  inference_budget: float | None, optimization_budget: float | None,
                  num_samples: int | None, cache_seed: int, say: Callable[[str], None],
                  study: Path | None) -> str:  # fmt: skip
    _recover(optuna, handle, storage, say)
    stored = handle.get_trials(deepcopy=False)
    known = {_key(r.config) for t in stored if _counts(t) and (r := _result(t, space))}
    evaluated = sum(1 for t in stored if _counts(t))
    spend = sum(float(t.user_attrs.get("spend") or 0.0) for t in stored)
    size = space.size()
    if stored:
        say(f"resuming study {study}: {evaluated} trials evaluated, ${spend:.6f} spent")
    duplicates = 0
    grid = space.grid() or []
    fixed = optuna.trial.FixedTrial
    while True:
        if size is not None and len(known) >= size:
            return f"every configuration of the search space was tried ({size})"
        if num_samples is not None and evaluated >= num_samples:
            return f"{num_samples} trials evaluated"
        if optimization_budget is not None and spend >= optimization_budget:
            return f"the optimization budget is used up (${spend:.6f} of ${optimization_budget:g})"
        if duplicates >= _MAX_DUPLICATES:
            return "the sampler proposes only configurations already tried"
        trial = handle.ask()
        config = space.suggest(trial)
        key = _key(config)
        trial.set_user_attr("config", _config_data(config))
        if key in known:
            duplicates += 1
            untried = next((p for p in grid if _key(space.suggest(fixed(p))) not in known), None)
            if untried is not None:  # a finite space: the next trial takes one not tried
                handle.enqueue_trial(untried)
            trial.set_user_attr("result", {"state": "duplicate",
                                           "reason": "tried already; not asked again"})  # fmt: skip
            handle.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        duplicates = 0
        left = None if optimization_budget is None else optimization_budget - spend
        outcome, billed = await _evaluate(trial, config, clients[config.model], data, metric,
                                          cache_seed=cache_seed,
                                          inference_budget=inference_budget, spend_limit=left,
                                          need_prices=(inference_budget is not None
                                                       or left is not None))  # fmt: skip
        spend += billed
        result = _tell(handle, trial, config, outcome, billed, metric, optuna)
        if result.state != "stopped" and not result.retried:
            known.add(key)
            evaluated += 1
        say(result.describe(metric.objective))
        if isinstance(outcome, TuningError):
            raise outcome


async def _evaluate(trial: Any, config: TrialConfig, client: ModelClient,
                    data: Sequence[Mapping[str, Any]], metric: Metric,
                    **options: Any) -> tuple[Evaluation | GraphflowError, float]:  # fmt: skip
    """The evaluation (or the error that ended it) and the dollars billed."""
    billed = [0.0]

    def record(progress: Evaluation) -> None:  # after each instance: a kill keeps the spend
        if progress.spend != billed[0]:
            billed[0] = progress.spend
            trial.set_user_attr("spend", progress.spend)

    try:
        outcome = await evaluate(config, client, data, metric, on_instance=record, **options)
    except (ModelError, TuningError) as exc:
        return exc, billed[0]
    if outcome.spend != billed[0]:
        trial.set_user_attr("spend", outcome.spend)
    return outcome, outcome.spend


def _tell(handle: Any, trial: Any, config: TrialConfig, outcome: Evaluation | GraphflowError,
          billed: float, metric: Metric, optuna: Any) -> TrialResult:  # fmt: skip
    """Store a trial's outcome (one attribute, then its state) and return it."""
    states = optuna.trial.TrialState
    if isinstance(outcome, GraphflowError):
        # the user's metric or template failed: ask it again once they are fixed
        retry = isinstance(outcome, TuningError)
        record: dict[str, Any] = {"state": "failed", "retry": retry,
                                  "reason": str(outcome).split("\n", 1)[0][:500]}  # fmt: skip
        trial.set_user_attr("result", record)
        handle.tell(trial, state=states.FAIL)
        if retry:
            handle.enqueue_trial(trial.params)
        return TrialResult(trial.number, config, "failed", spend=billed, reason=record["reason"],
                           retried=retry)  # fmt: skip
    value = outcome.metrics.get(metric.objective)
    state = "complete"
    if outcome.stopped is not None:
        over = outcome.stopped.startswith("over the inference budget")
        state = "over_budget" if over else "stopped"
    record = {"state": state, "value": value, "metrics": outcome.metrics,
              "instances": outcome.instances, "cost_per_instance": outcome.cost_per_instance,
              "reason": outcome.stopped}  # fmt: skip
    trial.set_user_attr("result", record)
    if state == "complete":
        handle.tell(trial, value)
    else:
        if value is not None:
            trial.report(value, outcome.instances)
        handle.tell(trial, state=states.PRUNED)
    return TrialResult(trial.number, config, state, value=value, metrics=outcome.metrics,
                       instances=outcome.instances, cost_per_instance=outcome.cost_per_instance,
                       spend=billed, reason=outcome.stopped)  # fmt: skip
