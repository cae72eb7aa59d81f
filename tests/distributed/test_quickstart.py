"""The quickstart through a Celery worker: submitted from one process, run by a worker
process, its human checkpoint answered from another process, finished — the same
transcript as the quickstart run in one process."""

from __future__ import annotations

import shutil
from pathlib import Path

from graphflow.resuming import question_ids

from .workerkit import ROOT, Worker, graphflow, run_here, transcript, wait_status, workers


def test_quickstart_submitted_answered_from_another_process_and_finished(
        tmp_path: Path, broker: str, store_url: str) -> None:  # fmt: skip
    graph = tmp_path / "quickstart.yaml"
    shutil.copy(ROOT / "graphs" / "quickstart.yaml", graph)
    with workers(Worker(store_url, broker, cwd=tmp_path)) as running:
        done = graphflow("submit", str(graph), "--db", store_url, "--broker", broker,
                         "--run-id", "qs", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "qs"
        waiting = wait_status(store_url, "qs", "waiting", running=running)
        assert question_ids(waiting) == {"approve": "approve@5"}
        answered = graphflow("resume", "qs", "--input", "yes", "--db", store_url,
                             cwd=tmp_path, env={"GRAPHFLOW_BROKER": broker})  # fmt: skip
        assert answered.returncode == 0, answered.stderr
        assert answered.stdout.strip() == "qs enqueued (answer to approve@5)"
        wait_status(store_url, "qs", "completed", running=running)
        again = graphflow("resume", "qs", "--input", "yes", "--db", store_url, "--broker",
                          broker, cwd=tmp_path)  # fmt: skip
        assert again.returncode == 2 and "already ended" in again.stderr
    # the same graph in one process, for comparison
    expected = run_here(graph, str(tmp_path / "local.db"), "qs", env={}, answer="yes")
    remote = transcript(store_url, "qs")
    assert remote == expected
    assert remote["status"] == "completed" and remote["reason"] == "published"
