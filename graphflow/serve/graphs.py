"""The graphs the server can start: the files it lists by name, and graph-file text sent
in a request.

``GET /api/graphs`` lists the graphs in ``graphs/`` of the server's working directory and
the bundled ones (``quickstart`` …). ``POST /api/runs`` names one of them, or sends the
text of a graph file (YAML or JSON). Graph files are code-equivalent (they name import
paths), so text sent over HTTP is compiled and run in safe mode
(:func:`graphflow.import_policy.safe_imports`): it may only name the bundled catalog,
registered entry points and the modules of ``GRAPHFLOW_ALLOW_IMPORTS``. A name is never
taken as a path: ``../x`` or ``/etc/x`` are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflow.errors import DefinitionError, Problem

if TYPE_CHECKING:
    from graphflow.graph import CompiledGraph
    from graphflow.store import RunRecord

__all__ = ["GraphChoice", "file_references", "graph_dirs", "graph_for_stored_run", "list_graphs",
           "resolve_graph"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class GraphChoice:
    """A graph a request chose: compiled, with its ``name`` (``None`` for text sent in
    the request) and whether it runs in safe mode (``safe``: text sent in the request)."""

    graph: CompiledGraph
    name: str | None
    safe: bool


def graph_dirs() -> list[Path]:
    """Where named graphs are found, first match wins: ``./graphs``, then the bundled ones."""
    from graphflow.catalog import bundled_dir

    dirs = [Path.cwd() / "graphs"]
    bundled = bundled_dir("graphs")
    if bundled is not None:
        dirs.append(bundled)
    return [d for d in dirs if d.is_dir()]


def _files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in graph_dirs():
        for path in sorted(directory.iterdir()):
            if path.suffix in _SUFFIXES and path.is_file() and _NAME.match(path.stem):
                found.setdefault(path.stem, path)
    return found


def list_graphs() -> list[dict[str, Any]]:
    """The graphs a run can be started of by name: ``[{"name", "description",
    "variables", "bundled"}]``, sorted by name."""
    import yaml

    from graphflow.catalog import bundled_dir

    bundled = bundled_dir("graphs")
    out = []
    for name, path in sorted(_files().items()):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, ValueError):
            data = None
        data = data if isinstance(data, dict) else {}
        declared = data.get("variables")
        variables: dict[str, Any] = declared if isinstance(declared, dict) else {}
        out.append({"name": name, "description": " ".join(str(data.get("description") or "").split()),
                    "variables": {str(k): _default(v) for k, v in variables.items()},
                    "bundled": bundled is not None and path.parent == bundled})  # fmt: skip
    return out


def _default(value: Any) -> Any:
    """A declared variable's default (a declaration ``{type:, default:}`` or a value)."""
    if isinstance(value, dict) and ("type" in value or "default" in value):
        return value.get("default")
    return value


def resolve_graph(graph: str) -> GraphChoice:
    """The graph ``graph`` names: the name of a listed graph, or graph-file text (YAML,
    or JSON when it starts with ``{``), compiled in safe mode.

    Raises:
        DefinitionError: no listed graph has that name (and it is not graph text), or
            the text is not a valid graph (every problem listed).
    """
    from graphflow.compiler import compile_spec
    from graphflow.import_policy import safe_imports
    from graphflow.loader import load
    from graphflow.spec import loads_spec

    text = graph.strip()
    if "\n" not in text and ":" not in text and not text.startswith("{"):
        path = _files().get(text)
        if path is None:
            names = ", ".join(sorted(_files())) or "none"
            raise DefinitionError([Problem(f"graph {text!r}", "no graph of that name",
                                           f"use one of the graphs GET /api/graphs lists "
                                           f"({names}), or send the text of a graph file")])  # fmt: skip
        return GraphChoice(load(path), text, safe=False)
    fmt = "json" if text.startswith("{") else "yaml"
    with safe_imports():
        spec = loads_spec(graph, source=None, fmt=fmt)  # first: it bounds YAML aliases
        problems = file_references(graph, fmt)
        if problems:
            raise DefinitionError(problems)
        return GraphChoice(compile_spec(spec), None, safe=True)


def file_references(text: str, fmt: str) -> list[Problem]:
    """The places where graph text sent over HTTP names a file instead of a listed graph
    or a catalog entry's name, or chooses a model endpoint or key variable: its subgraphs (``graph:`` of a subgraph node, ``nested:
    {graph:}`` of an agent, inline graphs' own nodes included) must be inline mappings or
    names ``GET /api/graphs`` lists, and ``use:`` must be a plain catalog name. A path
    would let a request read files of the server, or learn which exist, from the errors.
    In ``models:`` (and any model config), ``base_url``, ``api_key_env`` and
    ``azure_endpoint`` are the server's to choose (its keys would be sent to the
    endpoint), and ``scripted:`` and ``oai_config_list:`` may not name files.
    Text that does not parse is left to the spec loader's own error (``[]``); call it
    after :func:`graphflow.spec.loads_spec` accepted the text, which bounds what YAML
    aliases expand to (this walk follows them).

    Example:
        >>> [p.what for p in file_references("graph: g\\nnodes: {s: {use: ../x}}", "yaml")]
        ["use: '../x' is a path"]
    """
    import json

    import yaml

    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, RecursionError):
        return []
    listed = _files()
    problems: list[Problem] = []

    def check_graph(ref: Any, where: str) -> None:
        if isinstance(ref, dict):
            walk(ref, f"{where}: inner graph")
        elif isinstance(ref, str) and ref not in listed:
            problems.append(Problem(where, f"graph: {ref[:80]!r} is a path or an unknown name",
                                    "graph text sent to the server names other graphs by a "
                                    "name GET /api/graphs lists, or inlines them; no file "
                                    "path is read"))  # fmt: skip

    def walk(graph: Any, where: str) -> None:
        if not isinstance(graph, dict):
            return
        nodes = graph.get("nodes")
        for name, node in (nodes.items() if isinstance(nodes, dict) else ()):
            if not isinstance(node, dict):
                continue
            here = f"{where}: node {str(name)[:40]!r}"
            use = node.get("use")
            if isinstance(use, str) and (not _NAME.match(use) or ".." in use):
                problems.append(Problem(here, f"use: {use[:80]!r} is a path",
                                        "name a catalog entry (e.g. use: writer); graph text "
                                        "sent to the server reads no file path (see GET "
                                        "/api/graphs for the graphs it lists)"))  # fmt: skip
            if "graph" in node:
                check_graph(node["graph"], here)
            nested = node.get("nested")
            if isinstance(nested, dict) and "graph" in nested:
                check_graph(nested["graph"], f"{here}: nested")

    walk(data, f"graph {str((data or {}).get('graph') if isinstance(data, dict) else '')[:40]!r}")
    return problems + _model_settings(data)


#: Model settings graph text sent over HTTP may not choose: an endpoint (the server's key,
#: or the variable ``api_key_env`` names, would be sent there) or a file to read.
_SERVER_ONLY = {"base_url": "an endpoint", "api_key_env": "the variable holding the key",
                "azure_endpoint": "an endpoint"}  # fmt: skip


def _model_settings(data: Any) -> list[Problem]:
    """The model settings in graph text (at any depth) that only the server chooses:
    endpoints and key variables, scripts and config lists read from files."""
    problems: list[Problem] = []
    fix = ("graph text sent to the server uses the models the server is configured with "
           "(its environment, OAI_CONFIG_LIST) or scripted replies written inline; to use "
           "other endpoints, put the graph file in the server's graphs/ folder")  # fmt: skip
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
            continue
        if not isinstance(value, dict):
            continue
        for key, item in value.items():
            here = f"{where}.{str(key)[:40]}" if where else str(key)[:40]
            if key in _SERVER_ONLY:
                problems.append(Problem(here, f"{key}: graph text may not choose "
                                        f"{_SERVER_ONLY[key]}", fix))  # fmt: skip
            elif key == "scripted" and isinstance(item, str):
                problems.append(Problem(here, "scripted: a script file of the server is read", fix))
            elif key == "oai_config_list" and item != "OAI_CONFIG_LIST":
                problems.append(Problem(here, f"oai_config_list: {str(item)[:80]!r} names a "
                                        "file or variable of the server; only OAI_CONFIG_LIST "
                                        "is allowed", fix))  # fmt: skip
            else:
                stack.append((item, here))
    return problems


def graph_for_stored_run(record: RunRecord) -> GraphChoice:
    """The graph to continue stored run ``record`` with: rebuilt from the spec stored
    with it; in safe mode unless it came from a graph file the server lists.

    Raises:
        DefinitionError: the stored graph cannot be rebuilt (or names a refused import).
    """
    from graphflow.import_policy import safe_imports
    from graphflow.loader import graph_for_run

    listed = {p.resolve() for p in _files().values()}
    trusted = record.source is not None and Path(record.source).resolve() in listed
    if trusted:
        return GraphChoice(graph_for_run(record), record.graph, safe=False)
    with safe_imports():
        return GraphChoice(graph_for_run(record), None, safe=True)
