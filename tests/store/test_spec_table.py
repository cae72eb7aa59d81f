"""The SQLite store keeps each graph spec once (table ``specs``, by digest): the runs of one
graph share it, a status change leaves it alone, a fork names the same one, deleting a run
drops it only when no other run names it, format-7 files are migrated, and a run whose
spec is missing is reported damaged without hiding the others."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from graphflow import Graph, Store
from graphflow.errors import StoreCorrupt, StoreError
from graphflow.store.sqlite import schema
from tests.store.test_sqlite import as_format_7


def _chain(name: str, n: int) -> Graph:
    g = Graph(name, entry="n0")
    for k in range(n):
        g.add_node(f"n{k}", lambda s: None)
    for k in range(n - 1):
        g.add_edge(f"n{k}", f"n{k + 1}")
    return g


def _specs(store: Store) -> int:
    return int(store.conn.execute("SELECT COUNT(*) FROM specs").fetchone()[0])


def test_the_runs_of_one_graph_share_its_spec(tmp_path: Path) -> None:
    graph = _chain("big", 50).compile()
    with Store(tmp_path / "runs.db") as store:
        ids = [graph.run_sync(store=store).run_id for _ in range(3)]
        assert _specs(store) == 1
        rows = store.conn.execute("SELECT length(spec), spec_digest FROM runs").fetchall()
        assert {r[0] for r in rows} == {0} and len({r[1] for r in rows}) == 1
        assert all(store.get_run(i).spec == graph.spec_record() for i in ids)
        listed = store.list_runs()
        assert [r.spec for r in listed] == [graph.spec_record()] * 3
        assert listed[0].spec is listed[1].spec is listed[2].spec  # decoded once
        _chain("other", 2).compile().run_sync(store=store)
        assert _specs(store) == 2


def test_a_fork_names_the_same_spec(tmp_path: Path) -> None:
    graph = _chain("c", 3).compile()
    with Store(tmp_path / "runs.db") as store:
        run = graph.run_sync(store=store)
        store.fork_run(run.run_id, 1, "fork", {"run": ["n0"], "wait": []})
        assert _specs(store) == 1
        assert store.get_run("fork").spec == graph.spec_record()
        assert graph.resume_sync("fork", store=store).status == "completed"


def test_deleting_a_run_drops_its_spec_only_when_no_run_names_it(tmp_path: Path) -> None:
    graph = _chain("c", 3).compile()
    with Store(tmp_path / "runs.db") as store:
        first, second = (graph.run_sync(store=store).run_id for _ in range(2))
        store.delete_run(first)
        assert _specs(store) == 1
        assert store.get_run(second).spec == graph.spec_record()  # still whole
        store.delete_run(second)
        assert _specs(store) == 0


def test_a_format_7_database_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v7.db"
    big, small = _chain("big", 30).compile(), _chain("small", 2).compile()
    with Store(path) as store:
        ids = [g.run_sync(store=store).run_id for g in (big, small, big)]
    as_format_7(path)
    monkeypatch.setattr(schema, "_SPEC_BATCH", 2)  # runs are moved in several batches
    with Store(path) as store:
        assert _specs(store) == 2
        assert store.conn.execute("SELECT COUNT(*) FROM runs WHERE spec != '' OR spec_digest"
                                  " IS NULL").fetchone()[0] == 0  # fmt: skip
        assert [store.get_run(i).spec for i in ids] == [
            big.spec_record(), small.spec_record(), big.spec_record()]  # fmt: skip
        assert small.run_sync(store=store).status == "completed"
        assert _specs(store) == 2


def test_a_run_whose_spec_is_missing_is_reported_damaged(tmp_path: Path) -> None:
    with Store(tmp_path / "runs.db") as store:
        lost = _chain("lost", 2).compile().run_sync(store=store, run_id="lost").run_id
        kept = _chain("kept", 2).compile().run_sync(store=store, run_id="kept").run_id
        store.conn.execute("DELETE FROM specs WHERE digest=(SELECT spec_digest FROM runs"
                           " WHERE run_id='lost')")  # fmt: skip
        with pytest.raises(StoreCorrupt, match=r"run 'lost': its graph spec .* is missing"):
            store.get_run(lost)
        listed = {r.run_id: r.status for r in store.list_runs()}
        assert listed == {"lost": "damaged", "kept": "completed"}
        assert store.get_run(kept).spec is not None


def _format_7_file(path: Path) -> Graph:
    graph = _chain("old", 3).compile()
    with Store(path) as store:
        graph.run_sync(store=store, run_id="old")
    as_format_7(path, "VACUUM")  # no free page left: what the migration adds takes new ones
    return graph


def test_a_migration_another_process_finished_first_is_not_applied_again(tmp_path: Path) -> None:
    """Processes that open a format-7 file at once all read format 7; the first migrates
    it, the others must then find it migrated (not fail on the column it added and call
    the file damaged)."""
    path = tmp_path / "v7.db"
    graph = _format_7_file(path)
    late = sqlite3.connect(path, isolation_level=None)
    assert late.execute("SELECT value FROM meta WHERE key='format_version'").fetchone() == ("7",)
    Store(path).close()  # another process migrates it meanwhile
    assert schema.apply_migrations(late, 7) == schema.FORMAT_VERSION
    late.close()
    with Store(path) as store:
        assert store.get_run("old").spec == graph.spec_record() and _specs(store) == 1


def test_a_read_only_format_7_file_refuses_writes_as_read_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A format-7 file opened read-only (not migrated) has no ``specs`` table: a fork,
    a deletion or a prune says the file is read-only, not that it is damaged."""
    import os

    path = tmp_path / "v7.db"
    _format_7_file(path)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK and str(
        p).startswith(str(tmp_path)) else real(p, mode))  # fmt: skip
    with Store(path) as store:
        assert store.read_only and [r.run_id for r in store.list_runs()] == ["old"]
        for write in (
            lambda: store.fork_run("old", 1, "fork", {"run": ["n0"], "wait": []}),
            lambda: store.delete_run("old"),
            lambda: store.prune(keep_last=0),
        ):
            with pytest.raises(StoreError, match="is read-only") as info:
                write()
            assert not isinstance(info.value, StoreCorrupt)
        assert [r.run_id for r in store.list_runs()] == ["old"]


def test_a_new_run_of_a_graph_restores_its_damaged_spec(tmp_path: Path) -> None:
    """A spec row whose text was damaged or edited is written again by the next run of
    the graph whose digest it carries: that run is not born damaged, and the older runs
    read again."""
    graph = _chain("c", 3).compile()
    with Store(tmp_path / "runs.db") as store:
        first = graph.run_sync(store=store).run_id
        store.conn.execute("UPDATE specs SET spec='{broken'")
        with pytest.raises(StoreCorrupt, match="is damaged"):
            store.get_run(first)
        second = graph.run_sync(store=store).run_id
        assert [store.get_run(i).spec for i in (first, second)] == [graph.spec_record()] * 2
        assert _specs(store) == 1


def test_a_format_7_spec_that_is_not_utf8_text_does_not_stop_the_migration(tmp_path: Path) -> None:
    """A format-7 row whose spec is a blob, or bytes that are not UTF-8, is migrated with
    the others: the blob of a good spec reads as the spec, the bytes read as a damaged
    spec of that run, and the file's other runs (and the listing) read on."""
    path = tmp_path / "v7.db"
    graph = _chain("old", 3).compile()
    with Store(path) as store:
        for run_id in ("blob", "bytes", "fine"):
            graph.run_sync(store=store, run_id=run_id)
        other = _chain("other", 2).compile().run_sync(store=store, run_id="other")
    as_format_7(path, "UPDATE runs SET spec=CAST(spec AS BLOB) WHERE run_id='blob'",
                "UPDATE runs SET spec=CAST(x'7bff22' AS TEXT) WHERE run_id='bytes'")  # fmt: skip
    with Store(path) as store:
        assert store.get_run("blob").spec == store.get_run("fine").spec == graph.spec_record()
        with pytest.raises(StoreCorrupt, match=r"run 'bytes': its graph spec .* is damaged"):
            store.get_run("bytes")
        listed = {r.run_id: r.status for r in store.list_runs()}
        assert listed == {"blob": "completed", "bytes": "damaged", "fine": "completed",
                          "other": "completed"}  # fmt: skip
        assert store.get_run(other.run_id).graph == "other"


def test_a_spec_row_that_is_not_utf8_damages_only_the_runs_of_its_graph(tmp_path: Path) -> None:
    with Store(tmp_path / "runs.db") as store:
        _chain("lost", 2).compile().run_sync(store=store, run_id="lost")
        _chain("kept", 2).compile().run_sync(store=store, run_id="kept")
        store.conn.execute("UPDATE specs SET spec=CAST(x'7bff22' AS TEXT) WHERE digest=(SELECT"
                           " spec_digest FROM runs WHERE run_id='lost')")  # fmt: skip
        assert {r.run_id: r.status for r in store.list_runs()} == {"lost": "damaged",
                                                                   "kept": "completed"}  # fmt: skip
        with pytest.raises(StoreCorrupt, match=r"run 'lost': its graph spec .* is damaged"):
            store.get_run("lost")


def test_a_run_that_lost_its_spec_digest_is_reported_damaged(tmp_path: Path) -> None:
    """A run row keeps ``spec=''`` and the digest of its spec: without the digest it
    names no spec, and reads as damaged (not as a run without a graph)."""
    with Store(tmp_path / "runs.db") as store:
        _chain("lost", 2).compile().run_sync(store=store, run_id="lost")
        kept = _chain("kept", 2).compile()
        kept.run_sync(store=store, run_id="kept")
        store.conn.execute("UPDATE runs SET spec_digest=NULL WHERE run_id='lost'")
        with pytest.raises(StoreCorrupt, match=r"run 'lost': it names no graph spec"):
            store.get_run("lost")
        assert {r.run_id: r.status for r in store.list_runs()} == {"lost": "damaged",
                                                                   "kept": "completed"}  # fmt: skip
        assert store.get_run("kept").spec == kept.spec_record()


def test_a_full_disk_during_the_migration_changes_nothing_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Migration 8 rewrites every run row in one transaction (its log may grow to the
    file's size): a full disk leaves the file at format 7, whole, and the error names the
    file and the migration, not a step to resume."""
    from graphflow.errors import StoreFull

    path = tmp_path / "v7.db"
    graph = _format_7_file(path)
    real = dict(schema._MIGRATIONS)[8]

    def on_a_full_disk(conn: sqlite3.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # no page more: SQLITE_FULL
        real(conn)

    monkeypatch.setattr(schema, "_MIGRATIONS", [(v, on_a_full_disk if v == 8 else fn)
                                                for v, fn in schema._MIGRATIONS])  # fmt: skip
    with pytest.raises(StoreFull) as info:
        Store(path)
    assert str(path) in str(info.value) and "from format 7 to 8" in str(info.value)
    assert "resume" not in str(info.value)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key='format_version'").fetchone() == ("7",)
    conn.close()
    monkeypatch.undo()
    with Store(path) as store:
        assert store.get_run("old").spec == graph.spec_record()


def test_prune_keeps_the_runs_a_damaged_spec_makes_unreadable(tmp_path: Path) -> None:
    """One damaged spec row makes every run of its graph unreadable (``damaged`` in a
    listing); routine retention keeps them (their status is unknown, and the graph's next
    run writes the spec back) unless ``damaged`` is named."""
    asking = Graph("asking", entry="ask")
    asking.add_node("ask", kind="human", prompt="go on?", variable="answer")
    graph = asking.compile()
    with Store(tmp_path / "runs.db") as store:
        waiting = [graph.run_sync(store=store).run_id for _ in range(3)]
        done = _chain("done", 2).compile().run_sync(store=store).run_id
        store.conn.execute("UPDATE runs SET updated_at = updated_at - 864000")
        store.conn.execute("UPDATE specs SET spec = substr(spec, 1, 20) WHERE digest ="
                           " (SELECT spec_digest FROM runs WHERE run_id = ?)", (waiting[0],))
        listed = {r.run_id: r.status for r in store.list_runs()}
        assert listed == {**dict.fromkeys(waiting, "damaged"), done: "completed"}
        assert store.prune(older_than=7 * 86400) == [done]
        waiting.append(graph.run_sync(store=store).run_id)  # it writes the spec back
        assert all(store.get_run(r).status == "waiting" for r in waiting)
        store.conn.execute("UPDATE specs SET spec = '' WHERE digest ="
                           " (SELECT spec_digest FROM runs WHERE run_id = ?)", (waiting[0],))
        assert sorted(store.prune(status=["damaged"])) == sorted(waiting)
        assert store.list_runs() == []


def test_prune_keeps_a_run_mended_after_its_listing(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """``prune --status damaged`` reads each chosen run again before deleting it: runs
    whose spec the graph's next run wrote back between the listing and the deletion are
    kept (they were deleted, a waiting one included)."""
    asking = Graph("asking", entry="ask")
    asking.add_node("ask", kind="human", prompt="go on?", variable="answer")
    graph = asking.compile()
    with Store(tmp_path / "runs.db") as store:
        waiting = [graph.run_sync(store=store).run_id for _ in range(2)]
        store.conn.execute("UPDATE specs SET spec = '{broken'")
        listed = store.list_runs

        def listing_then_mended(**kw: object) -> list:  # type: ignore[type-arg]
            runs = listed(**kw)  # type: ignore[arg-type]
            graph.run_sync(store=store)  # writes the spec back
            return runs

        monkeypatch.setattr(store, "list_runs", listing_then_mended)
        assert store.prune(status=["damaged"]) == []
        assert all(store.get_run(r).status == "waiting" for r in waiting)


def test_a_listing_reads_each_spec_once_and_skips_runs_deleted_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A listing reads the rows, then each graph's spec text once: a graph whose last run
    another process deleted between the two reads is left out, not listed as damaged."""
    kept, gone = _chain("kept", 2).compile(), _chain("gone", 2).compile()
    with Store(tmp_path / "runs.db") as store:
        kept_ids = [kept.run_sync(store=store).run_id for _ in range(3)]
        gone_id = gone.run_sync(store=store).run_id
        rows = store._rows
        reads: list[str] = []

        def rows_then_delete(sql: str, params: object) -> list:  # type: ignore[type-arg]
            out = rows(sql, params)  # type: ignore[arg-type]
            reads.append(sql)
            if len(reads) == 1:
                with Store(tmp_path / "runs.db") as other:
                    other.delete_run(gone_id)
            return out

        monkeypatch.setattr(store, "_rows", rows_then_delete)
        listed = store.list_runs()
        assert sorted(r.run_id for r in listed) == sorted(kept_ids)
        assert {r.status for r in listed} == {"completed"}
        assert "specs.spec" not in reads[0]  # the rows carry no spec text
