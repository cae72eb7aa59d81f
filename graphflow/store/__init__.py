"""Run persistence: the store protocols, the SQLite store and the in-memory store.

- :mod:`graphflow.store.protocol` — :data:`RunStatus`, the records a store returns
  (runs, steps, messages, model calls, artifacts), and the :class:`RunWriter` (scheduler)
  and :class:`RunReader` (show, reports, overlays) protocols;
- :class:`Store` — the SQLite store (a file, or ``":memory:"``);
- :class:`MemoryStore` — the same contract in Python dicts;
- :class:`~graphflow.store.postgres.PostgresStore` — the same contract on a Postgres
  server, shared by many processes and machines (needs ``graphflow[postgres]``).
"""

from __future__ import annotations

from pathlib import Path

from graphflow.errors import StoreError
from graphflow.store.memory import MemoryStore
from graphflow.store.postgres.url import is_postgres_url, refuse_keyword_string
from graphflow.store.protocol import (
    MAX_ARTIFACT_BYTES,
    RUN_STATUSES,
    ArtifactRow,
    ChildRun,
    EffectWrites,
    MessageRow,
    ModelCall,
    ModelCallRow,
    RunReader,
    RunRecord,
    RunStatus,
    RunStore,
    RunWriter,
    StepRow,
)
from graphflow.store.sqlite import Store

__all__ = [
    "MAX_ARTIFACT_BYTES",
    "RUN_STATUSES",
    "ArtifactRow",
    "ChildRun",
    "EffectWrites",
    "MemoryStore",
    "MessageRow",
    "ModelCall",
    "ModelCallRow",
    "RunReader",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "RunWriter",
    "StepRow",
    "Store",
    "open_store",
]

_STORE_METHODS = ("get_run", "create_run", "commit_step", "acquire_lease")


def open_store(store: RunStore | str | Path | None) -> tuple[RunStore, bool]:
    """The store a ``store=`` argument names, and whether the caller opened it (and so
    closes it): a ``postgresql://`` (or ``postgres://``) URL opens the Postgres store
    there, a path the SQLite store there, ``None`` an SQLite store in memory, and a store
    object (``Store``, ``MemoryStore``, ``PostgresStore``, or any :class:`RunStore`) is
    used as it is.

    Raises:
        StoreError: ``store`` is none of these; a Postgres URL without psycopg installed
            (naming ``pip install 'graphflow[postgres]'``), or whose server cannot be
            reached or refuses the login.

    Example:
        >>> store, opened = open_store(None)
        >>> type(store).__name__, opened
        ('Store', True)
        >>> memory = MemoryStore()
        >>> open_store(memory) == (memory, False)
        True
    """
    if is_postgres_url(store):
        from graphflow.store.postgres import PostgresStore

        return PostgresStore(str(store)), True
    refuse_keyword_string(store)
    if store is None or isinstance(store, (str, Path)):
        return Store(":memory:" if store is None else store), True
    if all(hasattr(store, name) for name in _STORE_METHODS):
        return store, False
    raise StoreError(f"store={store!r} is not a run store; pass a database path, a "
                     "postgresql:// URL, a Store or a MemoryStore")  # fmt: skip
