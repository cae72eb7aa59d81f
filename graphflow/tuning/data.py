"""The tuning data set: a list of instances (dicts of named fields) from a JSONL, JSON or
YAML file, or given in Python.

Each instance's fields fill the prompt templates (``{question}``) and are passed to the
metric as keyword arguments, as AutoGen's ``Completion.tune`` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphflow.tuning.errors import TuningError

__all__ = ["load_data"]


def load_data(data: str | Path | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The instances of a tuning data set.

    Args:
        data: a path to a ``.jsonl`` file (one JSON object a line), a ``.json`` file or a
            ``.yaml``/``.yml`` file (a list of mappings, or a mapping with a ``data:``
            list), or the instances themselves.

    Returns:
        A list of dicts, in file order.

    Raises:
        TuningError: the file is missing or unreadable, a line is not JSON, an instance
            is not a mapping, or there is no instance at all — naming the file and line.

    Example:
        >>> load_data([{"question": "2+2?", "answer": "4"}])
        [{'question': '2+2?', 'answer': '4'}]
    """
    if isinstance(data, (str, Path)):
        return _from_file(Path(data))
    if isinstance(data, Mapping):
        raise TuningError("tuning data is one mapping; give a list of instances, e.g. "
                          "[{'question': ..., 'answer': ...}, ...]")  # fmt: skip
    out = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise TuningError(f"tuning data[{index}] is a {type(item).__name__}, not a mapping "
                              "of fields; write each instance as {question: ..., answer: ...}")  # fmt: skip
        out.append(dict(item))
    return _non_empty(out, "the tuning data")


def _from_file(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise TuningError(f"tuning data file {path} does not exist; give a .jsonl, .json or "
                          ".yaml file of instances")  # fmt: skip
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TuningError(f"cannot read the tuning data file {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        items: Any = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise TuningError(f"{path}:{number}: not a JSON object ({exc.msg}, column "
                                  f"{exc.colno}); a .jsonl file holds one JSON object a line") from None  # fmt: skip
    elif suffix in (".yaml", ".yml", ".json"):
        items = _parse_document(path, text, suffix)
        if isinstance(items, Mapping) and isinstance(items.get("data"), list):
            items = items["data"]
    else:
        raise TuningError(f"tuning data file {path}: unknown format {suffix or '(no suffix)'!r}; "
                          "use .jsonl, .json, .yaml or .yml")  # fmt: skip
    if not isinstance(items, list):
        raise TuningError(f"tuning data file {path} holds a {type(items).__name__}; it must "
                          "hold a list of instances (or a mapping with a data: list)")  # fmt: skip
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            place = f"{path}: instance {index + 1}"
            raise TuningError(f"{place} is a {type(item).__name__}, not a mapping of fields; "
                              "write each instance as {question: ..., answer: ...}")  # fmt: skip
        out.append({str(k): v for k, v in item.items()})
    return _non_empty(out, f"tuning data file {path}")


def _parse_document(path: Path, text: str, suffix: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise TuningError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise TuningError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


def _non_empty(items: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
    if not items:
        raise TuningError(f"{what} has no instances; tuning needs at least one")
    return items
