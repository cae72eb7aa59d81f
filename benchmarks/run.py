"""Run graphflow's and the peers' benchmarks in one go and print one comparison table.

    python benchmarks/run.py [--quick] [--reps N] [--only X ...] [--json out.json]

It measures the raw SQLite floor in this process, runs ``graphflow_bench.py`` with this
interpreter, sets up the peer environment (``peers/setup_venv.py``) and runs the LangGraph
and AutoGen workload scripts in it, one after the other (never in parallel: they would
disturb each other's timings). A side that fails shows ``n/a`` and its error below the
table; the others still report.

``--only`` takes a system (``graphflow``, ``langgraph``, ``autogen``, ``floor``) or the
start of a row key (``linear``, ``loop``, ``growth``, ``resume``, ``agents`` …); repeat it
to select several.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE / "peers"))

from floor import FLOOR_ROWS, measure_floor  # noqa: E402
from measure import ROWS, Recorder, sizes_for  # noqa: E402
from report import cells_by_row, render_table, table_rows  # noqa: E402
from setup_venv import PeerSetupError, ensure_peer_venv, peer_python  # noqa: E402

__all__ = ["main"]

SYSTEMS = ("floor", "graphflow", "langgraph", "autogen")
SCRIPTS = {
    "graphflow": HERE / "graphflow_bench.py",
    "langgraph": HERE / "peers" / "langgraph_bench.py",
    "autogen": HERE / "peers" / "autogen_bench.py",
}
# the rows each system measures, to show n/a when a whole side fails
COVERS = {
    "graphflow": tuple(ROWS),
    "langgraph": tuple(r for r in ROWS if not r.startswith("agents.")),
    "autogen": tuple(r for r in ROWS if r.startswith("agents.")),
}
TIMEOUT = 1800


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="graphflow vs LangGraph vs AutoGen GraphFlow, side by side."
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5; 1 quick)")
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


def failed_document(system: str, rows: list[str], error: str) -> dict[str, Any]:
    """A stand-in document for a side that produced nothing: n/a on its rows."""
    wanted = [r for r in COVERS[system] if not rows or any(r.startswith(p) for p in rows)]
    return {"system": system, "results": [], "failed": error,
            "errors": [{"row": r, "column": system, "error": error} for r in wanted]}  # fmt: skip


def run_script(system: str, python: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run one workload script and return its JSON document (or a failed stand-in)."""
    cmd = [str(python), str(SCRIPTS[system]), "--reps", str(args.reps)]
    cmd += ["--quick"] if args.quick else []
    for prefix in args.rows:
        cmd += ["--only", prefix]
    print(f"… {system}: running its workloads", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                              cwd=HERE.parent)  # fmt: skip
    except subprocess.TimeoutExpired:
        return failed_document(system, args.rows, f"timed out after {TIMEOUT} s")
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return failed_document(system, args.rows, f"exit {done.returncode}: {tail}")
    try:
        document: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return failed_document(system, args.rows, "printed no JSON document")
    print(f"  {system}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return document


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
    documents: dict[str, dict[str, Any]] = {}

    if "floor" in args.systems:
        rec = Recorder("sqlite-floor", reps=args.reps, quick=args.quick, only=tuple(args.rows))
        rec.versions["sqlite"] = sqlite3.sqlite_version
        if rec.wants(*FLOOR_ROWS):
            print("… floor: raw SQLite insert + commit", file=sys.stderr, flush=True)
            measure_floor(rec, sizes.floor_steps)
        documents["floor"] = {"system": "sqlite-floor", "versions": rec.versions,
                              "results": rec.results, "errors": rec.errors}  # fmt: skip
    if "graphflow" in args.systems:
        documents["graphflow"] = run_script("graphflow", Path(sys.executable), args)
    peers = [s for s in ("langgraph", "autogen") if s in args.systems]
    if peers:
        try:
            print("… peers: checking the peer environment", file=sys.stderr, flush=True)
            peer_versions = ensure_peer_venv()
        except PeerSetupError as exc:
            for system in peers:
                documents[system] = failed_document(system, args.rows, f"peer setup: {exc}")
        else:
            for system in peers:
                documents[system] = run_script(system, peer_python(), args)
                documents[system].setdefault("versions", peer_versions)

    cells = cells_by_row(documents.values())
    lines = table_rows(cells, sizes)
    mode = "quick" if args.quick else "full"
    info = machine()
    print(f"\ngraphflow benchmarks ({mode} mode, median of {args.reps}; "
          f"{info['cpus']} CPUs, Python {info['python']}, SQLite {info['sqlite']})\n")  # fmt: skip
    print(render_table(lines))
    print()
    for system, doc in documents.items():
        versions = ", ".join(f"{k} {v}" for k, v in doc.get("versions", {}).items())
        print(f"{system}: {versions or '-'}" + (f"  [FAILED: {doc['failed']}]" if "failed" in doc
                                               else ""))  # fmt: skip
    errors = [(s, e) for s, d in documents.items() if "failed" not in d
              for e in d.get("errors", [])]  # fmt: skip
    for system, error in errors:
        print(f"n/a {system} {error['row']} ({error['column']}): {error['error']}")
    total = time.perf_counter() - started
    print(f"total time {total:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"mode": mode, "reps": args.reps, "machine": info,
                                         "seconds": round(total, 1), "systems": documents,
                                         "table": lines}, indent=1) + "\n")  # fmt: skip
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
