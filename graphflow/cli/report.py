"""``graphflow report RUN_ID -o run.html``: write a run's HTML report."""

from __future__ import annotations

import click

from graphflow.cli._common import console, db_option, handle_errors, open_store, resolve_run

__all__ = ["report"]


@click.command()
@click.argument("run_id")
@click.option(
    "--output",
    "-o",
    default=None,
    type=click.Path(allow_dash=True),
    help="The HTML file to write (default: RUN_ID.html); '-' writes to standard output.",
)
@click.option(
    "--rankdir",
    type=click.Choice(["TB", "LR", "BT", "RL"]),
    default="TB",
    help="Direction of the diagram.",
)
@db_option
@handle_errors
def report(run_id: str, output: str | None, rankdir: str, db: str) -> None:
    """Write RUN_ID's report: diagram, timeline, tokens, cost and latency, in one HTML file."""
    from graphflow.report import build_report, write_report

    store = open_store(db, must_exist=True)
    try:
        run_id = resolve_run(store, run_id).run_id
        if output == "-":
            click.echo(build_report(store, run_id, rankdir=rankdir), nl=False)
            return
        path = write_report(store, run_id, output or f"{run_id}.html", rankdir=rankdir)
    finally:
        store.close()
    console(stderr=True).print(f"wrote {path}")
