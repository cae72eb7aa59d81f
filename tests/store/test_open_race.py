"""Processes that open one new run database at the same moment all get a working store:
SQLite answers some of their races (switching the file to WAL, creating the schema)
"locked" at once, without waiting, and the store tries again instead of failing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

OPENER = """
import sys, time
from graphflow.store import Store
start = float(sys.argv[2])
while time.time() < start:
    pass
store = Store(sys.argv[1])
store.close()
print("opened")
"""


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    for round_ in range(5):
        db = tmp_path / f"runs{round_}.db"
        start = time.time() + 1.5  # every process has imported graphflow by then
        procs = [subprocess.Popen([sys.executable, str(script), str(db), str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]  # fmt: skip
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0 and out.strip() == "opened", err


def test_a_new_database_left_with_only_its_empty_meta_table_opens(tmp_path: Path) -> None:
    """What another process opening a new file leaves between its first two writes (the
    meta table, not yet marked): a process opening the file then — or later, when that one
    was killed there — sets it up instead of calling it someone else's database."""
    import sqlite3

    from graphflow.store import Store

    db = tmp_path / "runs.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.close()
    with Store(db) as store:
        assert store.list_runs() == []
    with Store(db) as store:  # and it is a graphflow database from then on
        assert store.list_runs() == []
