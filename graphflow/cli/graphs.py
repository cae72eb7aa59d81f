"""``graphflow render``, ``validate`` and ``graphs``: graph files and their diagrams."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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

__all__ = ["graphs", "render", "validate"]

_FORMATS = ("svg", "png", "pdf", "dot", "mmd")


@click.command()
@click.argument("target")
@click.option("--output", "-o", required=True, type=click.Path(allow_dash=True),
              help="Output file: .svg, .png, .pdf, .dot or .mmd; '-' writes to standard "
                   "output (in --format).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default=None,
              help="The format, when the output's suffix does not say it (with -o -: svg).")
@click.option("--rankdir", type=click.Choice(["TB", "LR", "BT", "RL"]), default="TB",
              help="Direction of the diagram.")
@db_option
@handle_errors
def render(target: str, output: str, fmt: str | None, rankdir: str, db: str) -> None:
    """Draw TARGET: a graph file (or bundled graph name, or '-' for one piped in), or a
    RUN_ID with its path overlaid."""
    from graphflow.catalog import find_graph_file
    from graphflow.cli.running import _load_graph
    from graphflow.loader import graph_for_run

    overlay = None
    if target == "-" or find_graph_file(target) is not None:
        graph = _load_graph(target)
    else:
        from graphflow.render.overlay import RunOverlay

        store = open_store(db, must_exist=True)
        record = resolve_run(store, target)
        run_id = record.run_id
        graph = graph_for_run(record)
        overlay = RunOverlay.from_store(store, run_id)
    if output != "-":
        path = Path(output)
        if fmt is not None and path.suffix.lstrip(".").lower() != fmt:
            path = path.with_name(f"{path.name}.{fmt}")
        written = graph.render(path, rankdir=rankdir, overlay=overlay)
        console(stderr=True).print(f"wrote {written}")
        return
    _to_stdout(graph, fmt or "svg", rankdir=rankdir, overlay=overlay)


def _to_stdout(graph: Any, fmt: str, **options: Any) -> None:
    from graphflow.render.dot import to_dot, to_image
    from graphflow.render.mermaid import to_mermaid

    if fmt == "dot":
        click.echo(to_dot(graph, **options), nl=False)
    elif fmt == "mmd":
        click.echo(to_mermaid(graph, **options), nl=False)
    else:
        sys.stdout.buffer.write(to_image(graph, fmt, **options))
        sys.stdout.flush()


@click.command()
@click.argument("graph_files", nargs=-1, required=True)
@json_option
@handle_errors
def validate(graph_files: tuple[str, ...], as_json: bool) -> None:
    """Check graph files ('-' reads one from standard input); print every problem found.
    Exit code 2 when any is invalid."""
    from graphflow.cli.running import _load_graph
    from graphflow.errors import DefinitionError

    failed = 0
    out = console()
    reports: list[dict[str, Any]] = []
    for name in graph_files:
        try:
            graph = _load_graph(name)
        except DefinitionError as exc:
            failed += 1
            reports.append({"file": name, "valid": False,
                            "problems": [{"where": p.where, "what": p.what, "fix": p.fix}
                                         for p in exc.problems]})  # fmt: skip
            if not as_json:
                console(stderr=True).print(f"[red]✗[/] {escape(str(exc))}")
            continue
        edges = sum(len(v) for v in graph.out_edges.values())
        reports.append({"file": name, "valid": True, "graph": graph.name,
                        "nodes": len(graph.nodes), "edges": edges})  # fmt: skip
        if not as_json:
            out.print(f"[green]✓[/] {escape(name)}: graph {graph.name!r}, {len(graph.nodes)} "
                      f"nodes, {edges} edges")  # fmt: skip
    if as_json:
        print_json(reports)
    if failed:
        sys.exit(2)


@click.command()
@json_option
def graphs(as_json: bool) -> None:
    """List the bundled example graphs with what each shows; run one with
    `graphflow run NAME`."""
    from graphflow.catalog import bundled_dir

    directory = bundled_dir("graphs")
    found = []
    paths = [*sorted(directory.glob("*.y*ml")), *sorted(directory.glob("*/*.y*ml"))] if (
        directory) else []  # fmt: skip
    for path in paths:  # graphs of a folder (gallery/) are named FOLDER/NAME
        name = path.relative_to(directory).with_suffix("").as_posix() if directory else path.stem
        found.append({"name": name, "description": _description(path), "path": str(path)})
    if as_json:
        print_json(found)
        return
    out = console()
    if not out.is_terminal:
        for item in found:
            click.echo(f"{item['name']}\t{_first_sentence(item['description'])}")
        return
    width = max((len(item["name"]) for item in found), default=0)
    for item in found:
        out.print(f"[bold]{item['name']:<{width}}[/]  {escape(_first_sentence(item['description']))}")


def _description(path: Path) -> str:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return ""
    text = data.get("description") if isinstance(data, dict) else None
    return " ".join(str(text or "").split())


def _first_sentence(text: str) -> str:
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]
