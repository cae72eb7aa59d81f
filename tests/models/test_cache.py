"""The SQLite response cache: repeated requests cost nothing, keys never reach the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from graphflow.messages import Message
from graphflow.models import ModelClient, ModelConfig, ResponseCache, request_key
from graphflow.models.cache import deferred_writes
from graphflow.testing import server_config

ASK = [
    Message(role="system", content="Be brief."),
    Message(role="user", content="Capital of Peru?"),
]


async def test_repeated_request_is_served_from_cache(model_server, fast_retry, response_cache):
    server = model_server({"replies": [], "default": "Lima."})
    client = ModelClient(
        server_config(server, price=[1.0, 2.0]), cache=response_cache, retry=fast_retry
    )
    first = await client.complete(ASK)
    second = await client.complete(ASK)
    assert server.requests == 1
    assert (first.text, second.text) == ("Lima.", "Lima.")
    assert first.usage.cached is False and second.usage.cached is True
    # a cache hit bills nothing; its tokens and what it would have cost count apart
    assert (second.usage.prompt_tokens, second.usage.cost) == (0, 0.0)
    assert second.usage.cached_prompt_tokens == first.usage.prompt_tokens
    assert second.usage.cached_cost == pytest.approx(first.usage.cost)
    totals = client.usage
    assert (totals.calls, totals.cached_calls) == (2, 1)
    assert totals.cost == pytest.approx(first.usage.cost)
    assert totals.cached_cost == pytest.approx(first.usage.cost)
    await client.aclose()


async def test_second_run_with_cache_makes_zero_requests(model_server, fast_retry, tmp_path):
    server = model_server({"replies": [], "default": "An answer worth keeping."})
    db = tmp_path / "run.db"
    questions = [[Message(role="user", content=f"question {i}")] for i in range(3)]

    async def run() -> list[str]:
        cache = ResponseCache(db)  # a new process would open the file afresh
        client = ModelClient(server_config(server), cache=cache, retry=fast_retry)
        texts = [(await client.complete(q, stream=True)).text for q in questions]
        await client.aclose()
        cache.close()
        return texts

    first = await run()
    assert server.requests == 3
    server.reset()
    assert await run() == first
    assert server.requests == 0


async def test_cache_seed_none_disables_and_seeds_partition(
    model_server, fast_retry, response_cache
):
    server = model_server({"replies": [], "default": "x"})
    client = ModelClient(server_config(server), cache=response_cache, retry=fast_retry)
    await client.complete(ASK, cache_seed=None)
    await client.complete(ASK, cache_seed=None)
    assert server.requests == 2 and len(response_cache) == 0
    await client.complete(ASK, cache_seed=1)
    await client.complete(ASK, cache_seed=2)
    await client.complete(ASK, cache_seed=1)
    assert server.requests == 4
    no_default = ModelClient(
        server_config(server), cache=response_cache, cache_seed=None, retry=fast_retry
    )
    await no_default.complete(ASK)
    assert server.requests == 5
    assert (await no_default.complete(ASK, cache_seed=1)).usage.cached is True
    await client.aclose()
    await no_default.aclose()


async def test_key_covers_params_tools_and_format(model_server, fast_retry, response_cache):
    server = model_server({"replies": [], "default": "x"})
    client = ModelClient(server_config(server), cache=response_cache, retry=fast_retry)
    await client.complete(ASK)
    await client.complete(ASK, params={"temperature": 0.1})
    await client.complete(ASK, tools=[{"type": "function", "function": {"name": "f"}}])
    await client.complete(ASK, response_format={"type": "json_object"})
    assert server.requests == 4
    other_model = ModelClient(
        server_config(server, "other"), cache=response_cache, retry=fast_retry
    )
    await other_model.complete(ASK)
    assert server.requests == 5
    await client.aclose()
    await other_model.aclose()


async def test_cached_answer_of_fallback_config_needs_no_http(
    model_server, fast_retry, response_cache
):
    server = model_server({"replies": [], "default": "from b"})
    server.fail_always("500", model="a")
    configs = [server_config(server, "a", max_retries=0), server_config(server, "b")]
    client = ModelClient(configs, cache=response_cache, retry=fast_retry)
    await client.complete(ASK)
    before = server.requests
    again = await client.complete(ASK)
    assert again.text == "from b" and again.usage.cached is True
    assert server.requests == before  # the failing first config was not asked again
    await client.aclose()


async def test_failures_are_not_cached(model_server, fast_retry, response_cache):
    server = model_server({"replies": [], "default": "recovered"})
    server.fail_always("503")
    client = ModelClient(
        server_config(server, max_retries=0), cache=response_cache, retry=fast_retry
    )
    with pytest.raises(Exception, match="503"):
        await client.complete(ASK)
    assert len(response_cache) == 0
    server.fail_always(None)
    assert (await client.complete(ASK)).text == "recovered"
    await client.aclose()


async def test_cache_hit_streams_whole_text_to_on_token(model_server, fast_retry, response_cache):
    server = model_server({"replies": [], "default": "Streamed once, replayed whole."})
    client = ModelClient(server_config(server), cache=response_cache, retry=fast_retry)
    await client.complete(ASK, stream=True)
    pieces: list[str] = []
    answer = await client.complete(ASK, stream=True, on_token=pieces.append)
    assert answer.usage.cached and pieces == ["Streamed once, replayed whole."]
    await client.aclose()


async def test_api_key_never_reaches_the_cache_file(
    model_server, fast_retry, tmp_path, monkeypatch
):
    secret_literal = "sk-literal-SECRET-0123456789"
    secret_env = "sk-env-SECRET-9876543210"
    monkeypatch.setenv("GF_CACHE_TEST_KEY", secret_env)
    db = tmp_path / "run.db"
    cache = ResponseCache(db)
    literal_server = model_server({"replies": [], "default": "one"}, api_key=secret_literal)
    env_server = model_server({"replies": [], "default": "two"}, api_key=secret_env)
    literal = ModelConfig.model_validate(
        {"model": "m", "base_url": literal_server.base_url, "api_key": secret_literal}
    )
    from_env = server_config(env_server, api_key_env="GF_CACHE_TEST_KEY")
    for config in (literal, from_env):
        client = ModelClient(config, cache=cache, retry=fast_retry)
        await client.complete(ASK, stream=True)
        await client.complete(ASK)
        await client.aclose()
    assert len(cache) == 2
    cache.close()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("run.db")]
    data = b"".join(p.read_bytes() for p in files)
    assert b"one" in data or b"two" in data  # the answers are there ...
    for secret in (secret_literal, secret_env):
        assert secret.encode() not in data  # ... the keys are not
        assert b"SECRET" not in data


def test_request_key_ignores_secrets_and_is_stable():
    a = ModelConfig.model_validate({"model": "m", "api_key": "k1"})
    b = ModelConfig.model_validate({"model": "m", "api_key": "k2", "timeout": 5})
    messages = [{"role": "user", "content": "hi"}]
    assert request_key(a.identity(), messages) == request_key(b.identity(), messages)
    assert "k1" not in str(a.identity())
    assert request_key(a.identity(), messages, cache_seed=1) != request_key(a.identity(), messages)


def test_cache_prune_clear_and_len(tmp_path: Path):
    with ResponseCache(tmp_path / "c.db") as cache:
        for i in range(5):
            cache.put(f"k{i}", {"n": i}, model="m")
        assert len(cache) == 5
        assert cache.prune(keep=2) == 3
        assert len(cache) == 2
        assert cache.prune(older_than=3600) == 0
        cache.clear()
        assert len(cache) == 0 and cache.get("k4") is None


def test_reading_a_new_file_creates_no_table(tmp_path: Path):
    db = tmp_path / "fresh.db"
    with ResponseCache(db) as cache:
        assert cache.get("missing") is None
        assert len(cache) == 0
    import sqlite3

    conn = sqlite3.connect(db)
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    conn.close()
    assert tables == []


def test_cache_shares_the_run_database_with_the_store(tmp_path: Path):
    from graphflow.store import sqlite as store_module
    db = tmp_path / "graphflow.db"
    store = store_module.Store(db)
    with ResponseCache(db) as cache:
        cache.put("k", {"message": {"role": "assistant", "content": "hi"}}, model="m")
    store.close()
    reopened = store_module.Store(db)  # the extra table does not upset the store
    reopened.close()
    with ResponseCache(db) as cache:
        assert cache.get("k")["message"]["content"] == "hi"


def test_bad_table_name_and_unreadable_file(tmp_path: Path):
    from graphflow.errors import StoreError

    with pytest.raises(StoreError, match="letters, digits"):
        ResponseCache(tmp_path / "x.db", table="drop table;")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an sqlite database at all" * 100)
    with pytest.raises(StoreError, match="cache_seed=None"):
        ResponseCache(junk).get("k")


@pytest.mark.parametrize(("durability", "level"), [("normal", 1), ("full", 2)])
def test_the_cache_writes_with_the_run_stores_durability(tmp_path: Path, durability: str,
                                                         level: int) -> None:  # fmt: skip
    with ResponseCache(tmp_path / "runs.db", durability=durability) as cache:
        assert cache._conn.execute("PRAGMA synchronous").fetchone()[0] == level
    assert ResponseCache(":memory:")._conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(Exception, match="'normal' or 'full'"):
        ResponseCache(tmp_path / "runs.db", durability="sometimes")


@pytest.mark.parametrize(("durability", "level"), [("normal", 1), ("full", 2)])
def test_an_agents_cache_works_on_its_stores_connection(model_server, tmp_path: Path, monkeypatch,
                                                        durability: str, level: int) -> None:  # fmt: skip
    import graphflow.models
    from graphflow import Graph, Store

    opened: list[int] = []

    class Recording(ResponseCache):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self._conn.execute("PRAGMA synchronous").fetchone()[0])
            assert self.shared and self._conn is store.sqlite_connection

    monkeypatch.setattr(graphflow.models, "ResponseCache", Recording)
    server = model_server({"replies": [], "default": "fine"})
    g = Graph("ask", entry="agent")
    g.add_node("agent", kind="agent", is_termination_msg=None)
    g.models = {"default": server_config(server).model_dump(exclude_none=True)}
    with Store(tmp_path / "runs.db", durability=durability) as store:
        result = g.compile().run_sync("hi", store=store)
        assert len(ResponseCache(connection=store.sqlite_connection)) == 1
    assert result.status == "completed" and result.last.content == "fine"
    assert opened == [level]  # the store's durability, on the store's connection


def test_a_cache_on_a_given_connection_leaves_it_open_and_takes_one_source(tmp_path: Path):
    from graphflow.errors import StoreError

    conn = sqlite3.connect(tmp_path / "runs.db", isolation_level=None)
    with ResponseCache(connection=conn) as cache:
        cache.put("k", {"message": {"content": "hi"}}, model="m")
        assert cache.path == str(tmp_path / "runs.db")
    assert conn.execute("SELECT count(*) FROM model_cache").fetchone()[0] == 1
    with pytest.raises(StoreError, match="both"):
        ResponseCache(tmp_path / "runs.db", connection=conn)
    with pytest.raises(StoreError, match="neither"):
        ResponseCache()


def test_deferred_entries_join_the_transaction_they_are_written_in(tmp_path: Path):
    conn = sqlite3.connect(tmp_path / "runs.db", isolation_level=None)
    cache = ResponseCache(connection=conn)
    own = ResponseCache(tmp_path / "other.db")
    with deferred_writes() as pending:
        cache.put("a", {"message": {"content": "a"}}, model="m")
        own.put("b", {"message": {"content": "b"}}, model="m")  # its own connection: at once
    assert (len(pending), cache.get("a"), own.get("b") is not None) == (1, None, True)
    conn.execute("BEGIN IMMEDIATE")
    pending.write()
    conn.execute("ROLLBACK")  # the transaction they joined did not commit: nor did they
    assert cache.get("a") is None and not pending
    with deferred_writes() as pending:
        cache.put("a", {"message": {"content": "a"}}, model="m")
    conn.execute("BEGIN IMMEDIATE")
    pending.write()
    conn.execute("COMMIT")
    assert cache.get("a")["message"]["content"] == "a"
    with pytest.raises(RuntimeError), deferred_writes():  # a failing block writes at once
        cache.put("c", {"message": {"content": "c"}}, model="m")
        raise RuntimeError("the call failed after its answer arrived")
    assert cache.get("c") is not None
    own.close()
