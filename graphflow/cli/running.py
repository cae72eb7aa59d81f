"""``graphflow run`` and ``graphflow resume``: run a graph, continue a run, and answer
human checkpoints at the terminal while one is attached."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from graphflow.cli._common import EXIT_CODES, console, db_option, escape, handle_errors, open_store

if TYPE_CHECKING:
    from graphflow.context import RunContext
    from graphflow.graph import CompiledGraph
    from graphflow.results import RunResult
    from graphflow.store import Store

__all__ = ["resume", "run"]


def parse_vars(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--var NAME=VALUE`` pairs as a dict; values are parsed as JSON when they can be.

    Raises:
        click.BadParameter: a pair has no ``=`` or no name.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: write it as NAME=VALUE", param_hint="--var")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _progress(events: str | None, quiet: bool) -> Callable[[Any], None] | None:
    from graphflow.progress import make_listener

    return make_listener("jsonl" if events == "jsonl" else ("quiet" if quiet else "console"))


def _finish(result: RunResult, quiet: bool, events: str | None) -> None:
    if events != "jsonl":
        console(stderr=quiet).print(status_line(result))
    sys.exit(EXIT_CODES.get(result.status, 1))


def status_line(result: RunResult) -> str:
    """The one-paragraph summary printed when a run stops (rich markup)."""
    color = {"completed": "green", "waiting": "yellow", "failed": "red"}.get(result.status, "magenta")
    line = (f"run [bold]{result.run_id}[/]: [{color}]{result.status}[/]"
            f" after {result.steps} steps")  # fmt: skip
    if result.reason:
        line += f" ({escape(result.reason)})"
    if result.status == "waiting":
        node, question = next(iter(result.waiting.items()), ("?", ""))
        line += (f"\n  waiting at [bold]{node}[/] (question {result.questions.get(node, '?')}): "
                 f"{escape(question)}\n  answer with: "
                 f"graphflow resume {result.run_id} --input '...'")  # fmt: skip
    if result.error:
        line += f"\n  [red]{escape(result.error.splitlines()[0])}[/]"
    return line


def _interactive(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return sys.stdin.isatty() and sys.stdout.isatty()


def _answer_loop(graph: CompiledGraph, result: RunResult, store: Store,
                 listener: Callable[[Any], None] | None, interactive: bool,
                 context: Callable[[], RunContext], work_dir: str | None) -> RunResult:  # fmt: skip
    """Answer human checkpoints at the terminal while one is attached; each answer
    continues the run with the same options (models, executor) as the command."""
    while interactive and result.status == "waiting":
        node, question = next(iter(result.waiting.items()))
        try:
            answer = click.prompt(f"[{node}] {question}", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        from graphflow import runs

        result = runs.run_sync(runs.resume(graph, result.run_id, input=answer, store=store,
                                           on_event=listener, work_dir=work_dir,
                                           context=context()))  # fmt: skip
    return result


model_options = [
    click.option("--model", default=None, help="Model name for agent nodes (overrides the graph)."),
    click.option("--base-url", default=None, help="OpenAI-compatible endpoint for agent nodes."),
    click.option("--executor", type=click.Choice(["local", "sandbox", "docker"]), default=None,
                 help="Executor for code nodes left on `auto`."),
]


def _with(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def apply(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


def _context(store: Store, listener: Callable[[Any], None] | None, model: str | None,
             base_url: str | None, executor: str | None) -> RunContext:  # fmt: skip
    """The run context of one command: the store, the progress listener, the overrides."""
    from graphflow.context import RunContext

    context = RunContext(store=store, model=model, base_url=base_url, executor=executor)
    if listener is not None:
        context.emit = listener
    return context


@click.command()
@click.argument("graph_file")
@click.option("--input", "-i", "input_", default=None, help="The first message of the run.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Set a graph variable (VALUE parsed as JSON when it can be).")
@db_option
@click.option("--run-id", default=None, help="Choose the run id.")
@click.option("--work-dir", default=None, help="Where code and file tools work.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the final status line (stderr).")
@click.option("--events", type=click.Choice(["jsonl"]), default=None,
              help="Print every event as one JSON object per line.")
@click.option("--interactive/--no-interactive", default=None,
              help="Answer human checkpoints at the terminal (default: when one is attached).")
@_with(model_options)
@handle_errors
def run(graph_file: str, input_: str | None, variables: tuple[str, ...], db: str,
        run_id: str | None, work_dir: str | None, quiet: bool, events: str | None,
        interactive: bool | None, model: str | None, base_url: str | None,
        executor: str | None) -> None:  # fmt: skip
    """Run GRAPH_FILE (a path, or the name of a bundled graph such as `quickstart`)."""
    from graphflow import runs
    from graphflow.loader import load

    values = parse_vars(variables)
    graph = load(graph_file)
    store = open_store(db)
    listener = _progress(events, quiet)

    def context() -> RunContext:
        return _context(store, listener, model, base_url, executor)

    result = runs.run_sync(runs.start(graph, input_, variables=values, store=store,
                                      run_id=run_id, on_event=listener, work_dir=work_dir,
                                      context=context()))  # fmt: skip
    result = _answer_loop(graph, result, store, listener, _interactive(interactive) and not events,
                          context, work_dir)  # fmt: skip
    _finish(result, quiet, events)


@click.command()
@click.argument("run_id")
@click.option("--input", "-i", "input_", default=None, help="The answer to the waiting checkpoint.")
@click.option("--answer", multiple=True, metavar="NODE=TEXT",
              help="Answer one of several waiting checkpoints (NODE may be a question id).")
@click.option("--question", default=None, metavar="NODE@STEP",
              help="The id of the question answered (default: the one waiting now); the "
                   "answer is refused (exit 5) once another answer was recorded for it.")
@db_option
@click.option("--graph", "graph_file", default=None,
              help="Resume with this graph file instead of the one stored with the run.")
@click.option("--allow-changed-graph", is_flag=True,
              help="Continue even though the graph's topology changed since the checkpoint.")
@click.option("--work-dir", default=None)
@click.option("--quiet", "-q", is_flag=True)
@click.option("--events", type=click.Choice(["jsonl"]), default=None)
@click.option("--interactive/--no-interactive", default=None)
@_with(model_options)
@handle_errors
def resume(run_id: str, input_: str | None, answer: tuple[str, ...], question: str | None, db: str,
           graph_file: str | None, allow_changed_graph: bool, work_dir: str | None, quiet: bool,
           events: str | None, interactive: bool | None, model: str | None,
           base_url: str | None, executor: str | None) -> None:  # fmt: skip
    """Continue RUN_ID from its last committed step (after a crash, or with an answer)."""
    from graphflow import runs
    from graphflow.cli._common import resolve_run_id
    from graphflow.loader import graph_for_run, load
    from graphflow.resuming import check_answers, question_ids

    store = open_store(db, must_exist=True)
    run_id = resolve_run_id(store, run_id)
    record = store.get_run(run_id)
    graph = load(graph_file) if graph_file else graph_for_run(record)
    # One answer per question: the answer is for the question waiting now (or named).
    asked = question_ids(record)
    answers: Any = input_
    if answer:
        answers = {(asked.get(node, node) if "@" not in node else node): text
                   for node, text in (a.partition("=")[::2] for a in answer)}  # fmt: skip
    elif input_ is not None and question is None and len(asked) == 1:
        question = next(iter(asked.values()))
    check_answers(record, answers, question)  # again under the lease, when resuming
    listener = _progress(events, quiet)

    def context() -> RunContext:
        return _context(store, listener, model, base_url, executor)

    result = runs.run_sync(runs.resume(graph, run_id, input=answers, store=store,
                                       on_event=listener, allow_changed_graph=allow_changed_graph,
                                       work_dir=work_dir, context=context(),
                                       question=question))  # fmt: skip
    result = _answer_loop(graph, result, store, listener, _interactive(interactive) and not events,
                          context, work_dir)  # fmt: skip
    _finish(result, quiet, events)
