"""Run persistence: the store protocols, the SQLite store and the in-memory store.

- :mod:`graphflow.store.protocol` — :data:`RunStatus`, the records a store returns
  (runs, steps, messages, model calls, artifacts), and the :class:`RunWriter` (scheduler)
  and :class:`RunReader` (show, reports, overlays) protocols;
- :class:`Store` — the SQLite store (a file, or ``":memory:"``);
- :class:`MemoryStore` — the same contract in Python dicts.
"""

from __future__ import annotations

from pathlib import Path

from graphflow.errors import StoreError
from graphflow.store.memory import MemoryStore
from graphflow.store.protocol import (
    MAX_ARTIFACT_BYTES,
    RUN_STATUSES,
    ArtifactRow,
    ChildRun,
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
    closes it): a path opens the SQLite store there, ``None`` an SQLite store in memory,
    and a store object (``Store``, ``MemoryStore``, or any :class:`RunStore`) is used
    as it is.

    Raises:
        StoreError: ``store`` is none of these.

    Example:
        >>> store, opened = open_store(None)
        >>> type(store).__name__, opened
        ('Store', True)
        >>> memory = MemoryStore()
        >>> open_store(memory) == (memory, False)
        True
    """
    if store is None or isinstance(store, (str, Path)):
        return Store(":memory:" if store is None else store), True
    if all(hasattr(store, name) for name in _STORE_METHODS):
        return store, False
    raise StoreError(f"store={store!r} is not a run store; pass a database path, a Store or "
                     "a MemoryStore")  # fmt: skip
