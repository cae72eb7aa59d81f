"""The SQLite run store (see :class:`~graphflow.store.sqlite.store.Store`)."""

from graphflow.store.sqlite.steps import SNAPSHOT_EVERY
from graphflow.store.sqlite.store import Store

__all__ = ["SNAPSHOT_EVERY", "Store"]
