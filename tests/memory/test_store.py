"""The memo database: idempotent writes, BM25 recall, forgetting, and refusing files
that are not memo databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from graphflow.errors import StoreCorrupt, StoreError
from graphflow.memory import Memo, MemoNotFound, MemoStore, default_memory_db, memo_id
from graphflow.store import Store


def memo(i: int, topic: str, text: str, agent: str = "bot", kind: str = "fact") -> Memo:
    return Memo(memo_id("r1", i, "bot", 0), agent, kind, topic, text, "r1", i, "bot")


@pytest.fixture
def store(tmp_path: Path) -> MemoStore:
    with MemoStore(tmp_path / "m.db") as opened:
        yield opened


def test_a_memo_written_twice_is_stored_once(store: MemoStore) -> None:
    m = memo(0, "favourite colour", "The user's favourite colour is teal.")
    assert store.add([m]) == [m.id]
    assert store.add([m]) == []
    # the same text learned elsewhere (another id) is not stored again either
    again = Memo("other-id", "bot", "fact", " Favourite  colour", "the user's favourite colour is teal.")
    assert store.add([again]) == []
    assert [x.id for x in store.memos()] == [m.id]
    # ... but another agent may hold the same memo
    assert store.add([Memo("x2", "other", "fact", m.topic, m.text)]) == ["x2"]


def test_recall_ranks_by_relevance_per_agent_with_limit_and_threshold(store: MemoStore) -> None:
    store.add([memo(0, "favourite colour", "The user's favourite colour is teal."),
               memo(1, "sprint review day", "The sprint review is on Thursdays."),
               memo(2, "how to format reports", "Use bullet points in reports.",
                    kind="preference"),
               memo(3, "favourite colour", "Teal.", agent="someone-else")])
    found = store.recall("bot", "When is our sprint review? Format the report.")
    assert [m.topic for m in found] == ["sprint review day", "how to format reports"]
    assert found[0].score is not None and found[0].score > found[1].score > 0
    assert store.recall("bot", "When is our sprint review? Format the report.", limit=1)[0] \
        .topic == "sprint review day"
    assert store.recall("bot", "sprint review report", threshold=1000.0) == []
    assert store.recall("bot", "the and of is") == []  # stopwords only: nothing to look for
    assert store.recall("bot", "colours") != []  # stemmed: colours ~ colour
    assert [m.agent for m in store.recall("someone-else", "colour")] == ["someone-else"]


@pytest.mark.parametrize("query", ['"unbalanced', "NEAR(a b)", "col:umn * ^", "a OR", "-- ;",
                                   "' OR 1=1 --", "\x00binary\x00"])
def test_recall_takes_any_text_as_a_query(store: MemoStore, query: str) -> None:
    store.add([memo(0, "near columns", "unbalanced binary text")])
    store.recall("bot", query)  # no FTS5 syntax error, whatever the text


def test_forget_by_id_prefix_agent_and_all(store: MemoStore) -> None:
    a, b = memo(0, "t1", "first memo"), memo(1, "t2", "second memo")
    c = memo(2, "t3", "third memo", agent="other")
    store.add([a, b, c])
    assert store.forget(a.id[:6]).id == a.id
    with pytest.raises(MemoNotFound, match=r"no memo 'nope'.*graphflow memory list --db"):
        store.forget("nope")
    with pytest.raises(MemoNotFound, match="agents with memos: bot, other"):
        store.forget_agent("ghost")
    assert store.forget_agent("bot") == 1
    assert store.forget_all() == 1
    assert store.memos() == [] and store.recall("other", "third memo") == []


def test_an_ambiguous_prefix_is_refused(store: MemoStore) -> None:
    store.add([Memo("mabc1", "bot", "fact", "t", "one"), Memo("mabc2", "bot", "fact", "u", "two")])
    with pytest.raises(MemoNotFound, match="matches several memos"):
        store.forget("mabc")
    assert len(store.memos()) == 2


def test_a_text_file_is_not_a_memo_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello, this is not SQLite\n" * 100)
    with pytest.raises(StoreCorrupt, match=r"not a graphflow memory database .*not an SQLite"):
        MemoStore(path)
    assert path.read_text().startswith("hello")


def test_a_run_database_is_named_as_such(tmp_path: Path) -> None:
    Store(tmp_path / "graphflow.db").close()
    with pytest.raises(StoreCorrupt, match="is a graphflow run database, not a memory database"):
        MemoStore(tmp_path / "graphflow.db")


def test_another_programs_database_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreCorrupt, match="another program; tables: invoices"):
        MemoStore(path)
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["invoices"]


def test_a_damaged_memo_database_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    MemoStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE memos")
    with pytest.raises(StoreCorrupt, match=r"damaged.*memos table.*delete it to start an empty"):
        MemoStore(path)


def test_a_missing_file_is_not_created_when_only_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no memory database at"):
        MemoStore(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(StoreError, match="is a folder"):
        MemoStore(tmp_path)


def test_memos_survive_reopening_and_a_second_connection_sees_them(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    first, second = MemoStore(path), MemoStore(path)
    first.add([memo(0, "deploy days", "We deploy on Tuesdays.")])
    assert [m.text for m in second.recall("bot", "When do we deploy?")] == ["We deploy on Tuesdays."]
    first.close()
    second.close()
    with MemoStore(path) as again:
        assert len(again.memos("bot")) == 1


def test_the_default_location_is_beside_the_run_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("GRAPHFLOW_MEMORY_DB", raising=False)
    assert default_memory_db(tmp_path / "runs.db") == tmp_path / "graphflow-memory.db"
    assert default_memory_db(":memory:") == Path("graphflow-memory.db")
    monkeypatch.setenv("GRAPHFLOW_MEMORY_DB", str(tmp_path / "elsewhere.db"))
    assert default_memory_db(tmp_path / "runs.db") == tmp_path / "elsewhere.db"


def read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` and what is in it look unwritable (tests run as root, where
    permissions do not stop writes)."""
    import os

    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode == os.W_OK and str(
        path).startswith(str(folder)) else real(path, mode))  # fmt: skip


def test_a_read_only_memo_database_is_read_and_refuses_writes_clearly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    path = tmp_path / "m.db"
    with MemoStore(path) as writable:
        writable.add([memo(0, "deploy days", "We deploy on Tuesdays.")])
    read_only(monkeypatch, tmp_path)
    with MemoStore(path, create=False) as store:
        assert store.read_only
        assert [m.text for m in store.memos()] == ["We deploy on Tuesdays."]
        assert len(store.recall("bot", "When do we deploy?")) == 1
        for write in (lambda: store.add([memo(1, "t", "new")]), lambda: store.forget_all()):
            with pytest.raises(StoreError) as info:
                write()
            assert not isinstance(info.value, StoreCorrupt)
            assert "is read-only" in str(info.value) and "delete" not in str(info.value)
    assert len(MemoStore(path).memos()) == 1


def test_an_empty_memo_id_forgets_nothing(store: MemoStore) -> None:
    store.add([memo(0, "t", "the only memo")])
    for blank in ("", "  "):
        with pytest.raises(MemoNotFound, match="give a memo id"):
            store.forget(blank)
    assert len(store.memos()) == 1
