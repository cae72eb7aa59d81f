"""Shared vocabulary of the benchmark scripts: sizes, rows, columns, payloads and output.

Every workload script (graphflow's, LangGraph's, AutoGen's, the floor) imports this
module, so that they agree on workload sizes, on row and column names and on the JSON
they print. It uses the standard library only, because the peer scripts run in a separate
virtual environment without graphflow.

A script run alone prints one JSON document on stdout::

    {"system": "langgraph", "versions": {...}, "reps": 5, "quick": false,
     "results": [{"row": "linear.durable", "column": "langgraph", "value": 1500.2,
                  "samples": [...], "extra": {...}}],
     "errors": [{"row": "loop.durable", "column": "langgraph", "error": "..."}]}

``row`` names the workload line of the results table (see :data:`ROWS`), ``column`` the
system and mode that produced the number (see :data:`COLUMNS`); ``value`` is the median
of ``samples``, in the row's unit. ``run.py`` drives the same scripts as workers instead
(see ``worker.py``), one sample at a time, interleaving the sides.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "COLUMNS",
    "MESSAGE_BYTES",
    "PAYLOAD_BYTES",
    "ROWS",
    "Recorder",
    "Sizes",
    "db_bytes",
    "fsync_copy",
    "message_text",
    "parse_args",
    "payload",
    "peak_rss_mb",
    "per_turn",
    "row_label",
    "scratch_dir",
    "sizes_for",
]

PAYLOAD_BYTES = 1024
#: The message each step of the resume workloads appends.
MESSAGE_BYTES = 200


@dataclass(frozen=True)
class Sizes:
    """Workload sizes of one benchmark mode (full or quick)."""

    linear: int = 200
    fanout: int = 50
    loop: int = 10_000
    growth: tuple[int, int] = (200, 1_000)
    resume: tuple[int, int, int, int] = (10, 1_000, 10_000, 100_000)
    chain: tuple[int, int] = (5, 50)
    chat_agents: tuple[int, int] = (5, 50)
    chat_turns: int = 400
    long_turns: tuple[int, int] = (2_000, 10_000)
    window: int = 10
    starts: int = 5  # fresh interpreters per cold-start sample


FULL = Sizes()
QUICK = Sizes(
    linear=50,
    fanout=10,
    loop=1_000,
    growth=(50, 200),
    resume=(10, 100, 1_000, 2_000),
    chain=(5, 20),
    chat_agents=(5, 20),
    chat_turns=60,
    long_turns=(200, 400),
    starts=2,
)


def sizes_for(quick: bool) -> Sizes:
    """The workload sizes of the quick or the full mode.

    Example:
        >>> sizes_for(quick=False).linear
        200
    """
    return QUICK if quick else FULL


_LONG = "two agents, {turns} turns, {history}"
TIMES = "\N{MULTIPLICATION SIGN}"  # the unit of a ratio row
_SPAN = "turns 100\N{EN DASH}200"
# row key -> (label template, unit). Templates are filled from Sizes by row_label().
ROWS: dict[str, tuple[str, str]] = {
    "linear.memory": ("linear chain, {linear} nodes, in memory", "µs/step"),
    "linear.durable": ("linear chain, {linear} nodes, SQLite", "µs/step"),
    "linear.bytes": ("linear chain, {linear} nodes: db bytes per step", "B/step"),
    "fanout.memory": ("fan-out 1→{fanout}→1, in memory", "µs/node"),
    "fanout.durable": ("fan-out 1→{fanout}→1, SQLite", "µs/node"),
    "loop.memory": ("loop of {loop} steps, in memory", "µs/step"),
    "loop.durable": ("loop of {loop} steps, SQLite", "µs/step"),
    "loop.bytes": ("loop of {loop} steps: db bytes per step", "B/step"),
    "growth.small.durable": ("{growth0} steps + 1 KB message each, SQLite", "µs/step"),
    "growth.small.bytes": ("{growth0} steps + 1 KB message: bytes per step", "B/step"),
    "growth.small.total": ("{growth0} steps + 1 KB message: db size", "KB"),
    "growth.large.durable": ("{growth1} steps + 1 KB message each, SQLite", "µs/step"),
    "growth.large.bytes": ("{growth1} steps + 1 KB message: bytes per step", "B/step"),
    "growth.large.total": ("{growth1} steps + 1 KB message: db size", "KB"),
    "resume.small": ("resume after {resume0} steps of a 200 B message", "ms"),
    "resume.medium": ("resume after {resume1} steps of a 200 B message", "ms"),
    "resume.large": ("resume after {resume2} steps of a 200 B message", "ms"),
    "resume.huge": ("resume after {resume3} steps of a 200 B message", "ms"),
    "agents.chain.small": ("agent chain of {chain0}", "ms/turn"),
    "agents.chain.large": ("agent chain of {chain1}", "ms/turn"),
    "agents.fanout": ("agents fan-out 1→{fanout}→1", "ms/turn"),
    "agents.rr.small": ("round-robin chat, {chat0} members, {chat_turns} turns", "ms/turn"),
    "agents.rr.small.flat": ("round-robin chat, {chat0} members: last 50 ÷ first 50 turns", TIMES),
    "agents.rr.large": ("round-robin chat, {chat1} members, {chat_turns} turns", "ms/turn"),
    "agents.rr.large.flat": ("round-robin chat, {chat1} members: last 50 ÷ first 50 turns", TIMES),
    "agents.auto.small": ("selector chat, {chat0} members, {chat_turns} turns", "ms/turn"),
    "agents.auto.small.flat": ("selector chat, {chat0} members: last 50 ÷ first 50 turns", TIMES),
    "agents.auto.large": ("selector chat, {chat1} members, {chat_turns} turns", "ms/turn"),
    "agents.auto.large.flat": ("selector chat, {chat1} members: last 50 ÷ first 50 turns", TIMES),
    "long.full.small.turn": (_LONG + ": cost of the last 100 turns", "µs/turn"),
    "long.full.small.growth": (_LONG + ": last 100 ÷ " + _SPAN, TIMES),
    "long.full.small.rss": (_LONG + ": peak memory", "MB"),
    "long.window.small.turn": (_LONG + ": cost of the last 100 turns", "µs/turn"),
    "long.window.small.growth": (_LONG + ": last 100 ÷ " + _SPAN, TIMES),
    "long.window.small.rss": (_LONG + ": peak memory", "MB"),
    "long.full.large.turn": (_LONG + ": cost of the last 100 turns", "µs/turn"),
    "long.full.large.growth": (_LONG + ": last 100 ÷ " + _SPAN, TIMES),
    "long.full.large.rss": (_LONG + ": peak memory", "MB"),
    "long.window.large.turn": (_LONG + ": cost of the last 100 turns", "µs/turn"),
    "long.window.large.growth": (_LONG + ": last 100 ÷ " + _SPAN, TIMES),
    "long.window.large.rss": (_LONG + ": peak memory", "MB"),
    "start.help": ("`graphflow --help`, a new interpreter", "ms"),
    "start.import": ("import the framework, a new interpreter", "ms"),
}

# column key -> header.
COLUMNS: dict[str, str] = {
    "graphflow": "graphflow",
    "graphflow_full": "graphflow (fsync)",
    "langgraph": "LangGraph",
    "langgraph_full": "LangGraph (fsync)",
    "langgraph_delta": "LangGraph (DeltaChannel)",
    "autogen": "AutoGen",
    "floor": "raw SQLite floor",
    "floor_full": "raw floor (fsync)",
}


def row_label(row: str, sizes: Sizes) -> str:
    """The human label of a result row for the given sizes.

    Example:
        >>> row_label("loop.durable", sizes_for(quick=True))
        'loop of 1000 steps, SQLite'
        >>> row_label("long.window.large.rss", sizes_for(quick=False))
        'two agents, 10,000 turns, last 10 messages: peak memory'
    """
    template, _unit = ROWS[row]
    parts = row.split(".")
    turns = history = ""
    if parts[0] == "long":
        turns = f"{sizes.long_turns[0 if parts[2] == 'small' else 1]:,}"
        history = "full history" if parts[1] == "full" else f"last {sizes.window} messages"
    return template.format(
        linear=sizes.linear,
        fanout=sizes.fanout,
        loop=sizes.loop,
        growth0=sizes.growth[0],
        growth1=sizes.growth[1],
        resume0=f"{sizes.resume[0]:,}",
        resume1=f"{sizes.resume[1]:,}",
        resume2=f"{sizes.resume[2]:,}",
        resume3=f"{sizes.resume[3]:,}",
        chain0=sizes.chain[0],
        chain1=sizes.chain[1],
        chat0=sizes.chat_agents[0],
        chat1=sizes.chat_agents[1],
        chat_turns=sizes.chat_turns,
        turns=turns,
        history=history,
    )


def payload(step: int) -> str:
    """A distinct message body of exactly :data:`PAYLOAD_BYTES` ASCII characters.

    Example:
        >>> len(payload(7))
        1024
    """
    head = f"message {step:08d} "
    return head + "x" * (PAYLOAD_BYTES - len(head))


def message_text(step: int) -> str:
    """A distinct message body of exactly :data:`MESSAGE_BYTES` ASCII characters.

    Example:
        >>> len(message_text(3)), message_text(3)[:16]
        (200, 'message 00000003')
    """
    head = f"message {step:08d} "
    return head + "x" * (MESSAGE_BYTES - len(head))


def per_turn(stamps: list[float]) -> dict[str, float]:
    """Turn costs from the times a model was called, one stamp per turn: the median
    interval (µs) of turns 100-200 (``early``) and of the last 100 (``last100``), and of
    the first and last 50 (``first50``, ``last50``), and their ratios (``growth``,
    ``flat``). Shorter runs (quick mode) compare their first and last thirds.

    Example:
        >>> stats = per_turn([0.001 * t for t in range(300)])
        >>> round(stats["last100"]), round(stats["growth"], 2), round(stats["flat"], 2)
        (1000, 1.0, 1.0)
    """
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    if len(gaps) < 6:
        raise ValueError(f"{len(gaps) + 1} turns are too few to compare early and late turns")
    third = len(gaps) // 3
    early = statistics.median(gaps[100:200] if len(gaps) >= 300 else gaps[:third])
    last = statistics.median(gaps[-100:] if len(gaps) >= 300 else gaps[-third:])
    edge = min(50, third)
    first50, last50 = statistics.median(gaps[:edge]), statistics.median(gaps[-edge:])
    return {"early": early * 1e6, "last100": last * 1e6, "growth": last / early,
            "first50": first50 * 1e6, "last50": last50 * 1e6, "flat": last50 / first50}  # fmt: skip


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB, since it started its program.

    Linux keeps ``ru_maxrss`` across ``exec``: a child started by a large process
    reports at least its parent's size. ``VmHWM`` in ``/proc/self/status`` belongs to
    the program itself, so it is read where it exists.

    Example:
        >>> peak_rss_mb() > 1
        True
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def fsync_copy(source: Path, target: Path) -> None:
    """Copy a database and flush the copy to disk, so that a timed run does not pay for
    writing the copy back."""
    shutil.copyfile(source, target)
    descriptor = os.open(target, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def db_bytes(path: str | Path) -> int:
    """Bytes an SQLite database occupies on disk, counting its WAL file if one is left.

    Example:
        >>> db_bytes("/nonexistent/file.db")
        0
    """
    total = 0
    for suffix in ("", "-wal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            total += candidate.stat().st_size
    return total


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder for benchmark databases, removed afterwards.

    ``GRAPHFLOW_BENCH_TMP`` chooses its parent folder (the default is the system's
    temporary folder); the file system matters for fsync-bound numbers.

    Example:
        >>> with scratch_dir("doc") as folder:
        ...     folder.is_dir()
        True
    """
    parent = os.environ.get("GRAPHFLOW_BENCH_TMP") or None
    with tempfile.TemporaryDirectory(prefix=f"gfbench-{prefix}-", dir=parent) as name:
        yield Path(name)


@dataclass
class Recorder:
    """Collects the results of one workload script and prints them as JSON.

    Args:
        system: name of the measured system (``"graphflow"``, ``"langgraph"``, ...).
        reps: repetitions per measurement; the reported value is their median.
        quick: whether the quick sizes are in use.
        only: run only rows whose key starts with one of these prefixes (empty: all).

    Example:
        >>> rec = Recorder("demo", reps=3, quick=True)
        >>> rec.measure("loop.memory", "graphflow", lambda: 2.0)
        >>> rec.results[0]["value"]
        2.0
    """

    system: str
    reps: int
    quick: bool
    only: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def wants(self, *rows: str) -> bool:
        """Whether any of these rows was selected with ``--only``."""
        if not self.only:
            return True
        return any(row.startswith(prefix) for row in rows for prefix in self.only)

    def add(
        self, row: str, column: str, samples: list[float], extra: dict[str, Any] | None = None
    ) -> None:
        """Record an already measured row: its median and its samples."""
        if row not in ROWS:
            raise KeyError(f"unknown benchmark row {row!r}; add it to ROWS in measure.py")
        if not self.wants(row):
            return
        self.results.append(
            {
                "row": row,
                "column": column,
                "value": statistics.median(samples),
                "samples": [round(s, 3) for s in samples],
                "extra": extra or {},
            }
        )

    def fail(self, rows: tuple[str, ...], column: str, error: BaseException | str) -> None:
        """Record that measuring these rows failed, with a one-line reason."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        text = (text.splitlines() or [""])[0][:300]
        for row in rows:
            self.errors.append({"row": row, "column": column, "error": text})

    def measure(self, row: str, column: str, once: Callable[[], float]) -> None:
        """Call ``once`` (which returns one sample) ``reps`` times and record the median."""
        if not self.wants(row):
            return
        try:
            samples = [once() for _ in range(self.reps)]
        except Exception as exc:  # a peer failing must not hide the other numbers
            self.fail((row,), column, exc)
            return
        self.add(row, column, samples)

    def emit(self, started: float) -> None:
        """Print the JSON document on stdout."""
        document = {
            "system": self.system,
            "versions": self.versions,
            "python": platform.python_version(),
            "reps": self.reps,
            "quick": self.quick,
            "seconds": round(time.perf_counter() - started, 2),
            "info": self.info,
            "results": self.results,
            "errors": self.errors,
        }
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options shared by every workload script.

    ``--serve`` makes the script a worker of ``run.py`` (see ``worker.py``) instead of
    measuring by itself.

    Example:
        >>> parse_args("demo", ["--quick"]).reps
        1
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5; 1 quick)")
    parser.add_argument(
        "--only", action="append", default=[], help="run rows starting with this (repeatable)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args
