"""``graphflow tune``: search the inference settings that score best on a data set within
budgets, on a study stored in SQLite (run the same command again to resume it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from graphflow.cli._common import console, escape, handle_errors

__all__ = ["tune"]


@click.command("tune")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False),
              help="The instances: a .jsonl, .json or .yaml file of mappings; their fields "
                   "fill the prompt templates and are passed to the metric.")
@click.option("--metric", default="exact_match", show_default=True,
              help="A built-in (exact_match, contains, any_match: compare with each "
                   "instance's answer field) or module:function, called as "
                   "fn(responses, **instance) and returning a number, a bool or a mapping.")
@click.option("--objective", default="success", show_default=True,
              help="The key to optimize when the metric returns a mapping.")
@click.option("--mode", type=click.Choice(["max", "min"]), default="max", show_default=True,
              help="Whether a higher metric is better.")
@click.option("--models", "models", required=True, metavar="FILE_OR_SECTION",
              help="The models to choose from: a graph file (its models: section), a YAML "
                   "models: section, an OAI_CONFIG_LIST JSON file, or that YAML/JSON inline.")
@click.option("--space", "space", type=click.Path(dir_okay=False),
              help="YAML search space: model, temperature, top_p, max_tokens, n, prompt, "
                   "system (lists, {low, high} ranges or fixed values).")
@click.option("--prompt", "prompts", multiple=True, metavar="TEMPLATE",
              help="A prompt template with {field} placeholders (repeat for several); "
                   "replaces the space's prompt:.")
@click.option("--budget-inference", type=float, metavar="USD",
              help="Highest mean cost per instance, US dollars.")
@click.option("--budget-optimization", type=float, metavar="USD",
              help="Most tuning may be billed in all, US dollars.")
@click.option("--trials", type=int, metavar="N",
              help="Trials to evaluate in the whole study (-1: until the optimization "
                   "budget); default: every configuration of a finite space, else 20.")
@click.option("--study", required=True, type=click.Path(dir_okay=False),
              help="SQLite file storing the trials and answers; the same command resumes it.")
@click.option("--study-name", default="graphflow-tune", show_default=True,
              help="The study's name within the file.")
@click.option("--seed", type=int, default=0, show_default=True, help="The sampler's seed.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the best configuration here as a models: section (YAML); "
                   "without it, it is printed.")
@click.option("--name", "entry", default="default", show_default=True,
              help="The entry name of the written models: section.")
@handle_errors
def tune(data: str, metric: str, objective: str, mode: str, models: str, space: str | None,
         prompts: tuple[str, ...], budget_inference: float | None,
         budget_optimization: float | None, trials: int | None, study: str, study_name: str,
         seed: int, out: str | None, entry: str) -> None:  # fmt: skip
    """Tune model, temperature/top_p, max_tokens, n and prompt template on a data set.

    Each trial asks a configuration's model for every instance and scores the answers;
    a configuration costing more per instance than --budget-inference is ruled out. The
    trials are stored in --study: run the same command again to resume after a crash or
    to add trials (raise --trials or --budget-optimization).

    Example: graphflow tune --data qa.jsonl --models models.yaml --prompt "{question}"
    --budget-inference 0.002 --study tune.db --out best.yaml
    """
    from graphflow.tuning import load_search_space
    from graphflow.tuning import tune as run_tune

    search: dict[str, Any] = dict(load_search_space(space) or {})
    if prompts:
        search["prompt"] = list(prompts)
    err = console(stderr=True)
    try:
        result = run_tune(
            data, objective, metric, config_list=_models(models), search_space=search,
            mode=mode, inference_budget=budget_inference,
            optimization_budget=budget_optimization, num_samples=trials, study=study,
            study_name=study_name, seed=seed, base_dir=Path.cwd(),
            progress=lambda line: err.print(escape(line)),
        )  # fmt: skip
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/]: the finished trials are kept in {escape(study)}; "
                  "run the same command to resume")  # fmt: skip
        raise SystemExit(130) from None
    err.print(f"stopped: {escape(result.stop_reason)}; billed ${result.spend:.6f} in all "
              f"({result.evaluated} trials evaluated, study {escape(study)})")  # fmt: skip
    if result.best is None:
        failed = [t for t in result.trials if t.state == "failed" and not t.retried]
        if failed and all(t.state in ("failed", "duplicate") for t in result.trials):
            err.print(f"[bold red]every trial failed[/]: {escape(failed[0].reason or '')}")
        else:
            err.print("[bold red]no configuration completed within the inference budget[/]: "
                      "raise --budget-inference, add cheaper models, or resume with more "
                      "--trials")  # fmt: skip
        raise SystemExit(1)
    err.print(f"best: {escape(result.best.describe())}")
    if out:
        result.write(out, entry)
        err.print(f"wrote the best configuration to {escape(out)} (its models: section)")
    else:
        click.echo(result.to_yaml(entry), nl=False)


def _models(value: str) -> Any:
    """A file path, or a models: section written inline as YAML/JSON."""
    from graphflow.tuning.errors import TuningError

    if Path(value).is_file() or not value.lstrip().startswith(("{", "[")):
        return value
    import yaml

    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise TuningError(f"--models {value!r} is neither a file nor valid YAML/JSON: {exc}") from None
