"""``graphflow report RUN_ID -o run.html``: write a run's HTML report.

The command is registered by ``graphflow.cli`` when this module is present; the
functions it shares with the other commands are imported when it runs, because
``graphflow.cli`` imports this module while it loads.
"""

from __future__ import annotations

import os

import click

__all__ = ["report"]


@click.command()
@click.argument("run_id")
@click.option(
    "--output",
    "-o",
    default=None,
    type=click.Path(),
    help="The HTML file to write (default: RUN_ID.html).",
)
@click.option(
    "--rankdir",
    type=click.Choice(["TB", "LR", "BT", "RL"]),
    default="TB",
    help="Direction of the diagram.",
)
@click.option(
    "--db",
    default=lambda: os.environ.get("GRAPHFLOW_DB", "graphflow.db"),
    show_default="graphflow.db (or $GRAPHFLOW_DB)",
    type=click.Path(),
    help="SQLite run database.",
)
def report(run_id: str, output: str | None, rankdir: str, db: str) -> None:
    """Write RUN_ID's report: diagram, timeline, tokens, cost and latency, in one HTML file."""
    from graphflow.cli import handle_errors

    handle_errors(_report)(run_id, output, rankdir, db)


def _report(run_id: str, output: str | None, rankdir: str, db: str) -> None:
    from graphflow.cli import _console, _open_store, _resolve_run_id
    from graphflow.report import write_report

    store = _open_store(db, must_exist=True)
    try:
        run_id = _resolve_run_id(store, run_id)
        path = write_report(store, run_id, output or f"{run_id}.html", rankdir=rankdir)
    finally:
        store.close()
    _console(stderr=True).print(f"wrote {path}")
