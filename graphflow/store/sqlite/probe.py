"""Looking at an SQLite file without changing it: whether it is a graphflow run database,
and which tables it has — for a command that is given a file meant for something else
(``graphflow tune --study graphflow.db``) to refuse it before writing into it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from graphflow.store.sqlite.schema import APPLICATION_ID, MARKER

__all__ = ["SqliteFile", "probe_sqlite_file"]

_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class SqliteFile:
    """What an existing SQLite file holds.

    Attributes:
        tables: the names of its tables.
        run_database: whether it is a graphflow run database.
    """

    tables: frozenset[str]
    run_database: bool


def probe_sqlite_file(path: str | Path) -> SqliteFile | None:
    """Read ``path``'s tables, opened read-only; ``None`` when it is missing, empty, not
    an SQLite file, or cannot be read.

    Example:
        >>> import tempfile
        >>> from graphflow.store import Store
        >>> path = Path(tempfile.mkdtemp()) / "runs.db"
        >>> Store(path).close()
        >>> probe_sqlite_file(path).run_database, probe_sqlite_file(path.parent / "none.db")
        (True, None)
    """
    target = Path(path)
    try:
        with target.open("rb") as handle:
            if handle.read(len(_HEADER)) != _HEADER:
                return None
        conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = frozenset(r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"))  # fmt: skip
            ours = conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
            marker = None
            if "meta" in tables:
                row = conn.execute("SELECT value FROM meta WHERE key = 'marker'").fetchone()
                marker = row[0] if row else None
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return None
    return SqliteFile(tables=tables, run_database=ours or marker == MARKER)
