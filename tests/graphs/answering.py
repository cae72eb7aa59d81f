"""Running a graph file to its end offline, answering every question it asks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphflow import RunResult, Store


def run_answering(graph: Any, store: Store, work_dir: Path, *, rounds: int) -> RunResult:
    """Run ``graph`` on the task "Solve the task." and, while it waits (at most ``rounds``
    times), answer its question with the first option offered (or an empty answer)."""
    result = graph.run_sync("Solve the task.", store=store, work_dir=work_dir)
    for _ in range(rounds):
        if result.status != "waiting":
            break
        record = store.get_run(result.run_id)
        assert record.waiting is not None
        _, info = next(iter(record.waiting["nodes"].items()))
        answer = info["options"][0] if info["options"] else ""
        result = graph.resume_sync(result.run_id, input=answer, store=store, work_dir=work_dir)
    return result
