"""How many write transactions one agent turn costs, counted on every SQLite connection
of the run (the store's, and the response cache's when it has its own).

A turn that asks a model writes its answer to the response cache, keeps the call with
the run and records the answer as an effect before its step commits. On the SQLite
store with the cache in the run database those three are one transaction of the
store's connection, so a turn is two transactions: that one and the step's commit.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphflow import Message, Store
from graphflow.patterns import AssistantAgent, two_agent_chat

REPLY = "Noted; here is my short contribution."
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE")


class Transactions:
    """Counts the write transactions of every SQLite connection opened while it is
    installed: each ``COMMIT``, and each write statement run outside a transaction (SQLite
    makes it a transaction of its own)."""

    def __init__(self) -> None:
        self.by_connection: Counter[int] = Counter()
        self.statements: list[str] = []

    def watch(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        ident = len(self.by_connection) + 1
        self.by_connection[ident] += 0

        def trace(sql: str) -> None:
            head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            if head == "COMMIT" or (head in _WRITES and not conn.in_transaction):
                self.by_connection[ident] += 1
                self.statements.append(sql)

        conn.set_trace_callback(trace)
        return conn

    @property
    def total(self) -> int:
        return sum(self.by_connection.values())


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Transactions]:
    counter = Transactions()
    connect = sqlite3.connect

    def watched(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return counter.watch(connect(*args, **kwargs))

    monkeypatch.setattr(sqlite3, "connect", watched)
    yield counter


def chat(path: Path, turns: int, *, cache_seed: int | None, transactions: Transactions,
         durability: str = "normal") -> tuple[int, int]:  # fmt: skip
    """Run a two-agent chat of ``turns`` agent turns on the scripted model; the write
    transactions it made, and the connections that made them."""
    alice, bob = (AssistantAgent(name, is_termination_msg=None,
                                 max_consecutive_auto_reply=10 * turns)
                  for name in ("alice", "bob"))  # fmt: skip
    entry: dict[str, Any] = {"scripted": {"default": REPLY}}
    if cache_seed is not None:
        entry["cache_seed"] = cache_seed
    graph = two_agent_chat(alice, bob, max_turns=turns // 2 + 1, models={"default": entry},
                           max_steps=turns).compile()  # fmt: skip
    before = transactions.total
    with Store(path, durability=durability) as store:
        result = graph.run_sync([Message(role="user", name="alice", content="Let us talk.")],
                                store=store)  # fmt: skip
    assert result.status == "limit_reached", result.reason
    assert sum(1 for m in result.messages if m.content == REPLY) == turns
    return transactions.total - before, sum(1 for n in transactions.by_connection.values() if n)


def per_turn(tmp_path: Path, transactions: Transactions, **options: Any) -> float:
    """Write transactions per agent turn: the difference between a chat of 12 turns and
    one of 4, so what a run does once (start, models, end) cancels out."""
    short, _ = chat(tmp_path / "short.db", 4, transactions=transactions, **options)
    long, _ = chat(tmp_path / "long.db", 12, transactions=transactions, **options)
    return (long - short) / 8


def test_a_cached_agent_turn_is_two_transactions(tmp_path: Path,
                                                 transactions: Transactions) -> None:  # fmt: skip
    # the answer (cache entry, kept call, effect) and the step's commit
    assert per_turn(tmp_path, transactions, cache_seed=7) == 2


def test_an_uncached_agent_turn_is_two_transactions(tmp_path: Path,
                                                    transactions: Transactions) -> None:  # fmt: skip
    assert per_turn(tmp_path, transactions, cache_seed=None) == 2


@pytest.mark.parametrize("durability", ["normal", "full"])
def test_the_cache_writes_on_the_stores_connection(tmp_path: Path, transactions: Transactions,
                                                   durability: str) -> None:  # fmt: skip
    _, writers = chat(tmp_path / "runs.db", 4, cache_seed=7, transactions=transactions,
                      durability=durability)  # fmt: skip
    assert writers == 1  # so the cache's rows have the store's durability
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        assert conn.execute("SELECT count(*) FROM model_cache").fetchone()[0] == 4
        assert conn.execute("SELECT count(*) FROM model_calls").fetchone()[0] == 4


def test_an_answer_whose_effect_cannot_be_recorded_leaves_no_cache_entry_or_kept_call(
        tmp_path: Path) -> None:  # fmt: skip
    # the one transaction fails as a whole: no half of it stays (here the effect's insert
    # fails, after the cache entry and the call were written in the same transaction)
    path = tmp_path / "runs.db"
    with Store(path) as store:
        store.sqlite_connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON effects "
            "BEGIN SELECT RAISE(ABORT, 'the effect cannot be written'); END")
        alice, bob = (AssistantAgent(name, is_termination_msg=None) for name in ("alice", "bob"))
        graph = two_agent_chat(alice, bob, max_turns=2, models={"default": {
            "scripted": {"default": REPLY}, "cache_seed": 7}}).compile()  # fmt: skip
        result = graph.run_sync([Message(role="user", name="alice", content="Hi.")],
                                store=store)  # fmt: skip
    assert result.status == "failed" and "effect cannot be written" in (result.error or "")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        cached = conn.execute("SELECT count(*) FROM model_cache").fetchone()[0] if (
            "model_cache" in tables) else 0  # fmt: skip
        assert (cached, conn.execute("SELECT count(*) FROM model_calls").fetchone()[0]) == (0, 0)
