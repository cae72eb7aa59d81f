"""What a killed run left behind, and the checks made against it.

The run store says what was committed (the head step), which branch results of the
uncommitted step were saved (``writes``) and which side effects were recorded
(``effects``). The side-effect log says what each attempt actually did. The checks:

- a committed step is never executed again;
- a branch whose result was saved is not re-run;
- a tool call whose result was recorded (journaled, or committed as a tool message) is
  not executed again; one cut off between its work and the recording of its result
  is (the at-least-once window), and :func:`tool_repeats` counts those;
- no message is lost or duplicated, and a finished run matches an uninterrupted one
  (:func:`check_messages`, :func:`comparable`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "LogEntry",
    "Stored",
    "check_attempt",
    "check_messages",
    "comparable",
    "read_log",
    "status",
    "stored",
    "tool_repeats",
    "transcript",
]


def status(db: Path, run_id: str) -> str | None:
    """The run's status as stored, or ``None`` when the run (or the file) does not exist."""
    if not db.exists():
        return None
    with sqlite3.connect(db) as conn:
        try:
            row = conn.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
        except sqlite3.OperationalError:  # killed before the schema was created
            return None
    return row[0] if row else None


@dataclass(frozen=True)
class Stored:
    """What the store holds for a run between two attempts.

    Attributes:
        status: the run's status (``None``: not created yet).
        head: the newest committed step (-1: none yet).
        writes: ``(step, node)`` of saved branch results of the uncommitted step.
        effects: ``(step, node, key)`` of recorded side effects of the uncommitted step.
        tool_results: ``tool_call_id`` of every committed tool message.
    """

    status: str | None
    head: int = -1
    writes: frozenset[tuple[int, str]] = frozenset()
    effects: frozenset[tuple[int, str, str]] = frozenset()
    tool_results: frozenset[str] = frozenset()

    @property
    def recorded_calls(self) -> set[str]:
        """Tool call ids whose result is recorded: committed, or journaled."""
        journaled = {key.split(":", 1)[1].split("#")[0] for _s, _n, key in self.effects
                     if key.startswith("tool:")}  # fmt: skip
        return set(self.tool_results) | journaled


def stored(db: Path, run_id: str) -> Stored:
    """Read :class:`Stored` for ``run_id`` straight from the SQLite file."""
    state = status(db, run_id)
    if state is None:
        return Stored(None)
    with sqlite3.connect(db) as conn:
        head = conn.execute("SELECT MAX(step) FROM steps WHERE run_id=?", (run_id,)).fetchone()[0]
        writes = conn.execute("SELECT step, node FROM writes WHERE run_id=?", (run_id,))
        effects = conn.execute("SELECT step, node, key FROM effects WHERE run_id=?", (run_id,))
        extras = conn.execute("SELECT extra FROM messages WHERE run_id=? AND role='tool'",
                              (run_id,))  # fmt: skip
        calls = {json.loads(e).get("tool_call_id") for (e,) in extras if e}
        return Stored(state, -1 if head is None else int(head),
                      frozenset((int(s), n) for s, n in writes),
                      frozenset((int(s), n, k) for s, n, k in effects),
                      frozenset(c for c in calls if c))  # fmt: skip


def transcript(db: Path, run_id: str) -> dict[str, Any]:
    """The run as ``graphflow show --json`` reports it, with messages reduced to what
    must match between runs: ``(seq, node, role, name, content, extra)``."""
    from graphflow import Store
    from graphflow.show import run_as_dict

    store = Store(db)
    try:
        data = run_as_dict(store, run_id)
    finally:
        store.close()
    data["messages"] = [(m["seq"], m["node"], m["role"], m["name"], m["content"], m["extra"])
                        for m in data["messages"]]  # fmt: skip
    return data


@dataclass(frozen=True)
class LogEntry:
    """One line of the side-effect log: which attempt did what, at which step."""

    attempt: int
    step: int
    node: str
    event: str
    key: str = ""


def read_log(path: Path) -> list[LogEntry]:
    """Read the side-effect log (missing file: no entries)."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        entries.append(LogEntry(data["attempt"], data["step"], data["node"], data["event"],
                                data.get("key", "")))  # fmt: skip
    return entries


def check_attempt(entries: list[LogEntry], before: Stored, attempt: int) -> None:
    """Check one attempt's log entries against what was stored before it started."""
    mine = [e for e in entries if e.attempt == attempt]
    for e in mine:
        assert e.step > before.head, (
            f"attempt {attempt} executed {e.node} at step {e.step}, but step {before.head} was "
            f"already committed: a committed step ran again")  # fmt: skip
        if e.event == "start":
            assert (e.step, e.node) not in before.writes, (
                f"attempt {attempt} re-ran branch {e.node} of step {e.step}, whose result "
                "was saved before the kill")  # fmt: skip
        if e.event == "before":
            assert e.key not in before.recorded_calls, (
                f"attempt {attempt} executed tool call {e.key} again although its result "
                "was recorded")  # fmt: skip


def tool_repeats(entries: list[LogEntry]) -> tuple[int, int]:
    """Count tool-call executions beyond the last one: cut short, or finished but
    unrecorded."""
    runs: dict[str, list[int]] = {}
    finished: set[tuple[str, int]] = set()
    for e in entries:
        if e.event == "before":
            runs.setdefault(e.key, []).append(e.attempt)
        elif e.event == "after":
            finished.add((e.key, e.attempt))
    interrupted = window = 0
    for key, attempts in runs.items():
        for attempt in attempts[:-1]:
            if (key, attempt) in finished:
                window += 1
            else:
                interrupted += 1
    return interrupted, window


def check_messages(run: dict[str, Any]) -> None:
    """No message lost or duplicated: contiguous sequence numbers, and every tool call
    answered by exactly one tool message."""
    seqs = [m[0] for m in run["messages"]]
    assert seqs == list(range(len(seqs))), f"message sequence has gaps or repeats: {seqs}"
    asked: list[str] = []
    answered: Counter[str] = Counter()
    for _seq, _node, role, _name, _content, extra in run["messages"]:
        data = json.loads(extra) if extra else {}
        asked += [call["id"] for call in data.get("tool_calls") or ()]
        if role == "tool":
            answered[data["tool_call_id"]] += 1
    assert len(asked) == len(set(asked)), f"a tool call was asked twice: {asked}"
    assert answered == Counter(asked), f"tool calls {asked} answered as {dict(answered)}"


def comparable(run: dict[str, Any]) -> dict[str, Any]:
    """The parts of a run that must not depend on crashes."""
    usage = run["usage"] or {}
    return {"status": run["status"], "reason": run["reason"], "steps": run["steps"],
            "messages": run["messages"], "variables": run["variables"], "visits": run["visits"],
            "calls": {n: u.get("calls", 0)
                      for n, u in (usage.get("by_node") or {}).items()}}  # fmt: skip
