"""``graphflow render``, ``validate`` and ``graphs``: graph files and their diagrams."""

from __future__ import annotations

import sys

import click

from graphflow.cli._common import (
    console,
    db_option,
    escape,
    handle_errors,
    open_store,
    resolve_run_id,
)

__all__ = ["graphs", "render", "validate"]


@click.command()
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
        from graphflow.render.overlay import RunOverlay

        store = open_store(db, must_exist=True)
        run_id = resolve_run_id(store, target)
        graph = graph_for_run(store.get_run(run_id))
        overlay = RunOverlay.from_store(store, run_id)
    path = graph.render(output, rankdir=rankdir, overlay=overlay)
    console(stderr=True).print(f"wrote {path}")


@click.command()
@click.argument("graph_files", nargs=-1, required=True)
@handle_errors
def validate(graph_files: tuple[str, ...]) -> None:
    """Check graph files; print every problem found."""
    from graphflow.errors import DefinitionError
    from graphflow.loader import load

    failed = 0
    out = console()
    for name in graph_files:
        try:
            graph = load(name)
        except DefinitionError as exc:
            failed += 1
            console(stderr=True).print(f"[red]✗[/] {escape(str(exc))}")
            continue
        edges = sum(len(v) for v in graph.out_edges.values())
        out.print(f"[green]✓[/] {name}: graph {graph.name!r}, {len(graph.nodes)} nodes, "
                  f"{edges} edges")  # fmt: skip
    if failed:
        sys.exit(2)


@click.command()
def graphs() -> None:
    """List the bundled example graphs."""
    from graphflow.catalog import bundled_dir

    directory = bundled_dir("graphs")
    for path in sorted(directory.glob("*.y*ml")) if directory else []:
        click.echo(f"{path.stem:28s} {path}")
