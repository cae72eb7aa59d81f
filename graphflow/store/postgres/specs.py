"""Graph specs in the Postgres store, kept once: one ``specs`` row per digest (the SHA-256
of the spec's JSON text, :func:`~graphflow.store.codec.spec_digest`) for every run of
that graph; a run row keeps ``spec = ''`` and names its spec by ``spec_digest``.

Many processes create and delete runs of one graph at once; a run must never name a
spec that was dropped under it. ``runs.spec_digest`` is a foreign key to ``specs``: the
server refuses to drop a row a committed run names, and inserting a run locks the row it
names (``FOR KEY SHARE``) until the run's transaction ends — or fails, when the row is
gone. Around it:

- ``create_run`` is one statement (:func:`spec_statement`: the spec, the run, its messages
  and its snapshot): it adds the row when missing and writes it again when its text differs
  (damaged or edited by hand: the digest is the text's). If a deleter dropped the row
  after the statement began, the foreign key check at its end fails, nothing was
  written, and the statement runs again (adding the row);
- ``fork_run`` writes in several statements, so it locks the row itself, first
  (:func:`put_spec`);
- a deleter of a run locks the row ``FOR UPDATE`` *before* deleting anything
  (:func:`lock_spec`), which waits for every writer holding it; its "does any run still
  name it?" check (:func:`drop_spec`) then runs in a later statement, whose snapshot
  sees those writers' runs. A writer that comes after the deleter's lock waits for it,
  then finds the row kept, or gone and adds it again.

Key-share locks conflict neither with one another nor with an update of the text:
writers of one graph never wait for each other, except for the first row of a digest,
which the second writer waits to see committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphflow.errors import StoreError
from graphflow.store.codec import dumps_spec_digest

__all__ = ["drop_spec", "lock_spec", "put_spec", "spec_statement"]


def spec_statement(spec: Mapping[str, Any],
                   writes: Sequence[tuple[str, Sequence[Any]]]) -> tuple[str, list[Any]]:
    """ONE statement (SQL text, parameters) that keeps ``spec`` and makes ``writes`` (SQL
    statements with their parameters, which name the digest as ``(SELECT digest FROM
    spec_given)``): the row is added when missing, or written again when its text differs.
    It takes no lock on the row: the foreign key of the run it inserts does, at the end of
    the statement (see the module's docstring).

    Raises:
        StoreError: as :func:`~graphflow.store.codec.dumps`.
    """
    text, digest = dumps_spec_digest(spec)
    params: list[Any] = [digest, text]
    items = ["spec_given (digest, spec) AS (VALUES (%s::text, %s::text))",
             "spec_fixed AS (UPDATE specs SET spec = g.spec FROM spec_given g"
             " WHERE specs.digest = g.digest AND specs.spec <> g.spec)"]  # fmt: skip
    for i, (sql, values) in enumerate(writes):
        items.append(f"w{i} AS ({sql})")
        params += values
    # Nothing here depends on the order the server makes the writes in: the foreign key
    # check follows them all. (Postgres runs the main query first, then the WITH items:
    # a test pauses a statement after the row was looked at by holding a later write.)
    return ("WITH " + ", ".join(items) + " INSERT INTO specs (digest, spec) SELECT digest,"
            " spec FROM spec_given ON CONFLICT (digest) DO NOTHING", params)  # fmt: skip


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
