"""The store's boundary: SQL lives in graphflow/store only (the model cache keeps its
own table, the memo database and a knowledge index are files of their own); everything else reads and writes runs through the store protocols. One
RunStatus type names every status, and every status has a CLI exit code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_type_hints

import graphflow
from graphflow.cli import EXIT_CODES
from graphflow.results import RunResult
from graphflow.store import RUN_STATUSES, RunRecord, RunStatus

PACKAGE = Path(graphflow.__file__).parent
#: the model response cache owns its table in the run database file; the memo database
#: of teachable agents is a file of its own (its store and its ranker), and so is a
#: knowledge index; the test server creates and drops the databases of tests
OWN_SQL = {PACKAGE / "models" / "cache.py", PACKAGE / "memory" / "store.py",
           PACKAGE / "memory" / "ranking.py", PACKAGE / "testing" / "postgres.py",
           *(PACKAGE / "knowledge" / name for name in ("index.py", "search.py", "embeddings.py"))}
SQL = re.compile(r"\bsqlite3\b|\bsqlite_utils\b|\.db\.|\.conn\b|\.execute(many|script)?\(\s*f?[\"']")


def test_sql_is_only_in_the_store() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "store" in path.parents or path in OWN_SQL:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SQL.search(line):
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert found == []


def test_one_status_type_for_results_records_and_exit_codes() -> None:
    assert set(EXIT_CODES) == set(RUN_STATUSES)
    assert get_type_hints(RunResult)["status"] == RunStatus
    assert get_type_hints(RunRecord)["status"] == RunStatus
    assert EXIT_CODES["completed"] == 0 and EXIT_CODES["waiting"] == 3
