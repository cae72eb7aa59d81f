"""``graphflow run`` and ``graphflow resume``: run a graph, continue a run, and answer
human checkpoints at the terminal while one is attached."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from graphflow.cli._common import (
    EXIT_CODES,
    console,
    db_option,
    escape,
    handle_errors,
    input_option,
    json_option,
    open_store,
    print_json,
    read_text,
    run_id_option,
    var_option,
)
from graphflow.cli.workers import broker_option

if TYPE_CHECKING:
    from graphflow.context import RunContext
    from graphflow.graph import CompiledGraph
    from graphflow.results import RunResult
    from graphflow.store import RunStore

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

    if quiet:  # one line: no notices either
        import logging

        logging.getLogger("graphflow").setLevel(logging.ERROR)
    return make_listener("jsonl" if events == "jsonl" else ("quiet" if quiet else "console"))


def _finish(result: RunResult, quiet: bool, events: str | None, as_json: bool = False) -> None:
    """Print how the run stopped and exit with its status's code: the result as JSON
    (``--json``), one line (``-q``), or the summary; a run that did not complete or wait
    reports on standard error."""
    if as_json:
        print_json(result.to_dict())
    elif quiet:
        click.echo(one_line(result))
    elif events != "jsonl":
        trouble = result.status not in ("completed", "waiting")
        console(stderr=trouble).print(status_line(result))
    sys.exit(EXIT_CODES.get(result.status, 1))


def one_line(result: RunResult) -> str:
    """``RUN_ID STATUS`` and the reason, on one line (what ``-q`` prints).

    Example:
        >>> from graphflow.results import RunResult
        >>> one_line(RunResult("7f3a", "waiting", "at approve"))
        '7f3a waiting (at approve)'
    """
    reason = result.reason or (result.error or "").split("\n")[0]
    return f"{result.run_id} {result.status}" + (f" ({reason})" if reason else "")


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


def _answer_loop(graph: CompiledGraph, result: RunResult, store: RunStore,
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
    click.option("--model", default=None,
                 help="Model name for agent nodes (overrides the graph and the environment; "
                      "recorded with the run, so resume keeps it)."),
    click.option("--base-url", default=None,
                 help="OpenAI-compatible endpoint for agent nodes (with --model, or the "
                      "graph's model names)."),
    click.option("--executor", type=click.Choice(["auto", "local", "sandbox", "docker"]),
                 default=None,
                 help="Executor for every code node, overriding the graph's choice (a warning "
                      "says when that weakens isolation); auto: sandbox, else Docker."),
    click.option("--record-calls/--no-record-calls", default=True, show_default=True,
                 envvar="GRAPHFLOW_RECORD_CALLS",
                 help="Keep each model call's prompt and answer with the run (show --calls); "
                      "also GRAPHFLOW_RECORD_CALLS=0."),
]
output_options = [
    click.option("--quiet", "-q", is_flag=True,
                 help="Print one line when the run stops: RUN_ID STATUS (reason)."),
    click.option("--events", type=click.Choice(["jsonl"]), default=None,
                 help="Print every event as one JSON object per line."),
    json_option,
    click.option("--interactive/--no-interactive", default=None,
                 help="Answer human checkpoints at the terminal (default: when one is "
                      "attached)."),
]


def _with(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def apply(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


def _context(store: RunStore, listener: Callable[[Any], None] | None, model: str | None,
             base_url: str | None, executor: str | None,
             record_calls: bool = True) -> RunContext:  # fmt: skip
    """The run context of one command: the store, the progress listener, the overrides."""
    from graphflow.context import RunContext

    context = RunContext(store=store, model=model, base_url=base_url, executor=executor,
                         record_calls=record_calls)  # fmt: skip
    if listener is not None:
        context.emit = listener
    return context


def _load_graph(graph_file: str) -> CompiledGraph:
    """The graph a command names: a file, a bundled graph's name, or ``-`` for a graph
    file (YAML or JSON) piped in on standard input."""
    if graph_file != "-":
        from graphflow.loader import load

        return load(graph_file)
    from graphflow.compiler import compile_spec
    from graphflow.spec import loads_spec

    text = read_text("-", "GRAPH_FILE") or ""
    fmt = "json" if text.lstrip().startswith("{") else "yaml"
    return compile_spec(loads_spec(text, source=None, fmt=fmt))


def _input(value: str | None, graph_file: str = "") -> str | None:
    if value == "-" and graph_file == "-":
        raise click.UsageError("GRAPH_FILE and --input cannot both be read from standard "
                               "input; give one of them directly")  # fmt: skip
    return read_text(value, "--input")


@click.command()
@click.argument("graph_file")
@input_option
@var_option
@db_option
@run_id_option
@click.option("--work-dir", default=None,
              help="Where code and file tools work (default ./graphflow-work/RUN_ID).")
@_with(output_options)
@_with(model_options)
@handle_errors
def run(graph_file: str, input_: str | None, variables: tuple[str, ...], db: str,
        run_id: str | None, work_dir: str | None, quiet: bool, events: str | None,
        as_json: bool, interactive: bool | None, model: str | None, base_url: str | None,
        executor: str | None, record_calls: bool) -> None:  # fmt: skip
    """Run GRAPH_FILE: a path, the name of a bundled graph such as `quickstart`, or '-' for
    a graph file piped in on standard input."""
    from graphflow import runs

    values = parse_vars(variables)
    first = _input(input_, graph_file)
    graph = _load_graph(graph_file)
    store = open_store(db)
    listener = _progress(events, quiet or as_json)

    def context() -> RunContext:
        return _context(store, listener, model, base_url, executor, record_calls)

    result = runs.run_sync(runs.start(graph, first, variables=values, store=store,
                                      run_id=run_id, on_event=listener, work_dir=work_dir,
                                      context=context()))  # fmt: skip
    asks = _interactive(interactive) and not events and not as_json
    result = _answer_loop(graph, result, store, listener, asks, context, work_dir)
    _finish(result, quiet, events, as_json)


@click.command()
@click.argument("run_id")
@click.option("--input", "-i", "input_", default=None,
              help="The answer to the waiting checkpoint ('-': read it from standard input).")
@click.option("--answer", multiple=True, metavar="NODE=TEXT",
              help="Answer one of several waiting checkpoints (repeatable; NODE may be a "
                   "question id).")
@click.option("--question", default=None, metavar="NODE@STEP",
              help="The id of the question answered (default: the one waiting now); the "
                   "answer is refused (exit 5) once another answer was recorded for it.")
@click.option("--as", "person", default=None, metavar="NAME",
              help="Who answers: refused at a checkpoint that names another person.")
@db_option
@broker_option
@click.option("--graph", "graph_file", default=None,
              help="Resume with this graph file instead of the one stored with the run.")
@click.option("--allow-changed-graph", is_flag=True,
              help="Continue even though the graph's topology changed since the checkpoint.")
@click.option("--work-dir", default=None,
              help="Where code and file tools work (default ./graphflow-work/RUN_ID).")
@_with(output_options)
@_with(model_options)
@handle_errors
def resume(run_id: str, input_: str | None, answer: tuple[str, ...], question: str | None,
           person: str | None, db: str, broker: str | None, graph_file: str | None, allow_changed_graph: bool, work_dir: str | None, quiet: bool,
           events: str | None, as_json: bool, interactive: bool | None, model: str | None,
           base_url: str | None, executor: str | None, record_calls: bool) -> None:  # fmt: skip
    """Continue RUN_ID from its last committed step (after a crash, or with an answer),
    with the models it recorded unless --model/--base-url say otherwise; with --broker,
    enqueue the continuation for a worker (`graphflow worker`) instead."""
    from graphflow import runs
    from graphflow.cli._common import resolve_run
    from graphflow.loader import graph_for_run
    from graphflow.resuming import check_answers, check_person, question_ids

    store = open_store(db, must_exist=True)
    record = resolve_run(store, run_id)
    run_id = record.run_id
    graph = _load_graph(graph_file) if graph_file else graph_for_run(record)
    # One answer per question: the answer is for the question waiting now (or named).
    asked = question_ids(record)
    answers: Any = _input(input_, graph_file or "")
    if answer:
        answers = {(asked.get(node, node) if "@" not in node else node): text
                   for node, text in (a.partition("=")[::2] for a in answer)}  # fmt: skip
    elif answers is not None and question is None and len(asked) == 1:
        question = next(iter(asked.values()))
    check_answers(record, answers, question)  # again under the lease, when resuming
    check_person(record, answers, question, person)
    if broker:  # a worker continues it
        from graphflow.cli.workers import enqueue_continuation

        enqueue_continuation(run_id, answers, question, db=db, broker=broker, ignored={
            "graph": graph_file, "allow_changed_graph": allow_changed_graph, "model": model,
            "base_url": base_url, "executor": executor, "work_dir": work_dir})
    listener = _progress(events, quiet or as_json)

    def context() -> RunContext:
        return _context(store, listener, model, base_url, executor, record_calls)

    result = runs.run_sync(runs.resume(graph, run_id, input=answers, store=store,
                                       on_event=listener, allow_changed_graph=allow_changed_graph,
                                       work_dir=work_dir, context=context(),
                                       question=question))  # fmt: skip
    asks = _interactive(interactive) and not events and not as_json
    result = _answer_loop(graph, result, store, listener, asks, context, work_dir)
    _finish(result, quiet, events, as_json)
