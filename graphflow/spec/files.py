"""Reading and writing graph files (YAML or JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from graphflow.errors import DefinitionError, Problem
from graphflow.spec.model import GraphSpec

__all__ = ["dump_spec", "dumps_spec", "load_spec", "loads_spec"]


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys (plain PyYAML keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key]})",
                key_node.start_mark,
            )  # fmt: skip
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_spec(text: str, *, source: str | None = None, fmt: str | None = None) -> GraphSpec:
    """Parse graph-file text (YAML, or JSON when ``fmt='json'``) into a GraphSpec."""
    where = source or "<text>"
    try:
        if fmt == "json":
            data = json.loads(text, object_pairs_hook=_json_pairs)
        else:
            data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        reason = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(
            [Problem(f"{where}: {pos}", f"not valid YAML: {reason}", "fix the syntax there")],
            source=source,
        ) from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise DefinitionError(
            [Problem(where, f"not valid JSON: {exc}", "fix the syntax there")], source=source
        ) from None
    return GraphSpec.from_file(data, source=source)


def load_spec(path: str | Path) -> GraphSpec:
    """Read a graph file (``.yaml``, ``.yml`` or ``.json``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(
            [Problem(str(path), "no such file", "check the path, or list graphs with `ls graphs/`")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(str(path), f"cannot read the file: {exc}")]) from None
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return loads_spec(text, source=str(path), fmt=fmt)


def dumps_spec(spec: GraphSpec, fmt: str = "yaml") -> str:
    """Serialize a spec; callables that cannot be imported become a marker string."""
    data = spec.to_file()
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    # PyYAML writes some line-break characters (U+0085, U+2028, U+2029) unescaped
    # with allow_unicode, and reads them back as line breaks: escape everything then.
    if any(ch in text for ch in "\x85\u2028\u2029"):
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=100)
    return text


def dump_spec(spec: GraphSpec, path: str | Path) -> Path:
    """Write a spec to ``path`` (format from the suffix) and return the path."""
    path = Path(path)
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    path.write_text(dumps_spec(spec, fmt), encoding="utf-8")
    return path
