"""The Postgres store when the server says no: a full disk (SQLSTATE 53100) is
``StoreFull``, as on SQLite, and the run resumes once there is space; a statement that
outlives the server's ``statement_timeout`` is one paragraph naming the setting; and a
password in the URL — in its user part or as a ``password=`` parameter — is never shown,
even when the URL itself is malformed. The server errors are the real ones: a trigger on
``steps`` raises them inside a step's commit."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from graphflow.errors import StoreError, StoreFull
from graphflow.store.postgres import PostgresStore
from graphflow.store.postgres.base import connection_problem, public_url
from tests.store.test_postgres import cli, sql
from tests.store.test_postgres_leases import chain

FAIL_AT = 3

#: A trigger that fails the commit of step FAIL_AT (and later) with a given error.
TRIGGER = """
CREATE OR REPLACE FUNCTION refuse_step() RETURNS trigger AS $$
BEGIN
  IF NEW.step >= {fail_at} THEN {action}; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_step BEFORE INSERT ON steps FOR EACH ROW EXECUTE FUNCTION refuse_step();
"""

DISK_FULL = ("RAISE EXCEPTION 'could not extend file \"base/16384/16999\": No space left on "
             "device' USING ERRCODE = 'disk_full', HINT = 'Check free disk space.'")  # fmt: skip


def install(url: str, action: str) -> None:
    PostgresStore(url).close()  # the schema first
    sql(url, TRIGGER.format(fail_at=FAIL_AT, action=action))


def test_a_full_disk_is_store_full_and_the_run_resumes_once_there_is_space(
        postgres_url: str) -> None:  # fmt: skip
    install(postgres_url, DISK_FULL)
    graph = chain(6, {}).compile()
    with PostgresStore(postgres_url) as store:
        with pytest.raises(StoreFull) as info:
            graph.run_sync("go", store=store, run_id="r")
        message = str(info.value)
        assert "full" in message and "resume" in message and "\n" not in message
        record = store.get_run("r")
        assert record.last_step == FAIL_AT - 1 and record.reason == "store_full"
        assert record.lease_owner is None  # any process may resume it
        sql(postgres_url, "DROP TRIGGER refuse_step ON steps")  # space is back
        done = graph.resume_sync("r", store=store)
        assert done.status == "completed"
        assert [s["step"] for s in store.steps("r")] == list(range(6))


def test_the_cli_tells_a_full_disk_in_one_paragraph(postgres_url: str, tmp_path: Path) -> None:
    install(postgres_url, DISK_FULL)
    nodes = "".join(f"  n{i}: {{kind: function, call: 'faultmod:work'}}\n" for i in range(5))
    edges = "".join(f"  - {{from: n{i - 1}, to: n{i}}}\n" for i in range(1, 5))
    (tmp_path / "g.yaml").write_text(f"graph: g\nentry: n0\nnodes:\n{nodes}edges:\n{edges}")
    (tmp_path / "faultmod.py").write_text("def work(state):\n    return 'done'\n")
    done = cli("run", "g.yaml", "--db", postgres_url, "--run-id", "r", "-q", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "full" in done.stderr, done.stderr


def test_a_statement_timeout_is_one_paragraph_naming_the_setting(postgres_url: str) -> None:
    install(postgres_url, "PERFORM pg_sleep(5)")
    slow = postgres_url + ("&" if "?" in postgres_url else "?") + "options=" + quote(
        "-c statement_timeout=300", safe="")  # fmt: skip
    with PostgresStore(slow) as store:
        with pytest.raises(StoreError) as info:
            chain(5, {}).compile().run_sync("go", store=store, run_id="r")
        message = str(info.value)
        assert not isinstance(info.value, StoreFull)
        assert "statement_timeout" in message and "\n" not in message
        assert store.get_run("r").last_step == FAIL_AT - 1


def test_a_disk_full_sqlstate_is_store_full_whatever_its_text() -> None:
    class DiskFull(Exception):
        sqlstate = "53100"

    problem = connection_problem("postgresql://ann@db/runs", DiskFull("could not write block"))
    assert isinstance(problem, StoreFull) and "resume" in str(problem)


@pytest.mark.parametrize("url", [
    "postgresql://ann@db.example:5432/runs?password=s3cretPW",
    "postgresql://ann@db.example/runs?sslmode=require&password=s3cretPW",
    "postgresql://ann:s3cretPW@db.example:notaport/runs",
    "postgresql://ann:s3cretPW@[db.example/runs",
])  # fmt: skip
def test_a_password_never_shows_in_the_public_url(url: str) -> None:
    shown = public_url(url)
    assert "s3cretPW" not in shown and shown.startswith("postgresql://"), shown


def test_a_malformed_url_is_a_clear_error_without_its_password(tmp_path: Path) -> None:
    done = cli("runs", "--db", "postgresql://ann:s3cretPW@127.0.0.1:notaport/runs", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "s3cretPW" not in done.stderr, done.stderr
    assert "port" in done.stderr


def test_a_password_parameter_is_not_shown_in_errors(postgres_server: str, tmp_path: Path) -> None:
    host = postgres_server.split("@")[-1].split("/")[0]
    url = f"postgresql://postgres@{host}/no_such_db?password=s3cretPW"
    done = cli("runs", "--db", url, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "s3cretPW" not in done.stderr and done.stderr.startswith("error:"), done.stderr


def test_a_password_holding_an_at_sign_is_not_shown_in_part(tmp_path: Path) -> None:
    # libpq splits the URL at the first @, so its error names a host made of the password's
    # tail; that tail is masked too
    done = cli("runs", "--db", "postgresql://ann:s3cret@Pw9x@127.0.0.1:5432/runs", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("error:"), done.stderr
    assert "s3cret" not in done.stderr and "Pw9x" not in done.stderr, done.stderr


def test_a_server_out_of_connections_says_so_not_that_it_is_down(postgres_url: str,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    role = f"full_{tmp_path.name[-8:].lower().replace('-', '_')}"
    sql(postgres_url, f'CREATE ROLE "{role}" LOGIN PASSWORD \'pw\' CONNECTION LIMIT 0')
    try:
        rest = postgres_url.split("://", 1)[1].split("@", 1)[-1]
        done = cli("runs", "--db", f"postgresql://{role}:pw@{rest}", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        message = " ".join(done.stderr.split())
        assert "Start the server" not in message, message
        assert "max_connections" in message and "--concurrency" in message, message
    finally:
        sql(postgres_url, f'DROP ROLE "{role}"')


@pytest.mark.parametrize("command", [["runs"], ["run", "g.yaml", "--input", "x"]])
def test_a_libpq_keyword_string_is_refused_not_taken_for_a_file_name(command: list[str],
                                                                     tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "g.yaml").write_text("graph: g\nentry: e\nnodes:\n  e: {kind: end}\nedges: []\n")
    dsn = "host=127.0.0.1 port=5432 dbname=runs user=ann password=s3cretPW"
    done = cli(*command, "--db", dsn, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "s3cretPW" not in message and "postgresql://" in message, message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.yaml"]  # no file made


def test_the_api_refuses_a_libpq_keyword_string_too(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from graphflow.store import open_store

    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="postgresql://") as info:
        open_store("dbname=runs password=s3cretPW")
    assert "s3cretPW" not in str(info.value) and not list(tmp_path.iterdir())
