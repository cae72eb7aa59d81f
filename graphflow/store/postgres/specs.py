"""Graph specs in the Postgres store, kept once: one ``specs`` row per digest (the SHA-256
of the spec's JSON text, :func:`~graphflow.store.codec.spec_digest`) for every run of
that graph; a run row keeps ``spec = ''`` and names its spec by ``spec_digest``.

Many processes create and delete runs of one graph at once, so the rows follow one
locking rule, inside the transaction that inserts or deletes the run:

- a writer of a run (:func:`put_spec`, called by ``create_run`` and ``fork_run``) adds
  the row if it is missing and otherwise takes a ``FOR KEY SHARE`` lock on it, held until
  its run is committed. Key-share locks do not conflict with one another: writers of the
  same graph never wait for each other (except for the first row of a digest, which the
  second writer waits to see committed);
- a deleter of a run (:func:`lock_spec`, then :func:`drop_spec`) takes ``FOR UPDATE`` on
  the row *before* deleting anything, which waits for every writer holding the row; its
  "does any run still name it?" check then runs in a later statement, whose snapshot sees
  those writers' runs. A writer that comes after the deleter's lock waits for it; if the
  deleter dropped the row, the writer finds it gone and adds it again.

So a run never names a spec that was dropped under it, and two writers of one graph both
succeed. A row whose text differs from its digest (damaged or edited by hand) is written
again by the next run of that graph, as in the SQLite store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphflow.errors import StoreError
from graphflow.store.codec import dumps_spec_digest

__all__ = ["drop_spec", "lock_spec", "put_spec"]

#: Add the row when missing (``added``), else lock it for key share and tell whether its
#: text is the one given (``same``; NULL: it was dropped since the statement began).
_PUT = ("WITH given (digest, spec) AS (VALUES (%s::text, %s::text)),"
        " added AS (INSERT INTO specs (digest, spec) SELECT digest, spec FROM given"
        " ON CONFLICT (digest) DO NOTHING RETURNING 1),"
        " kept AS (SELECT s.spec = g.spec AS same FROM specs s JOIN given g"
        " ON s.digest = g.digest FOR KEY SHARE OF s)"
        " SELECT EXISTS (SELECT FROM added), (SELECT same FROM kept)")  # fmt: skip

#: How many times :func:`put_spec` looks again for a row dropped while it looked.
_ATTEMPTS = 10


def put_spec(conn: Any, spec: Mapping[str, Any]) -> str:
    """Keep ``spec`` in the ``specs`` table (once per digest, inside the caller's
    transaction, which then holds the row until it commits) and return its digest, which
    the run row names. A row of that digest whose text differs is written again.

    Raises:
        StoreError: the spec cannot be stored (:func:`~graphflow.store.codec.dumps`), or
            the row was dropped by other processes every time it was looked at.
    """
    text, digest = dumps_spec_digest(spec)
    for _ in range(_ATTEMPTS):
        added, same = conn.execute(_PUT, (digest, text)).fetchone()
        if added or same:
            return digest
        if same is False:  # damaged or edited: the digest is the text's
            conn.execute("UPDATE specs SET spec = %s WHERE digest = %s", (text, digest))
            return digest
        # (added, same) = (False, NULL): the row another writer was adding was not yet
        # committed when the statement began, or a deleter dropped it meanwhile: look again
    raise StoreError(f"could not keep the graph spec {digest[:12]}… in the specs table: "
                     f"other processes dropped it {_ATTEMPTS} times in a row while runs "
                     "were deleted; try again")  # fmt: skip


def lock_spec(conn: Any, run_id: str) -> str | None:
    """Lock the spec row ``run_id`` names (``FOR UPDATE``, waiting for the writers of runs
    that hold it) before the run is deleted, in the deleting transaction; its digest, or
    ``None`` when the run names none or it is missing."""
    row = conn.execute("SELECT s.digest FROM runs r JOIN specs s ON s.digest = r.spec_digest"
                       " WHERE r.run_id = %s FOR UPDATE OF s", (run_id,)).fetchone()  # fmt: skip
    return None if row is None else str(row[0])


def drop_spec(conn: Any, digest: str) -> None:
    """Delete the spec row ``digest`` (locked by :func:`lock_spec` in this transaction)
    when no run names it any more."""
    conn.execute("DELETE FROM specs WHERE digest = %s AND NOT EXISTS (SELECT 1 FROM runs"
                 " WHERE spec_digest = %s)", (digest, digest))  # fmt: skip
