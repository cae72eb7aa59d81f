"""The machinery of the crash campaigns: processes, kills and attempts.

A campaign runs a graph file with the ``graphflow`` command line in a child process,
kills it with SIGKILL at a chosen moment (:class:`KillPlan`: after so many run events,
or so many seconds), resumes it in a new process, and repeats until the run
completes. Between attempts :func:`drive` reads what the run store holds and checks
each attempt's side effects against it (``evidence.py``).

Nodes write the side-effect log through :data:`LOG_ENV` (the log file) and :data:`ATTEMPT_ENV`
(the attempt number), one JSON object per line, one ``write`` call per line so a kill
never leaves half a line. See ``shapes.py`` for the node code.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evidence import check_attempt, read_log, stored, tool_repeats

__all__ = [
    "ATTEMPT_ENV",
    "LOG_ENV",
    "Attempt",
    "KillPlan",
    "TrialReport",
    "cli",
    "drive",
    "kill",
    "run_attempt",
    "wait_until",
]

ATTEMPT_ENV = "CRASHKIT_ATTEMPT"
LOG_ENV = "CRASHKIT_LOG"


def cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
        stdout: bool = False) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start ``graphflow ARGS`` in a child process (stderr kept; stdout piped when
    ``stdout``, else dropped).

    Example:
        >>> proc = cli("--version", cwd=Path("."))
        >>> proc.wait(60)
        0
    """
    path = os.pathsep.join(p for p in (str(cwd), os.environ.get("PYTHONPATH")) if p)
    full = {**os.environ, "PYTHONPATH": path, **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd, env=full,
                            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``proc`` and reap it (so its lease is seen as abandoned at once)."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def wait_until(condition: Callable[[], object], what: str, *, timeout: float = 30.0,
               proc: subprocess.Popen[bytes] | None = None) -> None:  # fmt: skip
    """Poll ``condition`` every 5 ms until it holds; fail naming ``what`` on timeout, or
    when ``proc`` exits first.

    Example:
        >>> wait_until(lambda: True, "nothing")
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"the process exited ({proc.returncode}) before {what}: {err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.005)


@dataclass(frozen=True)
class KillPlan:
    """When to kill one attempt.

    ``after_events``: once the attempt has reported this many run events (``--events
    jsonl``), wait ``delay`` seconds and kill: the kill follows the run's progress, not
    the process's start-up. ``at``: kill this many seconds after the process started.
    Neither: let it finish.
    """

    after_events: int | None = None
    delay: float = 0.0
    at: float | None = None

    @classmethod
    def random(cls, rng: random.Random, events: int) -> KillPlan:
        """Mostly a kill after ``1..events`` events and up to 20 ms more; one kill in
        five at a random moment of the first 0.6 s (start-up, opening the store, the
        first commits)."""
        if events > 0 and rng.random() < 0.8:
            return cls(after_events=rng.randint(1, events), delay=rng.uniform(0, 0.02))
        return cls(at=rng.uniform(0.05, 0.6))


@dataclass
class Attempt:
    """The outcome of one attempt: exit code, whether it was killed, events, stderr."""

    code: int
    killed: bool
    events: int
    stderr: str


class _EventCounter(threading.Thread):
    """Counts the JSON lines a child prints on stdout."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.count = 0
        self.changed = threading.Condition()

    def run(self) -> None:
        for _line in self.stream:
            with self.changed:
                self.count += 1
                self.changed.notify_all()

    def wait_for(self, count: int, deadline: float) -> bool:
        with self.changed:
            while self.count < count and self.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.05))
            return self.count >= count


def run_attempt(args: list[str], *, cwd: Path, env: Mapping[str, str], plan: KillPlan,
                timeout: float = 120.0) -> Attempt:  # fmt: skip
    """Run ``graphflow ARGS --events jsonl`` once and kill it as ``plan`` says."""
    proc = cli(*args, "--events", "jsonl", cwd=cwd, env=env, stdout=True)
    counter = _EventCounter(proc.stdout)
    counter.start()
    started = time.monotonic()
    if plan.after_events is not None:
        if counter.wait_for(plan.after_events, started + timeout) and plan.delay:
            time.sleep(plan.delay)
    elif plan.at is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(plan.at)
    killed = False
    if (plan.after_events is not None or plan.at is not None) and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        killed = True
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    counter.join(5)
    err = proc.stderr.read().decode() if proc.stderr else ""
    return Attempt(code, killed and code == -signal.SIGKILL, counter.count, err)


@dataclass
class TrialReport:
    """What one trial did.

    Attributes:
        attempts, kills: processes started, and how many of them were killed.
        events: run events reported by all attempts.
        interrupted_calls: tool calls executed again because a kill cut their work short.
        window_repeats: tool calls executed again although their work had finished,
            because the kill fell before their result was recorded (at-least-once window).
    """

    attempts: int = 0
    kills: int = 0
    events: int = 0
    interrupted_calls: int = 0
    window_repeats: int = 0


def drive(graph: Path, db: Path, run_id: str, *, rng: random.Random, log: Path,
          answer: str = "yes", max_kills: int = 3, events: int = 0, steps: int = 1,
          env: Mapping[str, str] | None = None, first_attempt: int = 1) -> TrialReport:  # fmt: skip
    """Run ``graph`` as ``run_id`` to completion, killing up to ``max_kills`` attempts,
    and check every attempt's side effects (see the module docs).

    Args:
        events, steps: the run events and steps of an uninterrupted run, to aim kills.
        first_attempt: the number of the first attempt (attempts the caller made itself
            keep lower numbers in the log).

    Returns:
        a :class:`TrialReport`; the caller compares the final transcript.
    """
    report = TrialReport()
    cwd = graph.parent
    for attempt in range(first_attempt, first_attempt + 99):
        before = stored(db, run_id)
        if before.status == "completed":
            break
        if before.status is None:
            args = ["run", str(graph), "--run-id", run_id]
        else:
            args = ["resume", run_id]
            if before.status == "waiting":
                args += ["--input", answer]
        args += ["--db", str(db), "--no-interactive"]
        plan = KillPlan()
        if report.kills < max_kills:
            left = max(1, round(events * (1 - (before.head + 1) / max(steps, 1))))
            plan = KillPlan.random(rng, left)
        run_env = {**(env or {}), ATTEMPT_ENV: str(attempt), LOG_ENV: str(log)}
        outcome = run_attempt(args, cwd=cwd, env=run_env, plan=plan)
        report.attempts += 1
        report.kills += outcome.killed
        report.events += outcome.events
        assert outcome.killed or outcome.code in (0, 3), (
            f"attempt {attempt} ({' '.join(args[:2])}) exited {outcome.code}: {outcome.stderr}"
        )
        check_attempt(read_log(log), before, attempt)
    else:
        raise AssertionError(f"run {run_id} did not complete within 99 attempts")
    report.interrupted_calls, report.window_repeats = tool_repeats(read_log(log))
    return report
