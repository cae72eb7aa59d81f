"""The ``graphflow`` command line.

Exit codes scripts can rely on:

==  ==========================================================================
0   the run completed (or the command succeeded)
1   the run failed (a node raised, no transition, a broken condition)
2   bad input: invalid graph file, unknown run id, wrong option (nothing stored changed)
3   the run is waiting for a person (answer with ``graphflow resume RUN --input ...``)
4   the run was stopped by a limit, a budget or a timeout
5   the run is in use by another process
==  ==========================================================================
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from graphflow.errors import GraphflowError, RunInUse

__all__ = ["EXIT_CODES", "main"]

EXIT_CODES = {"completed": 0, "failed": 1, "waiting": 3, "limit_reached": 4,
              "budget_exceeded": 4, "timeout": 4, "ready": 0, "running": 1}  # fmt: skip
DEFAULT_DB = "graphflow.db"


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn GraphflowErrors into a one-paragraph message and an exit code, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RunInUse as exc:
            _console(stderr=True).print(f"[bold red]error:[/] {_escape(str(exc))}")
            sys.exit(5)
        except GraphflowError as exc:
            _console(stderr=True).print(f"[bold red]error:[/] {_escape(str(exc))}")
            sys.exit(2)
        except KeyboardInterrupt:
            _console(stderr=True).print("[yellow]interrupted[/]: the last committed step is "
                                        "kept; continue with `graphflow resume RUN_ID`")  # fmt: skip
            sys.exit(130)

    return wrapper


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


db_option = click.option("--db", default=lambda: os.environ.get("GRAPHFLOW_DB", DEFAULT_DB),
                         show_default="graphflow.db (or $GRAPHFLOW_DB)", type=click.Path(),
                         help="SQLite run database.")  # fmt: skip


def _open_store(db: str, must_exist: bool = False) -> Any:
    from graphflow.errors import StoreError
    from graphflow.store import Store

    if must_exist and db != ":memory:" and not Path(db).exists():
        raise StoreError(f"no run database at {db}; run a graph first (`graphflow run FILE`) "
                         "or point --db at an existing database")  # fmt: skip
    return Store(db)


def _resolve_run_id(store: Any, run_id: str) -> str:
    from graphflow.errors import RunNotFound, StoreError

    try:
        store.get_run(run_id)
        return run_id
    except RunNotFound:
        matches = store.find_runs(run_id)
        if len(matches) == 1:
            return str(matches[0])
        if len(matches) > 1:
            raise StoreError(f"run id prefix {run_id!r} matches {len(matches)} runs "
                             f"({', '.join(matches[:5])}); give more characters") from None  # fmt: skip
        raise


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, Any]:
    from graphflow.errors import DefinitionError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DefinitionError(f"--var {pair!r}: write it as NAME=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="graphflow")
@click.option("--safe", is_flag=True, envvar="GRAPHFLOW_SAFE",
              help="Safe mode: graph files, node catalogs and stored runs may only name import "
                   "paths of the bundled catalog, registered entry points and --allow-import "
                   "modules; `validate` imports nothing.")
@click.option("--allow-import", "allow_imports", multiple=True, metavar="MODULE",
              help="A module (and its submodules) safe mode allows; implies --safe.")
@click.pass_context
def main(ctx: click.Context, safe: bool, allow_imports: tuple[str, ...]) -> None:
    """graphflow: multi-agent conversations compiled from graphs, checkpointed to SQLite."""
    if safe or allow_imports:
        from graphflow.imports import safe_imports

        ctx.with_resource(safe_imports(allow_imports,
                                       import_modules=ctx.invoked_subcommand != "validate"))


def _progress(events: str | None, quiet: bool) -> Any:
    from graphflow.progress import make_listener

    return make_listener("jsonl" if events == "jsonl" else ("quiet" if quiet else "console"))


def _finish(result: Any, store: Any, console: Any, quiet: bool, events: str | None) -> None:
    if events != "jsonl":
        summary = _status_line(result)
        (_console(stderr=True) if quiet else console).print(summary)
    sys.exit(EXIT_CODES.get(result.status, 1))


def _status_line(result: Any) -> str:
    color = {"completed": "green", "waiting": "yellow", "failed": "red"}.get(result.status, "magenta")
    line = (f"run [bold]{result.run_id}[/]: [{color}]{result.status}[/]"
            f" after {result.steps} steps")  # fmt: skip
    if result.reason:
        line += f" ({_escape(result.reason)})"
    if result.status == "waiting":
        node, question = next(iter(result.waiting.items()), ("?", ""))
        line += (f"\n  waiting at [bold]{node}[/]: {_escape(question)}\n  answer with: "
                 f"graphflow resume {result.run_id} --input '...'")  # fmt: skip
    if result.error:
        line += f"\n  [red]{_escape(result.error.splitlines()[0])}[/]"
    return line


def _interactive(ctx_flag: bool | None) -> bool:
    if ctx_flag is not None:
        return ctx_flag
    return sys.stdin.isatty() and sys.stdout.isatty()


def _answer_loop(graph: Any, result: Any, store: Any, listener: Any, interactive: bool,
                 services: Callable[[], Any], work_dir: str | None) -> Any:  # fmt: skip
    """Answer human checkpoints at the terminal while one is attached; each answer
    continues the run with the same options (models, executor) as the command."""
    while interactive and result.status == "waiting":
        node, question = next(iter(result.waiting.items()))
        try:
            answer = click.prompt(f"[{node}] {question}", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        result = graph.resume_sync(result.run_id, input=answer, store=store, on_event=listener,
                                   work_dir=work_dir, services=services())  # fmt: skip
    return result


model_options = [
    click.option("--model", default=None, help="Model name for agent nodes (overrides the graph)."),
    click.option("--base-url", default=None, help="OpenAI-compatible endpoint for agent nodes."),
    click.option("--executor", type=click.Choice(["local", "sandbox", "docker"]), default=None,
                 help="Executor for code nodes left on `auto`."),
]


def _with(options: list[Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


def _services(store: Any, listener: Any, model: str | None, base_url: str | None,
              executor: str | None = None) -> Any:  # fmt: skip
    from graphflow.kinds.base import Services

    options = {k: v for k, v in (("model", model), ("base_url", base_url),
                                 ("executor", executor)) if v}  # fmt: skip
    return Services(store=store, emit=listener or (lambda e: None), options=options)


@main.command()
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
    from graphflow.graph import run_sync
    from graphflow.loader import load

    graph = load(graph_file)
    values = _parse_vars(variables)
    console = _console()
    store = _open_store(db)
    listener = _progress(events, quiet)
    def services() -> Any:
        return _services(store, listener, model, base_url, executor)

    result = run_sync(graph.run(input_, variables=values, store=store, run_id=run_id,
                                on_event=listener, work_dir=work_dir, services=services()))  # fmt: skip
    result = _answer_loop(graph, result, store, listener, _interactive(interactive) and not events,
                          services, work_dir)  # fmt: skip
    _finish(result, store, console, quiet, events)


@main.command()
@click.argument("run_id")
@click.option("--input", "-i", "input_", default=None, help="The answer to the waiting checkpoint.")
@click.option("--answer", multiple=True, metavar="NODE=TEXT",
              help="Answer one of several waiting checkpoints.")
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
def resume(run_id: str, input_: str | None, answer: tuple[str, ...], db: str,
           graph_file: str | None, allow_changed_graph: bool, work_dir: str | None, quiet: bool,
           events: str | None, interactive: bool | None, model: str | None,
           base_url: str | None, executor: str | None) -> None:  # fmt: skip
    """Continue RUN_ID from its last committed step (after a crash, or with an answer)."""
    from graphflow.graph import run_sync
    from graphflow.loader import graph_for_run, load

    store = _open_store(db, must_exist=True)
    run_id = _resolve_run_id(store, run_id)
    record = store.get_run(run_id)
    graph = load(graph_file) if graph_file else graph_for_run(record)
    answers: Any = input_
    if answer:
        answers = dict(a.partition("=")[::2] for a in answer)
    listener = _progress(events, quiet)
    def services() -> Any:
        return _services(store, listener, model, base_url, executor)

    result = run_sync(graph.resume(run_id, input=answers, store=store, on_event=listener,
                                   allow_changed_graph=allow_changed_graph, work_dir=work_dir,
                                   services=services()))  # fmt: skip
    result = _answer_loop(graph, result, store, listener, _interactive(interactive) and not events,
                          services, work_dir)  # fmt: skip
    _finish(result, store, _console(), quiet, events)


@main.command()
@db_option
@click.option("--status", default=None, help="Only runs with this status.")
@click.option("--limit", "-n", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def runs(db: str, status: str | None, limit: int, as_json: bool) -> None:
    """List runs, newest first, with their status."""
    from rich.table import Table

    store = _open_store(db, must_exist=True)
    records = store.list_runs(status=status, limit=limit)
    if as_json:
        click.echo(json.dumps([{"run_id": r.run_id, "graph": r.graph, "status": r.status,
                                "steps": r.last_step + 1, "reason": r.reason,
                                "parent_run": r.parent_run, "created_at": r.created_at,
                                "updated_at": r.updated_at} for r in records], indent=2))  # fmt: skip
        return
    table = Table("run", "graph", "status", "steps", "updated", "reason", box=None)
    for r in records:
        table.add_row(r.run_id, r.graph, r.status, str(r.last_step + 1),
                      time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.updated_at)),
                      _escape(r.reason or ""))  # fmt: skip
    console = _console()
    console.print(table if records else "no runs yet")


@main.command()
@click.argument("run_id")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def show(run_id: str, db: str, as_json: bool) -> None:
    """Show a run: status, steps, transcript, tokens and cost per node."""
    from graphflow.show import print_run, run_as_dict

    store = _open_store(db, must_exist=True)
    run_id = _resolve_run_id(store, run_id)
    if as_json:
        click.echo(json.dumps(run_as_dict(store, run_id), indent=2, default=str))
    else:
        print_run(_console(), store, run_id)


@main.command()
@click.argument("run_id")
@click.option("--at", "at_step", type=int, required=True, help="Step to fork before.")
@click.option("--new-id", default=None, help="Id of the new run.")
@db_option
@handle_errors
def fork(run_id: str, at_step: int, new_id: str | None, db: str) -> None:
    """Copy RUN_ID's state just before step AT into a new run, ready to resume."""
    from graphflow.loader import graph_for_run
    from graphflow.scheduler import new_run_id

    store = _open_store(db, must_exist=True)
    run_id = _resolve_run_id(store, run_id)
    record = store.get_run(run_id)
    graph = graph_for_run(record)
    new_id = new_id or new_run_id()
    store.fork_run(run_id, at_step, new_id, {"run": [graph.entry], "wait": []})
    click.echo(new_id)
    _console(stderr=True).print(f"forked {run_id} at step {at_step} into {new_id}; continue it "
                                f"with `graphflow resume {new_id}`")  # fmt: skip


@main.command()
@click.argument("target")
@click.option("--output", "-o", required=True, type=click.Path(),
              help="Output file: .svg, .png, .pdf, .dot or .mmd")
@click.option("--rankdir", type=click.Choice(["TB", "LR", "BT", "RL"]), default="TB")
@db_option
@handle_errors
def render(target: str, output: str, rankdir: str, db: str) -> None:
    """Draw TARGET: a graph file (or bundled graph name), or a RUN_ID with its path overlaid."""
    from graphflow.catalog import find_graph_file
    from graphflow.loader import graph_for_run, load

    overlay = None
    if find_graph_file(target) is not None:
        graph = load(target)
    else:
        store = _open_store(db, must_exist=True)
        run_id = _resolve_run_id(store, target)
        graph = graph_for_run(store.get_run(run_id))
        from graphflow.render.overlay import RunOverlay

        overlay = RunOverlay.from_store(store, run_id)
    path = graph.render(output, rankdir=rankdir, overlay=overlay)
    _console(stderr=True).print(f"wrote {path}")


@main.command()
@click.argument("graph_files", nargs=-1, required=True)
@handle_errors
def validate(graph_files: tuple[str, ...]) -> None:
    """Check graph files; print every problem found."""
    from graphflow.errors import DefinitionError
    from graphflow.loader import load

    failed = 0
    console = _console()
    for name in graph_files:
        try:
            graph = load(name)
        except DefinitionError as exc:
            failed += 1
            _console(stderr=True).print(f"[red]✗[/] {_escape(str(exc))}")
            continue
        edges = sum(len(v) for v in graph.out_edges.values())
        console.print(f"[green]✓[/] {name}: graph {graph.name!r}, {len(graph.nodes)} nodes, "
                      f"{edges} edges")  # fmt: skip
    if failed:
        sys.exit(2)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")


def _seconds(text: str) -> float:
    from graphflow.errors import DefinitionError

    match = _DURATION.match(text.strip())
    if not match:
        raise DefinitionError(f"--older-than {text!r}: use a number and a unit, e.g. 30d, 12h, 90m")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return float(match.group(1)) * unit


@main.command()
@db_option
@click.option("--older-than", default=None, help="Delete runs not updated for this long (30d, 12h).")
@click.option("--status", "statuses", multiple=True,
              help="Only runs with this status (repeatable). Waiting/running runs are kept unless named.")
@click.option("--keep", type=int, default=None, help="Always keep the newest N runs.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@handle_errors
def prune(db: str, older_than: str | None, statuses: tuple[str, ...], keep: int | None,
          dry_run: bool) -> None:  # fmt: skip
    """Delete old runs (retention)."""
    from graphflow.errors import DefinitionError

    if older_than is None and not statuses and keep is None:
        raise DefinitionError("prune needs --older-than, --status or --keep (nothing was deleted)")
    store = _open_store(db, must_exist=True)
    deleted = store.prune(older_than=_seconds(older_than) if older_than else None,
                          status=list(statuses) or None, keep_last=keep, dry_run=dry_run)  # fmt: skip
    verb = "would delete" if dry_run else "deleted"
    _console().print(f"{verb} {len(deleted)} run(s)" + (": " + ", ".join(deleted) if deleted else ""))


@main.command()
def graphs() -> None:
    """List the bundled example graphs."""
    from graphflow.catalog import bundled_dir

    directory = bundled_dir("graphs")
    for path in sorted(directory.glob("*.y*ml")) if directory else []:
        click.echo(f"{path.stem:28s} {path}")


def _register_optional() -> None:
    """Commands that live with their layers, registered when those layers are present."""
    try:
        from graphflow.models.cli import dev_model_server
    except ImportError:
        pass
    else:
        main.add_command(dev_model_server, "dev-model-server")
    try:
        from graphflow.report.cli import report
    except ImportError:
        pass
    else:
        main.add_command(report, "report")


_register_optional()

if __name__ == "__main__":  # pragma: no cover
    main()
