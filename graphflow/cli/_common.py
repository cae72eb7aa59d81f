"""What every ``graphflow`` command shares: the console, the ``--db`` option, opening the
run database, run-id prefixes, and turning errors into a message and an exit code."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from graphflow.errors import GraphflowError, RunInUse, RunNotFound, StaleAnswer, StoreError

if TYPE_CHECKING:
    from rich.console import Console

    from graphflow.store import RunRecord, RunStatus, RunStore

__all__ = ["DEFAULT_DB", "EXIT_CODES", "console", "db_option", "escape", "handle_errors",
           "input_option", "json_option", "open_store", "print_json", "read_text",
           "resolve_run", "run_id_option", "setup_logging", "var_option"]  # fmt: skip

F = TypeVar("F", bound=Callable[..., Any])

#: The exit code of a command that ran a run, by the run's status (every status has one).
EXIT_CODES: dict[RunStatus, int] = {"completed": 0, "failed": 1, "waiting": 3, "limit_reached": 4,
                                    "budget_exceeded": 4, "timeout": 4, "ready": 0,
                                    "running": 1, "damaged": 2}  # fmt: skip
DEFAULT_DB = "graphflow.db"


def console(stderr: bool = False) -> Console:
    """A rich console for a command's output (``stderr=True`` for messages about it).
    Emoji codes are left as written: ``nomodule:x:`` in a message must not print as an
    emoji."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def escape(text: str) -> str:
    """``text`` with rich markup made literal."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def handle_errors(fn: F) -> F:
    """Turn GraphflowErrors into a one-paragraph message and an exit code, no traceback:
    5 for a run in use by another process or an answer to a question answered already,
    2 for every other error, 130 for Ctrl-C."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (RunInUse, StaleAnswer) as exc:
            console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}")
            sys.exit(5)
        except GraphflowError as exc:
            console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}")
            sys.exit(2)
        except KeyboardInterrupt:
            console(stderr=True).print("[yellow]interrupted[/]: the last committed step is "
                                       "kept; continue with `graphflow resume RUN_ID`")  # fmt: skip
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON on standard output.")  # fmt: skip


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on standard output."""
    import json

    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def read_text(value: str | None, what: str) -> str | None:
    """``value``, or standard input read whole when it is ``-``.

    Raises:
        click.UsageError: ``-`` while standard input is a terminal (nothing piped in).
    """
    if value != "-":
        return value
    if sys.stdin.isatty():
        raise click.UsageError(f"{what} is '-' (read from standard input), but nothing is "
                               f"piped in; pipe it in (… | graphflow …) or give it directly")  # fmt: skip
    return sys.stdin.read()


def setup_logging(verbosity: int) -> None:
    """Show graphflow's log records on standard error: ``-v`` INFO, ``-vv`` DEBUG (or
    ``GRAPHFLOW_LOG=info|debug``); without them, warnings only."""
    import logging

    level = {0: None, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    named = os.environ.get("GRAPHFLOW_LOG", "").strip().upper()
    if level is None and named in ("DEBUG", "INFO", "WARNING", "ERROR"):
        level = getattr(logging, named)
    if level is None:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("graphflow")
    root.addHandler(handler)
    root.setLevel(level)


db_option = click.option("--db", default=DEFAULT_DB, envvar="GRAPHFLOW_DB",
                         show_default="graphflow.db (or $GRAPHFLOW_DB)", type=click.Path(),
                         help="Run database: an SQLite file, or a postgresql://USER@HOST/DB "
                              "URL (a Postgres server shared by many machines).")  # fmt: skip

#: The options that start a run of a graph file (``run``, ``submit``).
input_option = click.option("--input", "-i", "input_", default=None,
                            help="The first message of the run ('-': read it from standard "
                                 "input).")  # fmt: skip
var_option = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
                          help="Set a graph variable (VALUE parsed as JSON when it can be).")
run_id_option = click.option("--run-id", default=None, help="Choose the run id.")


def open_store(db: str, must_exist: bool = False) -> RunStore:
    """Open the run database ``db`` names: a ``postgresql://`` (or ``postgres://``) URL
    opens the Postgres store, anything else is an SQLite file.

    Raises:
        StoreError: ``must_exist`` and there is no file at ``db``; a Postgres server that
            cannot be reached, refuses the login or has no such database (one paragraph
            with the fix); psycopg not installed (naming the extra to install).
    """
    from graphflow.store import Store
    from graphflow.store.postgres import is_postgres_url, refuse_keyword_string

    if is_postgres_url(db):
        from graphflow.store.postgres import PostgresStore

        return PostgresStore(db)
    refuse_keyword_string(db)
    if must_exist and db != ":memory:" and not Path(db).exists():
        raise StoreError(f"no run database at {db}; run a graph first (`graphflow run FILE`) "
                         "or point --db at an existing database")  # fmt: skip
    return Store(db)


def resolve_run(store: RunStore, run_id: str) -> RunRecord:
    """The run ``run_id`` names, by its full id or a unique prefix (read once).

    Raises:
        RunNotFound: no run has that id or prefix.
        StoreError: the prefix matches several runs.
    """
    try:
        return store.get_run(run_id)
    except RunNotFound:
        matches = store.find_runs(run_id)
        if len(matches) == 1:
            return store.get_run(str(matches[0]))
        if len(matches) > 1:
            raise StoreError(f"run id prefix {run_id!r} matches {len(matches)} runs "
                             f"({', '.join(matches[:5])}); give more characters") from None  # fmt: skip
        raise
