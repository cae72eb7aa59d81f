"""How a workload script measures: as a worker of ``run.py``, one sample at a time, or alone.

Each side (graphflow, LangGraph, AutoGen, the raw SQLite floor) describes what it can
measure as :class:`Sampler` objects: a (row, column) cell and a function returning one
sample. Preparation (building a graph, filling a database to resume) happens inside the
sampler on its first call and is kept for the next ones.

``run.py`` starts every side's script with ``--serve`` in its own interpreter and asks
for samples in rounds, rotating the order of the sides each round, so that the samples a
ratio divides were taken seconds apart, not minutes (:func:`serve` answers). Run alone, a
script takes its samples one cell after the other and prints the JSON document of
``measure.py`` (:func:`standalone`). Both use the standard library only.

The protocol is one JSON object per line: the driver sends ``{"cmd": "hello"}`` (the
worker answers with its versions and cells), ``{"cmd": "sample", "row": R, "column": C}``
(``{"value": V, "extra": {...}}`` or ``{"error": "..."}``) and ``{"cmd": "bye"}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from measure import Recorder, parse_args

__all__ = ["Sample", "Sampler", "serve", "standalone", "take"]

#: One sample: a number in the row's unit, or a number and details to keep with it.
Sample = float | tuple[float, dict[str, Any]]


@dataclass
class Sampler:
    """One cell of the results table and how to take one sample of it.

    Attributes:
        row, column: the cell (see ``measure.ROWS`` and ``measure.COLUMNS``).
        once: takes one sample (preparing what it needs on its first call).
        warmup: take one sample first that is not counted (imports, caches, JIT-less
            but cold code paths).
        max_reps: take at most this many samples (expensive cells).
        derived: further cells computed from the same sample: ``{row: key}`` reads
            ``extra[key]`` of each sample as a sample of ``row`` (same column).
    """

    row: str
    column: str
    once: Callable[[], Sample]
    warmup: bool = True
    max_reps: int | None = None
    derived: dict[str, str] | None = None


def take(sampler: Sampler) -> tuple[float, dict[str, Any]]:
    """One sample of ``sampler`` as ``(value, extra)``."""
    value = sampler.once()
    if isinstance(value, tuple):
        return float(value[0]), dict(value[1])
    return float(value), {}


def _error(exc: BaseException) -> str:
    """One line saying why a sample failed (a cell a side does not measure says only
    why: its error class is ``NotMeasured``)."""
    text = str(exc) if type(exc).__name__ == "NotMeasured" else f"{type(exc).__name__}: {exc}"
    return (text.splitlines() or [""])[0][:300]


def serve(samplers: Iterable[Sampler], versions: dict[str, str],
          stdin: TextIO | None = None) -> None:  # fmt: skip
    """Answer ``run.py``'s requests on stdin/stdout until it says bye (see the module
    docs). Anything the workloads print goes to stderr, so stdout carries the protocol
    only."""
    cells = {(s.row, s.column): s for s in samplers}
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    source = stdin or sys.stdin
    for line in source:
        request = json.loads(line)
        command = request.get("cmd")
        if command == "bye":
            break
        if command == "hello":
            answer: dict[str, Any] = {
                "versions": versions,
                "cells": [[s.row, s.column, s.warmup, s.max_reps, s.derived or {}]
                          for s in cells.values()],
            }  # fmt: skip
        elif command == "sample":
            sampler = cells.get((request["row"], request["column"]))
            if sampler is None:
                answer = {"error": f"no such cell {request['row']} / {request['column']}"}
            else:
                try:
                    value, extra = take(sampler)
                    answer = {"value": value, "extra": extra}
                except Exception as exc:
                    traceback.print_exc(file=sys.stderr)
                    answer = {"error": _error(exc)}
        else:
            answer = {"error": f"unknown command {command!r}"}
        proto.write(json.dumps(answer) + "\n")
    proto.close()


def standalone(system: str, description: str, versions: Callable[[], dict[str, str]],
               make: Callable[[Any], list[Sampler]], argv: list[str] | None = None) -> None:  # fmt: skip
    """The ``main`` of a workload script: serve ``run.py`` with ``--serve``, otherwise
    take ``--reps`` samples of every selected cell in turn and print the JSON document.

    ``make(sizes)`` returns the script's samplers for the mode's sizes.
    """
    from measure import sizes_for

    started = time.perf_counter()
    args = parse_args(description, argv)
    samplers = make(sizes_for(args.quick))
    if args.serve:
        serve(samplers, versions())
        return
    rec = Recorder(system, reps=args.reps, quick=args.quick, only=tuple(args.only))
    rec.versions.update(versions())
    for sampler in samplers:
        rows = (sampler.row, *(sampler.derived or {}))
        if not rec.wants(*rows):
            continue
        try:
            if sampler.warmup:
                take(sampler)
            taken = [take(sampler) for _ in range(min(args.reps, sampler.max_reps or args.reps))]
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            rec.fail(rows, sampler.column, _error(exc))
            continue
        rec.add(sampler.row, sampler.column, [v for v, _ in taken], taken[-1][1])
        for row, key in (sampler.derived or {}).items():
            rec.add(row, sampler.column, [float(extra[key]) for _, extra in taken])
    rec.emit(started)
