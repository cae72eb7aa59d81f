"""``graphflow serve``: the HTTP API and web UI over a run database."""

from __future__ import annotations

import click

from graphflow.cli._common import console, db_option, handle_errors
from graphflow.cli.workers import broker_option

__all__ = ["serve"]


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --token.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--token", default=None, envvar="GRAPHFLOW_SERVE_TOKEN",
              help="Require this token on every request (Bearer header, or open "
                   "/?token=TOKEN once in the browser); also GRAPHFLOW_SERVE_TOKEN.")
@click.option("--poll", default=0.5, show_default=True, type=click.FloatRange(0.05, 60),
              help="Seconds between reads of the store for each watched run.")
@click.option("--work-dir", default=None,
              help="Where code and file tools of the runs started here work "
                   "(default ./graphflow-work/RUN_ID).")
@broker_option
@handle_errors
def serve(db: str, host: str, port: int, token: str | None, poll: float,
          work_dir: str | None, broker: str | None) -> None:  # fmt: skip
    """Serve the runs of --db in the browser: the web UI and the HTTP API (live events,
    answers, forks, diagrams). Runs started or answered here run in this process, or,
    with --broker (or GRAPHFLOW_BROKER), are enqueued for `graphflow worker`."""
    from graphflow.serve import INSTALL_HINT

    try:
        from graphflow.serve import require_serve_dependencies

        require_serve_dependencies()
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
    from graphflow.serve.server import check_bind
    from graphflow.serve.server import serve as run_server

    check_bind(host, token)

    def ready(bound_host: str, bound_port: int) -> None:
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        where = f"http://{shown}:{bound_port}/"
        from graphflow.serve.errors import hide_passwords

        console(stderr=True).print(f"graphflow serve: runs of {hide_passwords(db)} at {where}"
                                   + (" (open it once with ?token=YOUR_TOKEN)" if token else "")
                                   + "; Ctrl-C stops", markup=False)  # fmt: skip

    run_server(db, host=host, port=port, token=token, poll=poll, work_dir=work_dir,
               on_ready=ready, broker=broker or None)  # fmt: skip
