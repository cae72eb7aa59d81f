"""Real processes for the distributed tests: ``graphflow worker`` subprocesses (each in
its own process group, so that a kill takes the worker and its pool), ``graphflow``
commands, and reading what the shared store holds.

The node module :data:`NODES` (written next to each test's graph files as
``wnodes.py``) appends one line per side effect to the file named by ``WNODES_LOG``:
``RUN NODE VISIT PGID`` (the worker's process group, to tell which worker did it), one
``write`` per line. ``gated`` nodes wait for the file ``WNODES_GATE`` before their effect,
and say they started in ``WNODES_STARTED``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

NODES = '''
import os, random, time
from graphflow import Message, Update


def _line(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (text + "\\n").encode())
    finally:
        os.close(fd)


def effect(state, ctx):
    """A tool call with a side effect: one line in the effect log."""
    time.sleep(float(os.environ.get("WNODES_SLEEP", "0")) * random.uniform(0.5, 1.5))
    visit = state.visits.get(ctx.node_id, 0)
    _line(os.environ["WNODES_LOG"], f"{ctx.run_id} {ctx.node_id} {visit} {os.getpgrp()}")
    n = state.variables.get("n", 0) + 1
    return Update(messages=[Message(content=f"{ctx.node_id}:{visit}:{n}")], variables={"n": n})


def gated(state, ctx):
    """Like effect, but first says it started and waits until the gate file exists."""
    _line(os.environ["WNODES_STARTED"], f"{ctx.node_id} {os.getpgrp()}")
    while not os.path.exists(os.environ["WNODES_GATE"]):
        time.sleep(0.02)
    return effect(state, ctx)
'''


def chain_graph(folder: Path, name: str = "chain", steps: int = 6, gate_at: int | None = None,
                loop: int = 0, human: bool = False) -> Path:  # fmt: skip
    """A graph file of ``steps`` effect nodes in a row (node ``gate_at`` gated), then a
    loop node run ``loop`` more times, then a human checkpoint if ``human``."""
    (folder / "wnodes.py").write_text(NODES)
    nodes = [f"  s{i}: {{kind: function, call: \"wnodes:{'gated' if i == gate_at else 'effect'}\"}}"
             for i in range(steps)]  # fmt: skip
    edges = [f"  - {{from: s{i}, to: s{i + 1}}}" for i in range(steps - 1)]
    last = f"s{steps - 1}"
    if loop:
        nodes.append('  again: {kind: function, call: "wnodes:effect"}')
        edges += [f"  - {{from: {last}, to: again}}",
                  f"  - {{from: again, to: again, when: 'visits.again < {loop}'}}",
                  "  - {from: again, to: tail, else: true}"]  # fmt: skip
        last = "tail"
        nodes.append('  tail: {kind: function, call: "wnodes:effect"}')
    if human:
        nodes += ['  ask: {kind: human, prompt: "go on?"}',
                  '  after: {kind: function, call: "wnodes:effect"}']  # fmt: skip
        edges += [f"  - {{from: {last}, to: ask}}", "  - {from: ask, to: after}"]
        last = "after"
    nodes.append("  done: {kind: end}")
    edges.append(f"  - {{from: {last}, to: done}}")
    path = folder / f"{name}.yaml"
    path.write_text(f"graph: {name}\nentry: s0\nvariables: {{n: 0}}\nlimits: {{max_steps: 500}}\n"
                    "nodes:\n" + "\n".join(nodes) + "\nedges:\n" + "\n".join(edges) + "\n")
    return path


def node_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment the node module reads, in ``folder``."""
    return {"WNODES_LOG": str(folder / "effects.log"), "WNODES_STARTED": str(folder / "started"),
            "WNODES_GATE": str(folder / "gate"), **extra}  # fmt: skip


def _env(cwd: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(cwd), str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **(env or {})}


def graphflow(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run ``graphflow ARGS`` to its end; its output as text."""
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          env=_env(cwd, env), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


class Worker:
    """A ``graphflow worker`` subprocess in its own process group."""

    def __init__(self, db: str, broker: str, *, cwd: Path, env: Mapping[str, str] | None = None,
                 concurrency: int = 1, visibility_timeout: float = 2.0,
                 extra: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.log = cwd / f"worker-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "graphflow.cli", "worker", "--db", db, "--broker", broker,
                 "--concurrency", str(concurrency), "--visibility-timeout",
                 str(visibility_timeout), *extra],
                cwd=cwd, env=_env(cwd, env), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)  # fmt: skip

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def ready(self) -> bool:
        """Whether the worker says it is connected and ready."""
        return " ready." in self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> Worker:
        wait_until(self.ready, "the worker is ready", timeout=timeout, proc=self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes (a machine lost), and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # pool processes left behind
            os.killpg(self.pgid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def workers(*made: Worker) -> Iterator[list[Worker]]:
    """Stop every worker in ``made`` (and any added to the list) at the end."""
    running = list(made)
    try:
        yield running
    finally:
        for worker in running:
            worker.stop()


def wait_until(condition: Callable[[], object], what: str, *, timeout: float = 30.0,
               proc: subprocess.Popen[bytes] | None = None) -> None:  # fmt: skip
    """Poll ``condition`` every 20 ms; fail naming ``what`` on timeout, or when ``proc``
    exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the worker exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.02)


def run_record(db: str, run_id: str) -> Any:
    """The run as the shared store holds it now (``None`` when it is not there)."""
    from graphflow.errors import RunNotFound
    from graphflow.store import open_store

    store, _ = open_store(db)
    try:
        return store.get_run(run_id)
    except RunNotFound:
        return None
    finally:
        store.close()


def wait_status(db: str, run_id: str, status: str, *, timeout: float = 30.0,
                running: list[Worker] | None = None) -> Any:  # fmt: skip
    """Wait until the run has ``status``; return its record (on timeout, fail with the
    workers' logs)."""
    found: list[Any] = [None]

    def reached() -> bool:
        found[0] = run_record(db, run_id)
        return found[0] is not None and found[0].status == status

    try:
        wait_until(reached, f"run {run_id} is {status}", timeout=timeout)
    except AssertionError as exc:
        logs = "\n".join(w.output()[-3000:] for w in running or [])
        raise AssertionError(f"{exc}; it is {getattr(found[0], 'status', None)}\n{logs}") from None
    return found[0]


def transcript(db: str, run_id: str) -> dict[str, Any]:
    """What must match between runs: status, reason, messages, variables, visits."""
    from graphflow.show import run_as_dict
    from graphflow.store import open_store

    store, _ = open_store(db)
    try:
        data = run_as_dict(store, run_id)
    finally:
        store.close()
    return {"status": data["status"], "reason": data.get("reason"),
            "variables": data["variables"], "visits": data["visits"],
            "messages": [(m["seq"], m["node"], m["role"], m["name"], m["content"])
                         for m in data["messages"]]}  # fmt: skip


def run_here(graph_file: Path, db: str, run_id: str, *, env: Mapping[str, str],
             answer: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Run ``graph_file`` uninterrupted in this process (answering its checkpoint with
    ``answer``) and return its :func:`transcript`: what a distributed run must equal."""
    from graphflow import runs
    from graphflow.loader import load
    from graphflow.store import Store

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    sys.path.insert(0, str(graph_file.parent))
    store = Store(db)
    try:
        graph = load(graph_file)
        result = runs.run_sync(runs.start(graph, store=store, run_id=run_id))
        if result.status == "waiting" and answer is not None:
            runs.run_sync(runs.resume(graph, run_id, input=answer, store=store))
    finally:
        store.close()
        sys.path.remove(str(graph_file.parent))
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return transcript(db, run_id)


def effects(folder: Path, run_id: str | None = None) -> list[tuple[str, int, int]]:
    """The effect log (of run ``run_id``, or of all): ``(node, visit, worker process
    group)`` per line."""
    path = folder / "effects.log"
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines() if line]
    return [(node, int(visit), int(pgid)) for run, node, visit, pgid in rows
            if run_id in (None, run)]


def repeated(log: list[tuple[str, int, int]]) -> dict[tuple[str, int], int]:
    """Effects done more than once: ``{(node, visit): times}``."""
    counts = Counter((node, visit) for node, visit, _ in log)
    return {key: n for key, n in counts.items() if n > 1}
