"""The Postgres run store (see :class:`~graphflow.store.postgres.store.PostgresStore`).

Importing this package does not import psycopg; opening a store does, and without it
raises a StoreError naming ``pip install 'graphflow[postgres]'``.
"""

from graphflow.store.postgres.schema import FORMAT_VERSION
from graphflow.store.postgres.store import INSTALL_HINT, PostgresStore, is_postgres_url

__all__ = ["FORMAT_VERSION", "INSTALL_HINT", "PostgresStore", "is_postgres_url"]
