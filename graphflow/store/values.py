"""The value codec: how every value a store keeps is written as JSON and read back exactly.

JSON holds ``None``, ``bool``, ``int``, ``float``, ``str``, lists and string-keyed dicts.
Everything else a run may keep is written as a *tagged* object, ``{"$gf": TAG, "v": …}``,
and read back as the same type with the same value:

=================  ===========================================  =====================
Python             stored as                                    tag
=================  ===========================================  =====================
``tuple``          its items                                    ``tuple``
``set``            its items, in a fixed order                  ``set``, ``frozenset``
dict with a key    ``[key, value]`` pairs                       ``dict``
that is not text
(or is ``"$gf"``)
``datetime``       ISO 8601 text (+ ``tz``: a zoneinfo key)     ``datetime``
``date``/``time``  ISO 8601 text                                ``date``, ``time``
``timedelta``      ``[days, seconds, microseconds]``            ``timedelta``
``Decimal``        its text                                     ``decimal``
``UUID``           its text                                     ``uuid``
``bytes``          base64                                       ``bytes``, ``bytearray``
``Path``           its text                                     ``path``, ``pureposixpath``, …
=================  ===========================================  =====================

Some values are written *without their class*: an ``Enum`` member as its value, a
pydantic model or a dataclass as its fields. No class is ever named in storage, so none
is loaded by a name read from a database (how other engines' serializers became
remote-code-execution bugs); such a value comes back as its class only where a variable
*declares* that type (see :mod:`graphflow.graph.state`). :func:`check` tells whether a
value comes back exactly without a declared type.

Anything else — an object of the user's own class, a ``defaultdict``, a lambda — cannot
be stored: :func:`encode` raises :class:`NotStorable` naming the place in the value and
its type, never writes its ``str()``.

Three *merge operations* may stand for a variable's new value in a step's delta, so a
growing collection is stored by what a step added, not whole at every step (storage stays
linear in what the run produced): :class:`Extend` (items added to a list), :class:`Merge`
(keys set in a dict) and :class:`Union` (items added to a set). :func:`fold` applies a
delta.

Example:
    >>> import datetime
    >>> text = dumps({"when": datetime.date(2024, 1, 2), "tags": {"b", "a"}, "n": (1, 2)})
    >>> text
    '{"when":{"$gf":"date","v":"2024-01-02"},"tags":{"$gf":"set","v":["a","b"]},"n":{"$gf":"tuple","v":[1,2]}}'
    >>> loads(text) == {"when": datetime.date(2024, 1, 2), "tags": {"a", "b"}, "n": (1, 2)}
    True
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import json
import pathlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["TAG", "Extend", "Merge", "NotStorable", "Union", "check", "decode", "dumps",
           "dumps_record", "encode", "fold", "loads"]  # fmt: skip

#: The key that marks a tagged object.
TAG = "$gf"
_TAG_BYTES = TAG.encode()

_PLAIN = (str, int, float, bool, type(None))
_PATHS = {cls.__name__.lower(): cls for cls in (pathlib.Path, pathlib.PurePath,
          pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath,
          pathlib.WindowsPath)}  # fmt: skip


class NotStorable(TypeError):
    """A value that the store cannot keep exactly.

    Attributes:
        path: where in the value, e.g. ``"['items'][2]"`` (``""``: the value itself).
        type_name: the offending type, e.g. ``"mymodule.Report"``.
        hint: how to make it storable.
    """

    def __init__(self, path: str, type_name: str, hint: str) -> None:
        self.path = path
        self.type_name = type_name
        self.hint = hint
        where = f" at {path}" if path else ""
        super().__init__(f"a {type_name}{where}, which cannot be stored exactly; {hint}")


# ---- merge operations ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Extend:
    """A delta entry: the list variable grew by ``items``."""

    items: list[Any]

    def apply(self, current: Any) -> list[Any]:
        return [*(current if isinstance(current, list) else ()), *self.items]


@dataclasses.dataclass(frozen=True)
class Merge:
    """A delta entry: the dict variable had the keys of ``values`` set."""

    values: dict[Any, Any]

    def apply(self, current: Any) -> dict[Any, Any]:
        return {**(current if isinstance(current, dict) else {}), **self.values}


@dataclasses.dataclass(frozen=True)
class Union:
    """A delta entry: the set variable gained ``items``."""

    items: set[Any]

    def apply(self, current: Any) -> set[Any]:
        return set(current if isinstance(current, (set, frozenset)) else ()) | self.items


_OPS: dict[type, str] = {Extend: "+list", Merge: "+dict", Union: "+set"}


def fold(variables: dict[str, Any], delta: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a step's variable delta to ``variables`` in place (and return it): a merge
    operation extends the current value, any other value replaces it."""
    for name, value in delta.items():
        if type(value) in _OPS:
            variables[name] = value.apply(variables.get(name))
        else:
            variables[name] = value
    return variables


# ---- encoding -----------------------------------------------------------------------


def _tagged(tag: str, value: Any) -> dict[str, Any]:
    return {TAG: tag, "v": value}


def _sorted(items: Iterable[Any], erase: bool, path: str) -> list[Any]:
    encoded = [encode(item, erase=erase, path=f"{path}{{…}}") for item in items]
    try:
        return sorted(encoded, key=lambda e: json.dumps(e, sort_keys=True))
    except (TypeError, ValueError):  # pragma: no cover - encoded items are JSON
        return encoded


def encode(value: Any, *, erase: bool = True, path: str = "") -> Any:
    """``value`` as a JSON-ready structure (see the table above); ``value`` itself when it
    is JSON already.

    Args:
        value: what to store.
        erase: whether enums, pydantic models and dataclasses may be written without
            their class (as their value or fields). ``False`` refuses them, for values
            that must come back exactly with no declared type.
        path: the place of ``value`` in a larger value, for error messages.

    Raises:
        NotStorable: ``value`` (or a part of it) cannot be stored exactly.
    """
    cls = type(value)
    if cls in _PLAIN:
        return value
    if cls is list:
        out = None
        for i, item in enumerate(value):
            done = item if type(item) in _PLAIN else encode(item, erase=erase, path=f"{path}[{i}]")
            if done is not item and out is None:
                out = value[:i]
            if out is not None:
                out.append(done)
        return value if out is None else out
    if cls is dict:
        changed = None
        for k, item in value.items():
            if type(k) is not str or k == TAG:
                return _tagged("dict", [[encode(k, erase=erase, path=f"{path}<key>"),
                                         encode(v, erase=erase, path=f"{path}[{k!r}]")]
                                        for k, v in value.items()])  # fmt: skip
            if type(item) not in _PLAIN:
                done = encode(item, erase=erase, path=f"{path}[{k!r}]")
                if done is not item:
                    if changed is None:
                        changed = {}
                    changed[k] = done
        return {**value, **changed} if changed else value
    if cls is tuple:
        return _tagged("tuple", [encode(v, erase=erase, path=f"{path}[{i}]")
                                 for i, v in enumerate(value)])  # fmt: skip
    if cls is set or cls is frozenset:
        return _tagged(cls.__name__, _sorted(value, erase, path))
    if cls is dt.datetime:
        return _datetime(value, path)
    if cls is dt.date:
        return _tagged("date", value.isoformat())
    if cls is dt.time:
        _check_zone(value.tzinfo, path, "time", allow_zoneinfo=False)
        return _tagged("time", value.isoformat())
    if cls is dt.timedelta:
        return _tagged("timedelta", [value.days, value.seconds, value.microseconds])
    if cls is Decimal:
        return _tagged("decimal", str(value))
    if cls is uuid.UUID:
        return _tagged("uuid", str(value))
    if cls is bytes or cls is bytearray:
        return _tagged(cls.__name__, base64.b64encode(value).decode("ascii"))
    if cls is Extend:
        return _tagged("+list", encode(value.items, erase=erase, path=path))
    if cls is Merge:
        return _tagged("+dict", encode(value.values, erase=erase, path=path))
    if cls is Union:
        return _tagged("+set", _sorted(value.items, erase, path))
    if cls.__name__.lower() in _PATHS and _PATHS[cls.__name__.lower()] is cls:
        return _tagged(cls.__name__.lower(), str(value))
    return _erased(value, erase, path)


def _erased(value: Any, erase: bool, path: str) -> Any:
    """Enums, pydantic models and dataclasses, written without their class; or refused."""
    cls = type(value)
    name = f"{cls.__module__}.{cls.__qualname__}"
    kind = ("enum member" if isinstance(value, enum.Enum) else
            "pydantic model" if hasattr(cls, "model_dump") and hasattr(cls, "model_fields") else
            "dataclass" if dataclasses.is_dataclass(value) else None)  # fmt: skip
    if kind is None:
        base = _base_name(value)
        hint = (f"convert it to a plain {base}" if base else
                "store its data as JSON values (text, numbers, lists, dicts) or a standard type "
                "(datetime, Decimal, set, bytes, UUID, Path …), or make it a pydantic model or "
                "dataclass and declare the variable's type")  # fmt: skip
        raise NotStorable(path, name, hint)
    if not erase:
        raise NotStorable(path, f"{name} ({kind})",
                          f"declare the variable's type so it can be restored: "
                          f"variables: {{VARIABLE: {{type: \"{cls.__module__}:{cls.__qualname__}\"}}}} "
                          f"in a graph file, or Graph.variable(\"VARIABLE\", type={cls.__qualname__})")  # fmt: skip
    if kind == "enum member":
        return encode(value.value, erase=erase, path=path)
    if kind == "pydantic model":
        fields = value.model_dump(mode="python", by_alias=True, round_trip=True)
    else:
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return encode(fields, erase=erase, path=path)


def _base_name(value: Any) -> str | None:
    for base in (dict, list, tuple, set, str, int, float):
        if isinstance(value, base):
            return base.__name__
    return None


def _check_zone(zone: dt.tzinfo | None, path: str, what: str, allow_zoneinfo: bool) -> None:
    if zone is None or type(zone) is dt.timezone:
        return
    if allow_zoneinfo and type(zone).__name__ == "ZoneInfo" and getattr(zone, "key", None):
        return
    raise NotStorable(path, f"{what} with tzinfo {type(zone).__module__}.{type(zone).__name__}",
                      "use datetime.timezone or zoneinfo.ZoneInfo for its time zone")


def _datetime(value: dt.datetime, path: str) -> dict[str, Any]:
    zone = value.tzinfo
    _check_zone(zone, path, "datetime", allow_zoneinfo=True)
    if zone is not None and type(zone) is not dt.timezone:
        out = _tagged("datetime", value.replace(tzinfo=None).isoformat())
        out["tz"] = zone.key  # type: ignore[attr-defined]
    else:
        out = _tagged("datetime", value.isoformat())
    if value.fold:
        out["fold"] = 1
    return out


def check(value: Any, path: str = "") -> None:
    """Raise :class:`NotStorable` unless ``value`` comes back exactly from storage with
    no declared type (no enum, model or dataclass in it, nothing unknown)."""
    encode(value, erase=False, path=path)


_WRITER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ASCII_WRITER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def _one_shot_writer() -> Callable[[Any], str]:
    """``_WRITER.encode`` without building the C encoder again for every call (what
    ``JSONEncoder.encode`` does; a third of the cost of writing a step's small values):
    ``json.encoder.c_make_encoder`` made once, with the same settings and no cycle
    markers (encoded values are trees: :func:`encode` walks them first). Checked
    against ``_WRITER`` once; where the C encoder is missing or differs (another Python),
    ``_WRITER.encode`` itself."""
    from json import encoder as json_encoder

    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:
        return _WRITER.encode
    try:
        chunks = make(None, _WRITER.default, json_encoder.encode_basestring, None, ":", ",",
                      False, False, True)  # fmt: skip
        sample = {"a": [1, 2.5, None, True, "é\n"], "b": {"c": float("nan")}}
        if "".join(chunks(sample, 0)) != _WRITER.encode(sample):
            return _WRITER.encode
    except Exception:  # any doubt: the documented path
        return _WRITER.encode
    return lambda value: "".join(chunks(value, 0))


_write = _one_shot_writer()


def dumps_record(record: Any) -> str:
    """JSON text of a record that is JSON by construction — node ids, frontiers, usage
    numbers — written without :func:`encode`'s walk (the scheduler's records, not values
    from nodes)."""
    text = _write(record)
    return text if text.isascii() else dumps(record)


def dumps(value: Any) -> str:
    """``value`` as compact JSON text, through :func:`encode`.

    Raises:
        NotStorable: ``value`` holds something that cannot be stored exactly.
    """
    encoded = encode(value)
    text = _write(encoded)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: only escapes can carry it
            text = _ASCII_WRITER.encode(encoded)
    return text


# ---- decoding -----------------------------------------------------------------------


def _timezone_of(key: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(key)


def _untag(obj: dict[str, Any]) -> Any:
    tag, v = obj[TAG], obj["v"]
    if tag == "tuple":
        return tuple(v)
    if tag == "set":
        return set(v)
    if tag == "frozenset":
        return frozenset(v)
    if tag == "dict":
        return {k: item for k, item in v}
    if tag == "datetime":
        value = dt.datetime.fromisoformat(v)
        if "tz" in obj:
            value = value.replace(tzinfo=_timezone_of(obj["tz"]))
        return value.replace(fold=1) if obj.get("fold") else value
    if tag == "date":
        return dt.date.fromisoformat(v)
    if tag == "time":
        return dt.time.fromisoformat(v)
    if tag == "timedelta":
        return dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
    if tag == "decimal":
        return Decimal(v)
    if tag == "uuid":
        return uuid.UUID(v)
    if tag == "bytes":
        return base64.b64decode(v.encode("ascii"), validate=True)
    if tag == "bytearray":
        return bytearray(base64.b64decode(v.encode("ascii"), validate=True))
    if tag == "+list":
        return Extend(list(v))
    if tag == "+dict":
        return Merge(dict(v))
    if tag == "+set":
        return Union(set(v))
    if tag in _PATHS:
        return _PATHS[tag](v)
    raise ValueError(f"unknown tag {tag!r}")


def _hook(obj: dict[str, Any]) -> Any:
    if TAG in obj:
        try:
            return _untag(obj)
        except (TypeError, ValueError, KeyError, IndexError, LookupError) as exc:
            raise ValueError(f"a tagged value is damaged ({obj.get(TAG)!r}: {exc})") from None
    return obj


def decode(value: Any) -> Any:
    """The value a JSON-ready structure made by :func:`encode` stands for.

    Raises:
        ValueError: a tagged object is damaged or unknown.
    """
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        return _hook({k: decode(v) for k, v in value.items()})
    return value


def loads(text: str | bytes) -> Any:
    """The value JSON text made by :func:`dumps` stands for.

    Raises:
        ValueError: the text is not JSON (``json.JSONDecodeError``), or a tagged object
            in it is damaged or unknown.
    """
    plain = TAG not in text if isinstance(text, str) else _TAG_BYTES not in text
    if plain:  # no tagged object in it: no hook to call for every dict
        return json.loads(text)
    return json.loads(text, object_hook=_hook)
