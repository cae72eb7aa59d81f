"""``graphflow dev-model-server``: run the scripted OpenAI-compatible server by hand."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

__all__ = ["dev_model_server"]


@click.command("dev-model-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=0,
    type=click.IntRange(0, 65535),
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--script",
    "script_path",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML/JSON file: a list of replies, or a mapping with replies, rules (which may "
    "inject faults) and default. Without it, the server answers like the offline model.",
)
@click.option(
    "--latency",
    default=0.0,
    type=click.FloatRange(min=0),
    show_default=True,
    help="Seconds to wait before each answer.",
)
@click.option("--api-key", default=None, help="Require this bearer key on every request.")
def dev_model_server(
    host: str, port: int, script_path: str | None, latency: float, api_key: str | None
) -> None:
    """Serve a scripted, OpenAI-compatible chat model for offline development.

    Point a graph at it with OPENAI_BASE_URL=<the printed URL> and GRAPHFLOW_MODEL=scripted,
    or with base_url: in the graph's models: section. It answers /v1/chat/completions
    (streaming too) and /v1/models.
    """
    from graphflow.errors import GraphflowError
    from graphflow.models.offline import offline_reply
    from graphflow.testing.faults import FaultScript
    from graphflow.testing.server import ModelServer

    try:
        script = (FaultScript.load(script_path) if script_path
                  else FaultScript(function=offline_reply))  # fmt: skip
        server = ModelServer(script, host=host, port=port, latency=latency, api_key=api_key)
        server.start()
    except GraphflowError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    click.echo(f"serving a scripted OpenAI-compatible model at {server.base_url}", err=False)
    click.echo(f"  OPENAI_BASE_URL={server.base_url} GRAPHFLOW_MODEL=scripted  (Ctrl-C to stop)")
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo(f"stopped after {server.requests} requests")
