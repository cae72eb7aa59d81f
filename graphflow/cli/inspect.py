"""``graphflow runs``, ``show``, ``fork`` and ``prune``: the runs a database holds."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import click

from graphflow.cli._common import (
    console,
    db_option,
    escape,
    handle_errors,
    json_option,
    open_store,
    print_json,
    resolve_run,
)

if TYPE_CHECKING:
    from graphflow.store import RunRecord

__all__ = ["fork", "prune", "runs", "show"]


@click.command()
@db_option
@click.option("--status", default=None, help="Only runs with this status.")
@click.option("--limit", "-n", default=50, show_default=True, help="At most this many runs.")
@json_option
@handle_errors
def runs(db: str, status: str | None, limit: int, as_json: bool) -> None:
    """List runs, newest first, with their status (and, for waiting runs, the ids of the
    questions they wait on). On a terminal, a table that fits its width with whole run ids;
    piped, one tab-separated line per run (full ids)."""
    from graphflow.resuming import question_ids

    store = open_store(db, must_exist=True)
    records = store.list_runs(status=status, limit=limit)

    def reason(r: RunRecord) -> str:
        text = r.reason or ", ".join(f"waits on {q}" for q in question_ids(r).values())
        return " ".join(text.split())

    if as_json:
        print_json([{"run_id": r.run_id, "graph": r.graph, "status": r.status,
                     "steps": r.last_step + 1, "reason": r.reason,
                     "questions": list(question_ids(r).values()), "parent_run": r.parent_run,
                     "created_at": r.created_at, "updated_at": r.updated_at}
                    for r in records])  # fmt: skip
        return
    out = console()
    if not out.is_terminal:
        for r in records:
            when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(r.updated_at))
            click.echo("\t".join([r.run_id, r.graph, r.status, str(r.last_step + 1), when,
                                  reason(r)]))  # fmt: skip
        return
    if not records:
        out.print("no runs yet")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, expand=False)
    table.add_column("run", no_wrap=True, min_width=len(max((r.run_id for r in records), key=len)))
    table.add_column("status", no_wrap=True)
    table.add_column("steps", justify="right", no_wrap=True)
    table.add_column("updated", no_wrap=True)
    table.add_column("graph", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("reason", no_wrap=True, overflow="ellipsis", ratio=1)
    for r in records:
        table.add_row(r.run_id, r.status, str(r.last_step + 1),
                      time.strftime("%m-%d %H:%M", time.localtime(r.updated_at)), r.graph,
                      escape(reason(r)))  # fmt: skip
    out.print(table)


@click.command()
@click.argument("run_id")
@db_option
@json_option
@click.option("--calls", is_flag=True,
              help="Show each model call: prompt, answer, tokens, cost and latency.")
@click.option("--save-artifacts", "save_to", default=None, metavar="DIR",
              help="Write the files the run's code produced into DIR (the newest of each name).")
@handle_errors
def show(run_id: str, db: str, as_json: bool, calls: bool, save_to: str | None) -> None:
    """Show a run: status, models, steps, transcript, artifacts, tokens and cost per node."""
    from graphflow.show import print_calls, print_run, run_as_dict, save_artifacts
    from graphflow.terminal import visible

    store = open_store(db, must_exist=True)
    run_id = resolve_run(store, run_id).run_id
    if save_to is not None:
        for path in save_artifacts(store, run_id, save_to):
            console(stderr=True).print(f"saved {escape(visible(str(path)))}")
        return
    if as_json:
        print_json(run_as_dict(store, run_id, calls=calls))
    elif calls:
        print_calls(console(), store, run_id)
    else:
        print_run(console(), store, run_id)


@click.command()
@click.argument("run_id")
@click.option("--at", "at_step", type=int, required=True, help="Step to fork before.")
@click.option("--new-id", default=None, help="Id of the new run.")
@db_option
@json_option
@handle_errors
def fork(run_id: str, at_step: int, new_id: str | None, db: str, as_json: bool) -> None:
    """Copy RUN_ID's state just before step AT into a new run, ready to resume; print
    the new run's id."""
    from graphflow.scheduler import new_run_id
    from graphflow.store.retention import entry_frontier

    store = open_store(db, must_exist=True)
    record = resolve_run(store, run_id)
    run_id = record.run_id
    new_id = new_id or new_run_id()
    store.fork_run(run_id, at_step, new_id, entry_frontier(record))
    if as_json:
        print_json({"run_id": new_id, "forked_from": run_id, "at_step": at_step})
        return
    click.echo(new_id)
    console(stderr=True).print(f"forked {run_id} at step {at_step} into {new_id}; continue it "
                               f"with `graphflow resume {new_id}`")  # fmt: skip


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")


def _seconds(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise click.BadParameter(f"{text!r}: use a number and a unit, e.g. 30d, 12h, 90m",
                                 param_hint="--older-than")  # fmt: skip
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return float(match.group(1)) * unit


@click.command()
@db_option
@click.option("--older-than", default=None, help="Delete runs not updated for this long (30d, 12h).")
@click.option("--status", "statuses", multiple=True,
              help="Only runs with this status (repeatable). Waiting, running and damaged "
                   "runs are kept unless named.")
@click.option("--keep", type=int, default=None, help="Always keep the newest N runs.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@json_option
@handle_errors
def prune(db: str, older_than: str | None, statuses: tuple[str, ...], keep: int | None,
          dry_run: bool, as_json: bool) -> None:  # fmt: skip
    """Delete old runs (retention)."""
    if older_than is None and not statuses and keep is None:
        raise click.UsageError("prune needs --older-than, --status or --keep (nothing was deleted)")
    seconds = _seconds(older_than) if older_than else None
    store = open_store(db, must_exist=True)
    deleted = store.prune(older_than=seconds, status=list(statuses) or None, keep_last=keep,
                          dry_run=dry_run)  # fmt: skip
    if as_json:
        print_json({"deleted": [] if dry_run else deleted, "would_delete": deleted if dry_run
                    else []})  # fmt: skip
        return
    verb = "would delete" if dry_run else "deleted"
    console().print(f"{verb} {len(deleted)} run(s)" + (": " + ", ".join(deleted) if deleted else ""))
