"""``graphflow worker`` and ``graphflow submit``: run graphs on Celery workers that share
one run store, and enqueue continuations (``graphflow resume RUN --broker URL``)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from graphflow.cli._common import (
    console,
    db_option,
    escape,
    handle_errors,
    input_option,
    open_store,
    read_text,
    run_id_option,
    var_option,
)

__all__ = ["broker_option", "enqueue_continuation", "submit", "worker"]

broker_option = click.option(
    "--broker", default=lambda: os.environ.get("GRAPHFLOW_BROKER"),
    show_default="$GRAPHFLOW_BROKER", metavar="URL",
    help="The Celery broker (redis://HOST:PORT/DB); also from GRAPHFLOW_BROKER.")  # fmt: skip


def _need_broker(broker: str | None) -> str:
    if not broker:
        raise click.UsageError("no broker: pass --broker redis://HOST:PORT/DB or set "
                               "GRAPHFLOW_BROKER")  # fmt: skip
    return broker


@click.command()
@db_option
@broker_option
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Runs advanced at once: worker processes (default: one per CPU).")
@click.option("--pool", type=click.Choice(["prefork", "solo"]), default="prefork",
              show_default=True,
              help="prefork: each run in a child process (a crashed or killed one gives its "
                   "run back at once); solo: in this process, one at a time.")
@click.option("--graph", "graph_files", multiple=True, metavar="FILE",
              help="This worker's version of a graph (repeatable): runs of a graph of that "
                   "name are continued with it, after a topology check, instead of the graph "
                   "stored with the run.")
@click.option("--visibility-timeout", type=click.FloatRange(min=1), default=300.0,
              show_default=True, metavar="SECONDS",
              help="Seconds before a run taken by a worker that vanished is delivered again.")
@click.option("--loglevel", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"],
                                               case_sensitive=False),
              default="INFO", show_default=True, help="The worker's log level.")
@handle_errors
def worker(db: str, broker: str | None, concurrency: int | None, pool: str,
           graph_files: tuple[str, ...], visibility_timeout: float, loglevel: str) -> None:  # fmt: skip
    """Start a Celery worker that advances runs of the store --db taken from --broker's
    queue, until stopped (Ctrl-C or SIGTERM: the runs in progress finish first). The
    store is opened once first: one that cannot be opened is an error at start."""
    from graphflow.distributed import make_app, start_worker
    from graphflow.loader import load

    broker = _need_broker(broker)
    open_store(db).close()  # a store it cannot open (down, refused login): say so now
    graphs = {graph.name: graph for graph in (load(path) for path in graph_files)}
    app = make_app(broker, db, visibility_timeout=visibility_timeout, graphs=graphs)
    start_worker(app, concurrency=concurrency, pool=pool, loglevel=loglevel.upper())


@click.command()
@click.argument("graph_file")
@input_option
@var_option
@db_option
@broker_option
@run_id_option
@handle_errors
def submit(graph_file: str, input_: str | None, variables: tuple[str, ...], db: str,
           broker: str | None, run_id: str | None) -> None:  # fmt: skip
    """Create a run of GRAPH_FILE in the store --db (status ready, nothing executed),
    enqueue it for a worker and print its id."""
    from graphflow.cli.running import parse_vars
    from graphflow.distributed import submit as submit_run

    broker = _need_broker(broker)
    values = parse_vars(variables)
    first = read_text(input_, "--input")
    click.echo(submit_run(graph_file, first, variables=values, store=db, broker=broker,
                          run_id=run_id))  # fmt: skip


def enqueue_continuation(run_id: str, answers: Any, question: str | None, *, db: str,
                         broker: str, ignored: dict[str, Any]) -> None:  # fmt: skip
    """What ``graphflow resume RUN --broker URL`` does: enqueue the continuation (with the
    answer) for a worker instead of running it here; print ``RUN_ID enqueued``; exit 0.

    Raises:
        click.UsageError: options that only make sense in this process were given.
    """
    given = [f"--{name.replace('_', '-')}" for name, value in ignored.items() if value]
    if given:
        raise click.UsageError(f"{', '.join(given)} cannot be used with --broker: the worker "
                               "continues the run with its own settings")  # fmt: skip
    from graphflow.distributed import enqueue_resume

    answered = enqueue_resume(run_id, input=answers, question=question, store=db, broker=broker)
    click.echo(f"{run_id} enqueued" + (f" (answer to {answered})" if answered else ""))
    console(stderr=True).print(f"follow it with: graphflow show {escape(run_id)}")
    sys.exit(0)
