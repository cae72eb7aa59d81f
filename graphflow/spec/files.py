"""Reading and writing graph files (YAML or JSON), within documented caps.

A graph file is data that a run stores and copies, so its size is bounded before anything
else reads it — each cap refused with a :class:`~graphflow.errors.DefinitionError` that
names it, never a traceback, a hang or a database of gigabytes:

- :data:`MAX_FILE_CHARS` characters in the file;
- :data:`MAX_DEPTH` levels of nesting (lists and mappings);
- :data:`MAX_VALUES` values once YAML aliases (``*name``) are expanded — a "billion
  laughs" file of a few hundred bytes expands to 10⁹ values;
- :data:`MAX_STRING_CHARS` characters in one string.

A YAML value that cannot be built (a ``!!bool maybe``, a ``!!map [a]``, a list or mapping
used as a key, a recursive alias) is refused with its line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from graphflow.errors import DefinitionError, Problem
from graphflow.spec.model import GraphSpec

__all__ = ["MAX_DEPTH", "MAX_FILE_CHARS", "MAX_STRING_CHARS", "MAX_VALUES", "dump_spec",
           "dumps_spec", "load_spec", "loads_spec"]  # fmt: skip

#: Characters in a graph file.
MAX_FILE_CHARS = 5_000_000
#: Levels of nesting of lists and mappings.
MAX_DEPTH = 64
#: Values (scalars, lists, mappings) in a graph file, YAML aliases expanded.
MAX_VALUES = 200_000
#: Characters in one string of a graph file.
MAX_STRING_CHARS = 1_000_000


class _TooBig(ValueError):
    """A cap was passed (the message says which)."""


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys (plain PyYAML keeps the last one) and
    documents past the caps (checked on the node graph, before any value is built)."""

    def construct_document(self, node: yaml.Node) -> Any:
        _measure(node)
        return super().construct_document(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _measure(root: yaml.Node) -> None:
    """Refuse a YAML node graph past the caps: values with aliases expanded, nesting,
    string sizes, recursive aliases (each node measured once)."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) → (values, depth)
    busy: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if not done:
            if key in sizes:
                continue
            if key in busy:
                raise yaml.constructor.ConstructorError(
                    None, None, "a recursive alias (a value that contains itself)",
                    node.start_mark)  # fmt: skip
            busy.add(key)
            if isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_STRING_CHARS:
                raise _TooBig(f"a string of {len(node.value):,} characters at line "
                              f"{node.start_mark.line + 1} (at most {MAX_STRING_CHARS:,})")
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
            continue
        parts = [sizes[id(c)] for c in _children(node)]
        values = 1 + sum(p[0] for p in parts)
        depth = 1 + max((p[1] for p in parts), default=0)
        if values > MAX_VALUES:
            raise _TooBig(f"it holds more than {MAX_VALUES:,} values once its YAML aliases "
                          "(*name) are expanded")
        if depth > MAX_DEPTH:
            raise _TooBig(f"it nests more than {MAX_DEPTH} levels deep (line "
                          f"{node.start_mark.line + 1})")
        sizes[key] = (values, depth)
        busy.discard(key)


def _check_json(data: Any) -> None:
    """Refuse parsed JSON past the caps (nesting, values, string sizes)."""
    count = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise _TooBig(f"it nests more than {MAX_DEPTH} levels deep")
        if count > MAX_VALUES:
            raise _TooBig(f"it holds more than {MAX_VALUES:,} values")
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            raise _TooBig(f"a string of {len(value):,} characters (at most {MAX_STRING_CHARS:,})")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in (*value.keys(), *value.values()))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(None, None, f"expected a mapping, found "
                                                f"{node.id}", node.start_mark)  # fmt: skip
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if isinstance(key, (list, dict, set)):
            raise yaml.constructor.ConstructorError(
                None, None, f"a {type(key).__name__} cannot be a key; keys are text",
                key_node.start_mark)  # fmt: skip
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
    if len(text) > MAX_FILE_CHARS:
        raise DefinitionError([Problem(where, f"the file has {len(text):,} characters (at most "
                                       f"{MAX_FILE_CHARS:,})", "make it smaller")], source=source)
    try:
        if fmt == "json":
            data = json.loads(text, object_pairs_hook=_json_pairs)
            _check_json(data)
        else:
            data = yaml.load(text, Loader=_StrictLoader)
    except _TooBig as exc:
        raise DefinitionError([Problem(where, f"too big: {exc}", "make it smaller")],
                              source=source) from None
    except RecursionError:
        raise DefinitionError([Problem(where, f"too big: it nests more than {MAX_DEPTH} levels "
                                       "deep", "make it smaller")], source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        reason = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(
            [Problem(f"{where}: {pos}", f"not valid YAML: {reason}", "fix the syntax there")],
            source=source,
        ) from None
    except (json.JSONDecodeError, ValueError) as exc:
        if fmt != "json":  # a YAML value its tag cannot build (`!!bool maybe`)
            raise DefinitionError([Problem(where, f"not valid YAML: a value cannot be built "
                                           f"({type(exc).__name__}: {exc})",
                                           "fix the value or its !!tag")], source=source) from None
        raise DefinitionError(
            [Problem(where, f"not valid JSON: {exc}", "fix the syntax there")], source=source
        ) from None
    except (TypeError, KeyError, AttributeError, IndexError) as exc:
        raise DefinitionError([Problem(where, f"not valid YAML: a value cannot be built "
                                       f"({type(exc).__name__}: {exc})",
                                       "fix the value or its !!tag")], source=source) from None
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
