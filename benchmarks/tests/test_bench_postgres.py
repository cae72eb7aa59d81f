"""Tests of the Postgres store benchmark (bench_postgres.py), on the test server
(skipped without one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_postgres import floor_once, measure, store_once


@pytest.fixture
def url() -> str:
    from graphflow.testing.postgres import create_database, drop_database, server_url

    admin = server_url()
    made = create_database(admin)
    yield made
    drop_database(admin, made)


def test_the_floor_commits_every_step_into_a_table_with_the_step_key(url: str) -> None:
    import psycopg

    assert floor_once(url, 20) > 0
    with psycopg.connect(url) as conn:  # the floor drops its table afterwards
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'floor_%%'"
                            ).fetchone() == (0,)  # fmt: skip


def test_the_store_side_commits_real_steps(url: str) -> None:
    from graphflow.store.postgres import PostgresStore

    with PostgresStore(url) as store:
        assert store_once(store, 12, message=True) > 0
        (run,) = store.list_runs()
        assert run.last_step == 11 and store.message_count(run.run_id) == 12


def test_a_measurement_interleaves_every_side_and_reports_same_round_ratios(
        url: str, tmp_path: Path) -> None:  # fmt: skip
    result = measure(url, steps=10, rounds=2, folder=tmp_path)
    assert set(result["values"]) == {"floor", "floor+1KB", "store", "store+1KB", "engine",
                                     "engine on SQLite"}  # fmt: skip
    assert all(len(samples) == 2 for samples in result["samples"].values())
    assert result["ratios"]["store / floor"] > 0
