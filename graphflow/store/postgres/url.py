"""Telling a Postgres URL from an SQLite path, without importing the store (so that
``import graphflow`` stays as quick without psycopg as with it)."""

from __future__ import annotations

import re

from graphflow.errors import StoreError

__all__ = ["INSTALL_HINT", "is_postgres_url", "refuse_keyword_string"]

#: What to install for the Postgres store.
INSTALL_HINT = "pip install 'graphflow[postgres]'"


def is_postgres_url(value: object) -> bool:
    """Whether ``value`` is a ``postgresql://`` or ``postgres://`` URL.

    Example:
        >>> is_postgres_url("postgresql://localhost/runs"), is_postgres_url("runs.db")
        (True, False)
    """
    return isinstance(value, str) and value.lower().startswith(("postgresql://", "postgres://"))


#: A libpq keyword/value connection string ("host=… dbname=…"): its first keyword.
_KEYWORD_STRING = re.compile(r"(?i)^\s*(host|hostaddr|port|dbname|user|password|passfile|"
                             r"sslmode|service|options|connect_timeout|application_name)"
                             r"\s*=")  # fmt: skip


def refuse_keyword_string(value: object) -> None:
    """Refuse a libpq keyword/value connection string given where a run database is
    named (it would otherwise be taken for an SQLite file's name, password and all).

    Raises:
        StoreError: ``value`` is one; the message names its keywords, never their
            values, and the URL form to use instead.

    Example:
        >>> refuse_keyword_string("runs.db")  # a path: fine
    """
    if not isinstance(value, str) or not _KEYWORD_STRING.match(value):
        return
    keys = re.findall(r"(?i)([a-z_]+)\s*=", value)
    shown = " ".join(f"{key}=…" for key in keys)
    raise StoreError(f"the run database is given as a libpq keyword/value string ({shown}); "
                     "graphflow takes a URL instead: postgresql://USER:PASSWORD@HOST:PORT/"
                     "DBNAME (other settings as ?key=value parameters, e.g. "
                     "?sslmode=require), or an SQLite file's path")  # fmt: skip
