"""Picking values out of a JSON document with a small path language (no code runs).

Paths: ``a.b`` (keys), ``items[0]`` / ``items[-1]`` (indices), ``items[*].name`` (every
element), ``["key with spaces"]`` (quoted keys). An empty path returns the document.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

__all__ = ["json_query"]

_TOKEN = re.compile(
    r"""\.?([A-Za-z_$][\w$-]*)|\[(-?\d+)\]|\[\*\]|\.\*|\[\s*"((?:[^"\\]|\\.)*)"\s*\]"""
)


def _parse(path: str) -> list[Any]:
    steps: list[Any] = []
    pos = 0
    text = path.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot read the path {path!r} at position {pos}: "
                             f"{text[pos:pos + 10]!r}; write keys as a.b, indices as [0], "
                             'every element as [*], odd keys as ["my key"]')  # fmt: skip
        key, index, quoted = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
        elif quoted is not None:
            steps.append(json.loads(f'"{quoted}"'))
        else:
            steps.append(Ellipsis)
        pos = match.end()
    return steps


def _walk(value: Any, steps: list[Any], where: str) -> Any:
    if not steps:
        return value
    step, rest = steps[0], steps[1:]
    if step is Ellipsis:
        items = value.values() if isinstance(value, dict) else value
        if not isinstance(items, (list, type({}.values()))):
            raise ValueError(f"{where or 'the document'} is not a list or object, cannot use [*]")
        return [_walk(item, rest, f"{where}[*]") for item in items]
    if isinstance(step, int):
        if not isinstance(value, list):
            raise ValueError(f"{where or 'the document'} is not a list, cannot use [{step}]")
        if not -len(value) <= step < len(value):
            raise ValueError(f"index {step} is out of range at {where or 'the top'} "
                             f"(length {len(value)})")  # fmt: skip
        return _walk(value[step], rest, f"{where}[{step}]")
    if not isinstance(value, dict):
        raise ValueError(f"{where or 'the document'} is not an object, cannot take key {step!r}")
    if step not in value:
        keys = ", ".join(list(map(str, value))[:20])
        raise ValueError(f"no key {step!r} at {where or 'the top'}; keys there: {keys}")
    return _walk(value[step], rest, f"{where}.{step}" if where else step)


def json_query(document: Annotated[str, "the JSON text to search"],
               path: Annotated[str, "where to look, e.g. items[0].name or items[*].id"] = "",
               ) -> Any:  # fmt: skip
    """Return the value at ``path`` in a JSON document.

    Example:
        >>> doc = '{"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}'
        >>> json_query(doc, "items[*].name"), json_query(doc, "items[-1].id")
        (['a', 'b'], 2)
    """
    try:
        data = json.loads(document)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the document is not valid JSON ({exc})") from None
    return _walk(data, _parse(path), "")
