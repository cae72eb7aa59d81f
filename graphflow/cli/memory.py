"""``graphflow memory list`` and ``graphflow memory forget``: what teachable agents learned."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import click

from graphflow.cli._common import console, escape, handle_errors, json_option, print_json

if TYPE_CHECKING:
    from graphflow.memory import MemoStore

__all__ = ["memory"]


def _default_db() -> str:
    from graphflow.memory import default_memory_db

    return str(default_memory_db(os.environ.get("GRAPHFLOW_DB") or None))


memory_db_option = click.option(
    "--db", default=_default_db, type=click.Path(dir_okay=False),
    show_default="graphflow-memory.db beside the run database ($GRAPHFLOW_MEMORY_DB)",
    help="The memo database (teachability's db: option, if the graph sets one).")  # fmt: skip


def _open(db: str) -> MemoStore:
    from graphflow.memory import MemoStore

    return MemoStore(db, create=False)


@click.group()
def memory() -> None:
    """List and forget the memos teachable agents learned (facts, preferences, task
    advice), kept in the memo database."""


@memory.command("list")
@click.option("--agent", default=None, help="Only this agent's memos.")
@memory_db_option
@json_option
@handle_errors
def list_memos(agent: str | None, db: str, as_json: bool) -> None:
    """List memos, oldest first: id, agent, kind, topic, memo and where it was learned
    (RUN@STEP).
    On a terminal, a table; piped, one tab-separated line per memo."""
    from graphflow.memory import MemoNotFound

    with _open(db) as store:
        memos = store.memos(agent)
        if agent is not None and not memos:
            raise MemoNotFound(f"no memos of agent {agent!r} in {db}; "
                               f"{store.agents_summary()}")  # fmt: skip
    if as_json:
        print_json([m.to_record() for m in memos])
        return
    out = console()
    if not out.is_terminal:
        for m in memos:
            when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(m.created_at))
            click.echo("\t".join([m.id, m.agent, m.kind, " ".join(m.topic.split()),
                                  " ".join(m.text.split()), m.run_id or "", when]))  # fmt: skip
        return
    if not memos:
        out.print(f"no memos in {escape(db)}")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, expand=True)
    for column in ("memo id", "agent", "kind"):
        table.add_column(column, no_wrap=True)
    table.add_column("topic", ratio=1, overflow="fold")
    table.add_column("memo", ratio=2, overflow="fold")
    table.add_column("learned in", no_wrap=True)
    for m in memos:
        where = f"{m.run_id}@{m.step}" if m.run_id else ""
        table.add_row(m.id, escape(m.agent), m.kind, escape(m.topic), escape(m.text), where)
    out.print(table)


@memory.command("forget")
@click.argument("memo_id", required=False)
@click.option("--agent", default=None, help="Forget every memo of this agent.")
@click.option("--all", "everything", is_flag=True, help="Forget every memo of every agent.")
@memory_db_option
@json_option
@handle_errors
def forget(memo_id: str | None, agent: str | None, everything: bool, db: str,
           as_json: bool) -> None:  # fmt: skip
    """Forget MEMO_ID (an id from `memory list`, or a unique prefix), or every memo of
    --agent NAME, or --all of them."""
    chosen = [x for x in (memo_id is not None, agent is not None, everything) if x]
    if len(chosen) != 1:
        raise click.UsageError("name what to forget: a MEMO_ID, --agent NAME or --all "
                               "(exactly one of them; nothing was deleted)")  # fmt: skip
    with _open(db) as store:
        if memo_id is not None:
            memo = store.forget(memo_id)
            count, text = 1, f"forgot memo {memo.id} of {memo.agent}: {memo.text}"
        elif agent is not None:
            count = store.forget_agent(agent)
            text = f"forgot {count} memo(s) of {agent}"
        else:
            count = store.forget_all()
            text = f"forgot {count} memo(s)"
    if as_json:
        print_json({"forgotten": count, "message": text})
        return
    console().print(escape(text))
