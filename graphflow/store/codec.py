"""Stored values: the one JSON encoder and decoder of the run stores.

Stores keep structured values (specs, frontiers, variables, usage, tool calls, branch
results, effects) as JSON text written by the value codec of
:mod:`graphflow.store.values` (JSON plus tagged standard types, read back exactly).
Every decoding goes through :func:`loads`, so a damaged value is reported as
:class:`~graphflow.errors.StoreCorrupt` for its run only, never as a raw JSON error.
The row decoders below turn a stored row (a mapping of column to value, JSON columns as
text) into the records of :mod:`graphflow.store.protocol`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, cast

from graphflow.errors import StoreCorrupt, StoreError
from graphflow.messages import Message
from graphflow.store import values
from graphflow.store.protocol import (
    RUN_STATUSES,
    MessageRow,
    RunRecord,
    RunStatus,
    StepRow,
    UsageTotal,
)

__all__ = ["StoredSpec", "branch_result", "check_status", "dumps", "dumps_record", "dumps_spec",
           "dumps_spec_digest", "listed_record", "listed_specs", "loads", "message", "message_extra", "message_row",
           "run_record", "spec_digest", "step_row", "usage_parts", "usage_totals",
           "with_spec_texts"]  # fmt: skip


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (see :mod:`graphflow.store.values`).

    Raises:
        StoreError: ``value`` holds something that cannot be stored exactly (a
            :class:`~graphflow.store.values.NotStorable` names the place and type).
    """
    try:
        return values.dumps(value)
    except values.NotStorable as exc:
        raise StoreError(f"cannot store the value: {exc}") from exc


class StoredSpec(dict[str, Any]):
    """A graph's spec as stored with its runs, made once by its compiled graph for all
    its runs (``CompiledGraph.spec_record()``) and never changed after: :func:`dumps_spec`
    encodes it once and keeps the text with it."""

    _text: str | None = None
    #: the key of ``_text`` in a store that keeps each spec once (a ``specs`` table)
    _digest: str | None = None


def dumps_spec(spec: Mapping[str, Any]) -> str:
    """:func:`dumps` of a graph's stored spec: a :class:`StoredSpec` (what a compiled
    graph hands every run) is encoded once, so a run of a big graph does not encode it
    again; any other mapping is encoded each time (its owner may change it between runs).

    Raises:
        StoreError: as :func:`dumps`.
    """
    if type(spec) is not StoredSpec:
        return dumps(spec)
    text = spec._text
    if text is None:
        text = spec._text = dumps(dict(spec))
    return text


def spec_digest(text: str | bytes) -> str:
    """The key of a spec's JSON ``text`` in a store's ``specs`` table: the SHA-256 of its
    UTF-8 bytes (``text`` itself when it is bytes already, as SQLite's migration 8 reads
    it), hex. Postgres computes the same in SQL:
    ``encode(sha256(convert_to(spec, 'UTF8')), 'hex')``."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def dumps_spec_digest(spec: Mapping[str, Any]) -> tuple[str, str]:
    """:func:`dumps_spec` of ``spec`` and the :func:`spec_digest` of that text: the row a
    store that keeps each spec once writes in its ``specs`` table. A :class:`StoredSpec`
    keeps both for its graph's next runs.

    Raises:
        StoreError: as :func:`dumps`.
    """
    text = dumps_spec(spec)
    digest = spec._digest if type(spec) is StoredSpec else None
    if digest is None:
        digest = spec_digest(text)
        if type(spec) is StoredSpec:
            spec._digest = digest
    return text, digest


def dumps_record(record: Any) -> str:
    """JSON text of a record the scheduler builds from JSON types only (node lists,
    frontiers, usage): :func:`graphflow.store.values.dumps_record`."""
    return values.dumps_record(record)


def usage_totals(usage_by_node: Mapping[str, UsageTotal] | None) -> str | None:
    """The JSON text a snapshot keeps of the run's usage per node (``{node: usage dict}``;
    ``"{}"`` when nothing was used), or ``None`` when the totals are not known."""
    if usage_by_node is None:
        return None
    return dumps_record({node: usage.to_dict() for node, usage in usage_by_node.items()})


def usage_parts(totals: str | None, steps: list[str], run_id: str) -> list[dict[str, Any]]:
    """:meth:`~graphflow.store.RunReader.node_usage_parts` from the stored texts: a
    snapshot's per-node totals (``None``: no snapshot kept them) and the ``usage`` of the
    steps after it, in order.

    Raises:
        StoreCorrupt: a stored text is damaged.
    """
    parts = [loads(text, run_id, "step usage") for text in steps]
    base = loads(totals, run_id, "snapshot usage") if totals is not None else None
    return [base, *parts] if base else parts


def loads(text: str | None, run_id: str, what: str) -> Any:
    """Decode a stored JSON value; a damaged one is reported for its run only.

    Raises:
        StoreCorrupt: ``text`` is not JSON, naming the run and what was stored.
    """
    try:
        return values.loads(text)  # type: ignore[arg-type]
    except (ValueError, TypeError, RecursionError) as exc:
        raise StoreCorrupt(
            f"run {run_id!r}: its stored {what} is damaged ({exc}); other runs are not "
            f"affected. Fork the run from an earlier step, or delete it with `graphflow prune "
            "--status damaged` (which deletes every run listed as damaged)"
        ) from None


def check_status(status: str) -> RunStatus:
    """``status`` if it is a :data:`~graphflow.store.protocol.RunStatus`; raises
    StoreError otherwise."""
    if status not in RUN_STATUSES:
        raise StoreError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")
    return cast(RunStatus, status)


def _shared_spec(text: str | bytes | None, digest: str, run_id: str) -> dict[str, Any]:
    """The graph spec a run names by ``digest``, decoded; a missing or damaged one is
    reported as such for every run of that graph (runs of other graphs read on)."""
    fix = ("the runs of this graph are affected, runs of other graphs are not; running the "
           "same graph file again writes its spec back, or restore the run database from a "
           "backup, or delete these runs with `graphflow prune --status damaged`")
    if text is None:
        raise StoreCorrupt(f"run {run_id!r}: its graph spec ({digest[:12]}…) is missing from "
                           f"the store's specs; {fix}")  # fmt: skip
    try:
        spec = values.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise StoreCorrupt(f"run {run_id!r}: its graph spec ({digest[:12]}…) is damaged "
                           f"({exc}); {fix}") from None  # fmt: skip
    problem = "not an object" if not isinstance(spec, dict) else _spec_shape(spec)
    if problem:
        raise StoreCorrupt(f"run {run_id!r}: its graph spec ({digest[:12]}…) is damaged "
                           f"({problem}); {fix}")  # fmt: skip
    return spec


def _spec_shape(spec: dict[str, Any]) -> str | None:
    """What is wrong with the containers of a stored graph spec that every reader walks
    (``nodes``: an object of objects; ``edges``: a list of objects), or ``None``."""
    nodes, edges = spec.get("nodes"), spec.get("edges")
    if nodes is not None and not (isinstance(nodes, dict) and all(
            o is None or isinstance(o, dict) for o in nodes.values())):  # fmt: skip
        return "its nodes are not an object of objects"
    if edges is not None and not (isinstance(edges, list)
                                  and all(isinstance(e, dict) for e in edges)):  # fmt: skip
        return "its edges are not a list of objects"
    return None


def run_record(row: Mapping[str, Any], specs: dict[str, dict[str, Any]] | None = None) -> RunRecord:
    """A :class:`RunRecord` from a stored run row (``spec``, ``waiting``, ``frontier`` and
    ``usage`` as JSON text). A row that names its spec by ``spec_digest`` carries the
    spec's text as ``spec_text`` (``None``: missing, and the row is damaged); a row of
    such a store that keeps no spec (``spec`` empty) and names none is damaged too.

    ``specs`` (digest → decoded spec) lets the runs of one graph read in one go (a
    listing) share one decoded spec rather than each decode its own copy.

    Raises:
        StoreCorrupt: a field does not decode, or the named spec is missing.
    """
    data = dict(row)
    run_id = data["run_id"]
    digest = data.pop("spec_digest", None)
    kept_apart = "spec_text" in data
    text = data.pop("spec_text", None)
    if digest is not None:  # a spec kept once for all the runs of a graph (table specs)
        known = specs.get(digest) if specs is not None else None
        if known is None:
            known = _shared_spec(text, digest, run_id)
            if specs is not None:
                specs[digest] = known
        data["spec"] = known
    elif kept_apart and not data["spec"]:  # its row keeps no spec and names none either
        raise StoreCorrupt(f"run {run_id!r}: it names no graph spec (its spec_digest is "
                           "empty); other runs are not affected. Restore the run database "
                           "from a backup, or delete the run with `graphflow prune --status "
                           "damaged`")  # fmt: skip
    for key in ("waiting", "frontier", "usage") if digest is not None else (
            "spec", "waiting", "frontier", "usage"):  # fmt: skip
        data[key] = loads(data[key], run_id, f"run {key}") if data[key] else None
        if data[key] is not None and not isinstance(data[key], dict):
            raise StoreCorrupt(f"run {run_id!r}: its stored {key} is damaged (not an object); "
                               "other runs are not affected")  # fmt: skip
    problem = _spec_shape(data["spec"]) if digest is None and data["spec"] else None
    if problem:
        raise StoreCorrupt(f"run {run_id!r}: its stored spec is damaged ({problem}); other "
                           "runs are not affected")  # fmt: skip
    data["models"] = loads(data["models"], run_id, "run models") if data.get("models") else None
    if data["models"] is not None and not isinstance(data["models"], dict):
        raise StoreCorrupt(f"run {run_id!r}: its stored models are damaged (not an object); "
                           "other runs are not affected")  # fmt: skip
    data["usage"] = data["usage"] or {}
    data["frontier"] = _frontier(data["frontier"] or {}, run_id)
    until = data.get("lease_until")
    if until is not None and not (isinstance(until, (int, float)) and 0 <= until < 1e11):
        data["lease_until"] = None  # a damaged lease is no lease: it can be taken
        data["lease_owner"] = None
    if data["status"] not in RUN_STATUSES:
        raise StoreCorrupt(f"run {run_id!r}: its stored status {data['status']!r} is damaged; "
                           "other runs are not affected")  # fmt: skip
    for key, default in _NUMBERS.items():
        value = data.get(key)
        if not _fits(value, default):
            raise StoreCorrupt(f"run {run_id!r}: its stored {key} {value!r} is damaged (not a "
                               "number); other runs are not affected")  # fmt: skip
    return RunRecord(**data)


#: The number fields of a run row, with what a listing shows for a damaged one (``None``:
#: the field may be empty). ``lease_until`` is read apart: a damaged lease is no lease.
_NUMBERS: dict[str, int | float | None] = {
    "last_step": -1, "created_at": 0.0, "updated_at": 0.0, "forked_at": None,
    "failed_step": None, "parent_visit": None}  # fmt: skip


def _fits(value: Any, default: int | float | None) -> bool:
    """Whether ``value`` is what a number field with that ``default`` holds: a step count
    or number (an integer from -1 below 2**62) for an integer field, a time (seconds
    since the epoch, 0 up to 1e11, as ``lease_until`` is read) for a float field, or
    nothing where it may be."""
    if value is None:
        return default is None
    if type(value) is bool:
        return False
    if default is None or type(default) is int:
        return isinstance(value, int) and -1 <= value < 2**62
    return isinstance(value, (int, float)) and 0 <= value < 1e11  # (NaN and inf fail too)


def _frontier(frontier: dict[str, Any], run_id: str) -> dict[str, Any]:
    for key in ("run", "wait"):
        nodes = frontier.get(key, [])
        if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
            raise StoreCorrupt(f"run {run_id!r}: its stored frontier is damaged ({key} is not a "
                               "list of node ids); other runs are not affected")  # fmt: skip
    return frontier


def listed_specs(rows: list[dict[str, Any]]) -> list[str]:
    """The digests of the specs a listing's rows found (their ``spec_found`` column: the
    rows carry whether their spec is there, not its text), each once: the texts
    :func:`with_spec_texts` needs."""
    return sorted({r["spec_digest"] for r in rows if r["spec_found"] is not None})


def with_spec_texts(rows: list[dict[str, Any]],
                    texts: Mapping[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    """A listing's rows with the ``spec_text`` :func:`run_record` reads (``texts``:
    digest → text, read once per graph; ``None`` when the spec a row names is missing).
    A row whose spec was there when listed and is gone from ``texts`` is left out: a spec
    is dropped with the last run that names it, so that run was deleted between the two
    reads."""
    listed = []
    for row in rows:
        found, digest = row.pop("spec_found"), row["spec_digest"]
        row["spec_text"] = texts.get(digest) if digest is not None else None
        if found is None or row["spec_text"] is not None:
            listed.append(row)
    return listed


def listed_record(row: Mapping[str, Any],
                  specs: dict[str, dict[str, Any]] | None = None) -> RunRecord:  # fmt: skip
    """The listing entry of a stored run row: its :class:`RunRecord`, its ``last_step``
    raised to the row's ``head`` (the newest committed step, when the query read it), or,
    for a row that cannot be decoded, an entry with status ``damaged`` and the problem as
    its ``error`` — so that one damaged run never hides the others from a listing. A
    listing passes one ``specs`` dict for all its rows (see :func:`run_record`): the runs
    of one graph share their decoded spec."""
    data = dict(row)
    head = data.pop("head", None)
    if _fits(head, -1) and _fits(data["last_step"], -1) and head > data["last_step"]:
        data["last_step"] = head
    try:
        return run_record(data, specs)
    except StoreCorrupt as problem:
        damaged = {**data, "spec": "{}", "spec_digest": None, "waiting": None,
                   "frontier": "{}", "usage": "{}", "models": None, "lease_until": None,
                   "lease_owner": None, "status": "damaged", "error": str(problem)}  # fmt: skip
        for key, default in _NUMBERS.items():
            if not _fits(damaged.get(key), default):
                damaged[key] = default
        return run_record(damaged)


def step_row(row: Mapping[str, Any]) -> StepRow:
    """A :class:`StepRow` from a stored step row (``nodes``, ``variables``, ``next`` and
    ``usage`` as JSON text)."""
    run_id = str(row["run_id"])

    def field(key: str, kind: type) -> Any:
        value = loads(row[key], run_id, "step") if row[key] else None
        if value is not None and not isinstance(value, kind):
            raise StoreCorrupt(f"run {run_id!r}: step {row['step']} is damaged (its {key} is "
                               f"not a {kind.__name__}); other runs are not affected")
        return value

    nodes = field("nodes", list) or []
    if not all(isinstance(n, str) for n in nodes):
        raise StoreCorrupt(f"run {run_id!r}: step {row['step']} is damaged (its nodes)")
    return StepRow(run_id=run_id, step=int(row["step"]), nodes=nodes,
                   variables=field("variables", dict),
                   next=_frontier(field("next", dict) or {}, run_id),
                   usage=field("usage", dict), started_at=float(row["started_at"]),
                   seconds=float(row["seconds"]))  # fmt: skip


def branch_result(text: str, run_id: str) -> dict[str, Any]:
    """A saved branch result (an Update's payload), checked for shape."""
    payload = loads(text, run_id, "branch result")
    ok = isinstance(payload, dict) and isinstance(payload.get("messages", []), list) and all(
        isinstance(m, dict) for m in payload.get("messages", [])) and isinstance(
        payload.get("variables") or {}, dict)  # fmt: skip
    if not ok:
        raise StoreCorrupt(f"run {run_id!r}: a saved branch result is damaged; other runs are "
                           "not affected. Delete the run's `writes` rows to run those branches "
                           "again")  # fmt: skip
    return payload


def _extra(text: str | None, run_id: str) -> dict[str, Any]:
    fields = loads(text, run_id, "message") if text else {}
    if not isinstance(fields, dict):
        raise StoreCorrupt(f"run {run_id!r}: a stored message is damaged (extra is not an object)")
    return fields


def message(row: Mapping[str, Any], run_id: str) -> Message:
    """A :class:`Message` from a stored message row (``extra``: its tool calls as JSON
    text)."""
    try:
        return Message(role=row["role"], name=row["name"], content=row["content"],
                       node=row["node"], **_extra(row["extra"], run_id))  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise StoreCorrupt(f"run {run_id!r}: a stored message is damaged ({exc})") from None


def message_row(row: Mapping[str, Any], run_id: str) -> MessageRow:
    """A :class:`MessageRow` from a stored message row."""
    extra = _extra(row["extra"], run_id)
    calls, call_id = extra.get("tool_calls"), extra.get("tool_call_id")
    if not (calls is None or (isinstance(calls, list) and all(isinstance(c, dict) for c in calls))
            ) or not (call_id is None or isinstance(call_id, str)):  # fmt: skip
        raise StoreCorrupt(f"run {run_id!r}: a stored message is damaged (its tool calls)")
    return MessageRow(seq=int(row["seq"]), step=int(row["step"]), node=row["node"],
                      role=str(row["role"]), name=row["name"], content=row["content"],
                      tool_calls=calls, tool_call_id=call_id)  # fmt: skip


def message_extra(m: Message) -> str | None:
    """The JSON text stored beside a message's columns: its tool calls, if any."""
    extra: dict[str, Any] = {}
    if m.tool_calls:
        extra["tool_calls"] = m.tool_calls
    if m.tool_call_id:
        extra["tool_call_id"] = m.tool_call_id
    return dumps(extra) if extra else None
