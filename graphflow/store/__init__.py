"""Run persistence: the SQLite run store."""

from graphflow.store.sqlite import RunRecord, Store

__all__ = ["RunRecord", "Store"]
