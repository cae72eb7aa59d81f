"""The Postgres run store (see :class:`~graphflow.store.postgres.store.PostgresStore`).

Importing this package imports neither psycopg nor the store's modules; using
:class:`PostgresStore` does, and opening one without psycopg installed raises a
StoreError naming ``pip install 'graphflow[postgres]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphflow.store.postgres.url import INSTALL_HINT, is_postgres_url, refuse_keyword_string

if TYPE_CHECKING:
    from graphflow.store.postgres.schema import FORMAT_VERSION
    from graphflow.store.postgres.store import PostgresStore

__all__ = ["FORMAT_VERSION", "INSTALL_HINT", "PostgresStore", "is_postgres_url",
           "refuse_keyword_string"]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        from graphflow.store.postgres.store import PostgresStore

        return PostgresStore
    if name == "FORMAT_VERSION":
        from graphflow.store.postgres.schema import FORMAT_VERSION

        return FORMAT_VERSION
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
