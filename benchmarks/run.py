"""Run graphflow's and the peers' benchmarks side by side and print one comparison table.

    python benchmarks/run.py [--quick] [--reps N] [--only X ...] [--json out.json]

Every side runs in its own interpreter as a worker of this process (``worker.py``):
graphflow (``graphflow_bench.py``) and the raw SQLite floor (``floor.py``) with this
interpreter, LangGraph and AutoGen (``peers/``) in the peer environment
(``peers/setup_venv.py``). Samples are taken in **rounds**: for each row, round after
round, every side takes one sample, in an order that rotates from round to round. The
samples a ratio divides were therefore taken seconds apart, under the same load; each
ratio is the median of the per-round ratios. A side that fails shows ``n/a`` and its
reason below the table; the others still report.

``--only`` takes a system (``graphflow``, ``langgraph``, ``autogen``, ``floor``) or the
start of a row key (``linear``, ``loop``, ``growth``, ``resume``, ``agents``, ``long``,
``start`` …); repeat it to select several.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import selectors
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE / "peers"))

from measure import ROWS, sizes_for  # noqa: E402
from report import cells_by_row, render_table, table_rows  # noqa: E402
from setup_venv import PeerSetupError, ensure_peer_venv, peer_python  # noqa: E402

__all__ = ["main"]

SYSTEMS = ("floor", "graphflow", "langgraph", "autogen")
SCRIPTS = {
    "floor": HERE / "floor.py",
    "graphflow": HERE / "graphflow_bench.py",
    "langgraph": HERE / "peers" / "langgraph_bench.py",
    "autogen": HERE / "peers" / "autogen_bench.py",
}
#: seconds one sample may take before its side is given up
TIMEOUT = 3600


class WorkerGone(RuntimeError):
    """A worker died, hung, or answered something that is not the protocol."""


@dataclass
class Worker:
    """One side's script, started with ``--serve``, answering sample requests."""

    system: str
    python: Path
    args: argparse.Namespace
    proc: subprocess.Popen[str] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    cells: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    failed: str | None = None

    def start(self) -> None:
        cmd = [str(self.python), str(SCRIPTS[self.system]), "--serve"]
        cmd += ["--quick"] if self.args.quick else []
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=HERE.parent,
                                     bufsize=1)  # fmt: skip
        hello = self.ask({"cmd": "hello"}, timeout=300)
        self.versions = hello.get("versions", {})
        for row, column, warmup, max_reps, derived in hello["cells"]:
            self.cells[(row, column)] = {"warmup": warmup, "max_reps": max_reps,
                                         "derived": derived}  # fmt: skip

    def ask(self, request: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
        proc = self.proc
        if proc is None or proc.stdin is None or proc.stdout is None or proc.poll() is not None:
            raise WorkerGone(self._gone("is not running"))
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
        except OSError:
            raise WorkerGone(self._gone("closed its input")) from None
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                proc.kill()
                raise WorkerGone(f"no answer within {timeout:.0f} s")
        line = proc.stdout.readline()
        if not line:
            raise WorkerGone(self._gone("exited"))
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:
            raise WorkerGone(f"printed something that is not JSON: {line[:100]!r}") from None
        return answer

    def _gone(self, what: str) -> str:
        assert self.proc is not None
        try:
            self.proc.wait(timeout=5)
            err = self.proc.stderr.read() if self.proc.stderr else ""
        except subprocess.TimeoutExpired:
            err = ""
        tail = (err.strip().splitlines() or ["(no output)"])[-1][:300]
        return f"{what} (exit {self.proc.returncode}): {tail}"

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(WorkerGone, OSError):
                self.ask({"cmd": "bye"}, timeout=1)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="graphflow vs LangGraph vs AutoGen, side by side, in interleaved rounds."
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    parser.add_argument("--reps", type=int, default=None, help="rounds (default 5; 1 quick)")
    parser.add_argument("--only", action="append", default=[],
                        help="a system or a row prefix (repeatable)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write all results here")
    args = parser.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    systems = [x for x in args.only if x in SYSTEMS]
    args.systems = systems or list(SYSTEMS)
    args.rows = [x for x in args.only if x not in SYSTEMS]
    unknown = [r for r in args.rows if not any(key.startswith(r) for key in ROWS)]
    if unknown:
        prefixes = sorted({key.split(".")[0] for key in ROWS})
        parser.error(f"--only {unknown[0]!r} matches no system ({', '.join(SYSTEMS)}) and no "
                     f"row (rows start with {', '.join(prefixes)})")  # fmt: skip
    return args


def wanted(row: str, prefixes: list[str]) -> bool:
    return not prefixes or any(row.startswith(p) for p in prefixes)


def start_workers(args: argparse.Namespace) -> tuple[list[Worker], dict[str, str]]:
    """Start the selected sides; returns the running workers and why others failed."""
    failures: dict[str, str] = {}
    pythons = {s: Path(sys.executable) for s in ("floor", "graphflow")}
    peers = [s for s in ("langgraph", "autogen") if s in args.systems]
    if peers:
        try:
            print("… peers: checking the peer environment", file=sys.stderr, flush=True)
            ensure_peer_venv()
            for system in peers:
                pythons[system] = peer_python()
        except PeerSetupError as exc:
            for system in peers:
                failures[system] = f"peer setup: {exc}".splitlines()[0]
    workers = []
    for system in args.systems:
        if system not in pythons:
            continue
        worker = Worker(system, pythons[system], args)
        try:
            worker.start()
        except WorkerGone as exc:
            failures[system] = f"did not start: {exc}"
            worker.stop()
            continue
        workers.append(worker)
    return workers, failures


def measure_rounds(workers: list[Worker], args: argparse.Namespace,
                   log: Any = sys.stderr) -> dict[tuple[str, str], dict[str, Any]]:  # fmt: skip
    """Take every selected cell's samples, row by row, in interleaved rounds.

    Returns ``{(row, column): {"samples": [value or None per round], "extra": {...},
    "error": str | None}}``, derived rows included.
    """
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for row in ROWS:
        if not wanted(row, args.rows):
            continue
        entries = [(w, column, info) for w in workers for (r, column), info in w.cells.items()
                   if r == row]  # fmt: skip
        if not entries:
            continue
        print(f"… {row}: {', '.join(c for _, c, _ in entries)}", file=log, flush=True)
        for _, column, info in entries:
            cells[(row, column)] = {"samples": [], "extra": {}, "error": None}
            for derived in info["derived"]:
                cells[(derived, column)] = {"samples": [], "extra": {}, "error": None}
        for worker, column, info in entries:  # warm-ups, not counted
            if info["warmup"] and worker.failed is None:
                sample(worker, row, column, info, cells, counted=False)
        for round_ in range(args.reps):
            shift = round_ % len(entries)
            for worker, column, info in entries[shift:] + entries[:shift]:
                limit = info["max_reps"] or args.reps
                if round_ < limit:
                    sample(worker, row, column, info, cells, counted=True)
    return cells


def sample(worker: Worker, row: str, column: str, info: dict[str, Any],
           cells: dict[tuple[str, str], dict[str, Any]], counted: bool) -> None:  # fmt: skip
    """Ask ``worker`` for one sample of (row, column) and file it under its round."""
    cell = cells[(row, column)]
    derived = info["derived"]
    if worker.failed is not None or cell["error"] is not None:
        if counted:
            cell["samples"].append(None)
            for name in derived:
                cells[(name, column)]["samples"].append(None)
        return
    try:
        answer = worker.ask({"cmd": "sample", "row": row, "column": column})
    except WorkerGone as exc:
        worker.failed = str(exc)
        answer = {"error": f"the {worker.system} worker {exc}"}
    error = answer.get("error")
    if error is not None:
        for name in (row, *derived):
            cells[(name, column)]["error"] = error
    if not counted:
        return
    value = None if error is not None else float(answer["value"])
    extra = answer.get("extra") or {}
    cell["samples"].append(value)
    cell["extra"] = extra or cell["extra"]
    for name, key in derived.items():
        found = extra.get(key)
        cells[(name, column)]["samples"].append(None if found is None else float(found))


#: The rows each side measures, to show n/a on them when a whole side fails to start.
COVERS = {
    "floor": lambda row: row.endswith(".durable") and not row.startswith("resume"),
    "graphflow": lambda row: True,
    "langgraph": lambda row: not row.startswith(("agents.", "long.", "start.help")),
    "autogen": lambda row: row.startswith(("agents.", "long.", "start.import")),
}


def documents(cells: dict[tuple[str, str], dict[str, Any]],
              failures: dict[str, str], args: argparse.Namespace) -> list[dict[str, Any]]:  # fmt: skip
    """The cells as one ``measure.py``-style document (results with their per-round
    samples, errors), plus one per side that did not start (n/a on its rows)."""
    results, errors = [], []
    for (row, column), cell in cells.items():
        taken = [v for v in cell["samples"] if v is not None]
        if cell["error"] is not None or not taken:
            errors.append({"row": row, "column": column,
                           "error": cell["error"] or "no sample"})  # fmt: skip
            continue
        results.append({"row": row, "column": column, "value": statistics.median(taken),
                        "samples": [None if v is None else round(v, 4)
                                    for v in cell["samples"]],
                        "extra": cell["extra"]})  # fmt: skip
    docs = [{"system": "all", "results": results, "errors": errors}]
    for system, reason in failures.items():
        docs.append({"system": system, "failed": reason,
                     "errors": [{"row": row, "column": system, "error": reason} for row in ROWS
                                if wanted(row, args.rows) and COVERS[system](row)]})  # fmt: skip
    return docs


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse(argv)
    sizes = sizes_for(args.quick)
    workers, failures = start_workers(args)
    try:
        cells = measure_rounds(workers, args)
    finally:
        for worker in workers:
            worker.stop()
    docs = documents(cells, failures, args)
    lines = table_rows(cells_by_row(docs), sizes)
    mode = "quick" if args.quick else "full"
    info = machine()
    print(f"\ngraphflow benchmarks ({mode} mode, {args.reps} interleaved rounds; "
          f"{info['cpus']} CPUs, Python {info['python']}, SQLite {info['sqlite']})\n")  # fmt: skip
    print(render_table(lines))
    print()
    for worker in workers:
        versions = ", ".join(f"{k} {v}" for k, v in worker.versions.items())
        state = f"  [FAILED: {worker.failed}]" if worker.failed else ""
        print(f"{worker.system}: {versions or '-'}{state}")
    for system, reason in failures.items():
        print(f"{system}: [FAILED: {reason}]")
    for error in docs[0]["errors"]:
        print(f"n/a {error['column']} {error['row']}: {error['error']}")
    if failures:
        print(f"(n/a on every row of {', '.join(failures)})")
    total = time.perf_counter() - started
    print(f"total time {total:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "mode": mode, "reps": args.reps, "machine": info, "seconds": round(total, 1),
            "versions": {w.system: w.versions for w in workers}, "failures": failures,
            "results": docs[0]["results"], "errors": docs[0]["errors"], "table": lines,
        }, indent=1) + "\n")  # fmt: skip
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
