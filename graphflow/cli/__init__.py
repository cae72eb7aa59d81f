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

One module per group of commands: :mod:`~graphflow.cli.running` (run, resume), :mod:`~graphflow.cli.workers` (worker, submit),
:mod:`~graphflow.cli.inspect` (runs, show, fork, prune), :mod:`~graphflow.cli.graphs`
(render, validate, graphs), :mod:`~graphflow.cli.knowledge` (index add, index search),
:mod:`~graphflow.cli.report`, :mod:`~graphflow.cli.memory` (memory list, forget),
:mod:`~graphflow.cli.serving` (serve), :mod:`~graphflow.cli.tuning` (tune) and
:mod:`~graphflow.cli.dev_server`; what they share is in :mod:`graphflow.cli._common`.
"""

from __future__ import annotations

import sys

import click

from graphflow.cli._common import EXIT_CODES
from graphflow.cli.dev_server import dev_model_server
from graphflow.cli.graphs import graphs, render, validate
from graphflow.cli.inspect import fork, prune, runs, show
from graphflow.cli.knowledge import index
from graphflow.cli.memory import memory
from graphflow.cli.report import report
from graphflow.cli.running import resume, run
from graphflow.cli.serving import serve
from graphflow.cli.tuning import tune
from graphflow.cli.workers import submit, worker

__all__ = ["EXIT_CODES", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "-V", "--version", package_name="graphflow",
                      message="graphflow %(version)s")  # fmt: skip
@click.option("--verbose", "-v", count=True,
              help="Show log records on standard error: -v for INFO, -vv for DEBUG "
                   "(also GRAPHFLOW_LOG=info|debug).")
@click.option("--safe", is_flag=True, envvar="GRAPHFLOW_SAFE",
              help="Safe mode: graph files, node catalogs and stored runs may only name import "
                   "paths of the bundled catalog, registered entry points and --allow-import "
                   "modules; `validate` imports nothing.")
@click.option("--allow-import", "allow_imports", multiple=True, metavar="MODULE",
              help="A module (and its submodules) safe mode allows; implies --safe.")
@click.pass_context
def main(ctx: click.Context, verbose: int, safe: bool, allow_imports: tuple[str, ...]) -> None:
    """graphflow: multi-agent conversations compiled from graphs, checkpointed to SQLite.

    Shell completion: eval "$(_GRAPHFLOW_COMPLETE=bash_source graphflow)" (zsh_source,
    fish_source for other shells); see docs/cli.md.
    """
    from graphflow.cli._common import setup_logging

    setup_logging(verbose)
    _check_arguments(sys.argv[1:])
    if safe or allow_imports:
        from graphflow.imports import safe_imports

        ctx.with_resource(safe_imports(allow_imports,
                                       import_modules=ctx.invoked_subcommand != "validate"))


def _check_arguments(args: list[str]) -> None:
    """Refuse arguments that are not text (bytes that are not UTF-8 arrive as lone
    surrogates, which no file, database or terminal can hold)."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise click.UsageError(f"argument {shown!r} is not UTF-8 text; pass it as UTF-8 "
                                   "(for binary data, use a file)") from None


for _command in (run, resume, runs, show, fork, render, validate, prune, graphs, report,
                 serve, dev_model_server, memory, tune, submit, worker, index):  # fmt: skip
    main.add_command(_command)
