"""Telling a Postgres URL from an SQLite path, without importing the store (so that
``import graphflow`` stays as quick without psycopg as with it)."""

from __future__ import annotations

__all__ = ["INSTALL_HINT", "is_postgres_url"]

#: What to install for the Postgres store.
INSTALL_HINT = "pip install 'graphflow[postgres]'"


def is_postgres_url(value: object) -> bool:
    """Whether ``value`` is a ``postgresql://`` or ``postgres://`` URL.

    Example:
        >>> is_postgres_url("postgresql://localhost/runs"), is_postgres_url("runs.db")
        (True, False)
    """
    return isinstance(value, str) and value.lower().startswith(("postgresql://", "postgres://"))
