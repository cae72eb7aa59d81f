"""Loading graphs from files (or bundled names) straight to compiled graphs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from graphflow.catalog import bundled_dir, find_graph_file
from graphflow.compiler import compile_spec
from graphflow.errors import DefinitionError, Problem
from graphflow.graph import CompiledGraph
from graphflow.spec import NOT_SERIALIZABLE, GraphSpec, load_spec

if TYPE_CHECKING:
    from graphflow.store import RunRecord

__all__ = ["graph_for_run", "load"]

logger = logging.getLogger(__name__)


def load(path_or_name: str | Path) -> CompiledGraph:
    """Load and compile a graph file, or a graph by name: ``graphs/NAME.yaml`` in the current
    directory, else a bundled graph (``"quickstart"``).

    Raises:
        DefinitionError: the file is missing or invalid (every problem listed).
    """
    path = find_graph_file(str(path_or_name))
    if path is None:
        fix = ("check the path or the name; graphs/NAME.yaml in the current directory is found "
               "by NAME, and bundled graphs are listed by `graphflow graphs`")
        if bundled_dir("graphs") is None:
            fix = ("graphflow's bundled graphs are missing from this installation; reinstall it "
                   "(`pip install -e .` again in a checkout)")
        raise DefinitionError([Problem(str(path_or_name), "no such graph file or graph name",
                                       fix)])  # fmt: skip
    logger.debug("loading graph file %s", path)
    return compile_spec(load_spec(path))


def graph_for_run(record: RunRecord) -> CompiledGraph:
    """Rebuild the compiled graph a stored run was started with (from its stored spec)."""
    base_dir = Path(record.source).resolve().parent if record.source else None
    try:
        spec = GraphSpec.from_file(record.spec, source=record.source)
    except DefinitionError as exc:  # the stored spec itself, not the file it came from
        stored = f"the spec stored with run {record.run_id!r}"
        problems = [Problem(p.where.replace(record.source, stored) if record.source else p.where,
                            p.what, p.fix) for p in exc.problems]  # fmt: skip
        raise DefinitionError(
            [*problems, Problem(f"run {record.run_id!r}", "the graph spec stored with this "
                                "run is invalid (damaged or edited)", "restore the run "
                                "database from a backup, or give the graph's file: "
                                f"graphflow resume {record.run_id} --graph FILE")],
            source=stored) from None  # fmt: skip
    try:
        return compile_spec(spec, base_dir=base_dir)
    except DefinitionError as exc:
        fix = ("it was built in Python with callables: resume it from Python, "
               "graph.resume(run_id, ...)" if NOT_SERIALIZABLE in json.dumps(record.spec)
               else "")  # fmt: skip
        raise DefinitionError(
            [*exc.problems, Problem(f"run {record.run_id!r}",
                                    "the graph stored with this run cannot be rebuilt here", fix)],
            source=record.source or record.graph) from None  # fmt: skip
