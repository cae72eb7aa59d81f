"""The stores the contract suite runs against: one factory per store.

A factory opens *handles* on one backing store: each handle is what one process would
open (its own lease owner), and every handle sees the same runs. To run the contract
suite against a new store, add one factory to :data:`FACTORIES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphflow.store import MemoryStore, RunStore, Store


@dataclass
class StoreFactory:
    """Opens handles on one backing store, and closes them at the end of a test."""

    name: str
    opener: Callable[[], RunStore]
    opened: list[RunStore] = field(default_factory=list)
    #: what to do once every handle is closed (drop a database)
    cleanup: Callable[[], None] | None = None

    def open(self) -> RunStore:
        """A new handle on the backing store (another process, as far as leases go)."""
        store = self.opener()
        self.opened.append(store)
        return store

    def close(self) -> None:
        for store in reversed(self.opened):
            store.close()
        if self.cleanup is not None:
            self.cleanup()


def sqlite_file(tmp_path: Path) -> StoreFactory:
    return StoreFactory("sqlite", lambda: Store(tmp_path / "runs.db"))


def memory(tmp_path: Path) -> StoreFactory:
    backing = MemoryStore()
    return StoreFactory("memory", backing.handle)


def postgres(tmp_path: Path) -> StoreFactory:
    """A fresh database on the test server (skipped, with the reason, without one)."""
    from graphflow.store.postgres import PostgresStore
    from graphflow.testing.postgres import create_database, drop_database, server_url

    admin = server_url()
    url = create_database(admin)
    return StoreFactory("postgres", lambda: PostgresStore(url),
                        cleanup=lambda: drop_database(admin, url))


#: name → factory taking a fresh temporary folder
FACTORIES: dict[str, Callable[[Path], Any]] = {"sqlite": sqlite_file, "memory": memory,
                                               "postgres": postgres}
