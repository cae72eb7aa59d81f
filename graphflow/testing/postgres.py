"""A Postgres server for tests: the one ``GRAPHFLOW_TEST_POSTGRES`` names, else a
throwaway cluster started once per test session, and a fresh database for each test.

Load it as a pytest plugin (``pytest_plugins = ["graphflow.testing.postgres"]``) for the
fixtures:

- ``postgres_server`` (session): the admin URL of a server where tests may
  ``CREATE DATABASE``;
- ``postgres_url`` (each test): the URL of a new, empty database, dropped after the test.

Where the server comes from, in order:

1. ``GRAPHFLOW_TEST_POSTGRES``: a libpq URL (``postgresql://USER@127.0.0.1:5432/postgres``)
   of a server where tests may create databases;
2. ``initdb`` and ``pg_ctl`` on ``PATH`` or in ``/usr/lib/postgresql/*/bin``: a cluster in
   a temporary folder on a free 127.0.0.1 port, tuned for speed (``fsync=off``: fit for
   throwaway data only), stopped and deleted at the end of the session. Postgres refuses
   to run as root, so as root the cluster runs as the ``postgres`` user (or ``nobody``);
3. otherwise the tests that need it are skipped, with the reason (in CI, where
   ``GRAPHFLOW_CI=1``, they fail instead).

Example test::

    def test_runs_on_postgres(postgres_url):
        store = PostgresStore(postgres_url)
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

__all__ = ["ENV_VAR", "PostgresCluster", "create_database", "drop_database", "find_binaries",
           "postgres_server", "postgres_url", "server_url"]  # fmt: skip

ENV_VAR = "GRAPHFLOW_TEST_POSTGRES"

#: Settings of the throwaway cluster: fast and forgetful (never for data you keep).
_FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
         "max_connections": "300", "shared_buffers": "64MB", "max_wal_size": "1GB",
         "listen_addresses": "127.0.0.1"}  # fmt: skip


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (on PATH first, then the newest
    ``/usr/lib/postgresql/*/bin``), or ``None``."""
    on_path = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(on_path):
        return Path(on_path[0]).resolve().parent  # type: ignore[arg-type]
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: [int(x) for x in Path(p).parent.name.split(".")
                                        if x.isdigit()], reverse=True):  # fmt: skip
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    """A throwaway cluster in ``folder`` on ``127.0.0.1:port``, run as ``user``."""

    folder: Path
    port: int
    bin: Path
    user: str | None
    #: server settings over :data:`_FAST` (``{"fsync": "on"}`` for a durable one)
    settings: dict[str, str] = field(default_factory=dict)
    running: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.user is not None:
            command = ["setpriv", f"--reuid={self.user}", f"--regid={self.user}",
                       "--init-groups", "--", *command]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False, cwd=self.folder, env={**os.environ, "LC_ALL": "C"})  # fmt: skip

    def start(self) -> PostgresCluster:
        """initdb, then pg_ctl start (waiting until it accepts connections).

        Raises:
            RuntimeError: a step failed; its output is in the message.
        """
        data = self.folder / "data"
        done = self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust",
                         "--no-sync", "-E", "UTF8", "--locale=C")  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        options = " ".join(f"-c {k}={v}" for k, v in {**_FAST, **self.settings,
                                                       "port": str(self.port),
                                                       "unix_socket_directories": str(self.folder)
                                                       }.items())  # fmt: skip
        done = self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"), "-w",
                         "-t", "60", "-o", options, "start")  # fmt: skip
        if done.returncode != 0:
            log = (self.folder / "server.log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {tail}")
        self.running = True
        return self

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w",
                      "stop", timeout=60)  # fmt: skip
            self.running = False
        shutil.rmtree(self.folder, ignore_errors=True)


def _unprivileged_user() -> str | None:
    """The user to run the cluster as: ``None`` when not root, else ``postgres`` (or
    ``nobody``) when it exists."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a `postgres` nor a `nobody` user exists "
                       "to run the test cluster as; create one (useradd postgres)")  # fmt: skip


def start_cluster(settings: dict[str, str] | None = None) -> PostgresCluster:
    """Start a throwaway cluster (see the module's docstring); ``settings`` override the
    fast ones (``{"fsync": "on", "synchronous_commit": "on"}`` for a durable server).

    Raises:
        RuntimeError: no binaries, or the cluster did not start.
    """
    binaries = find_binaries()
    if binaries is None:
        raise RuntimeError("no initdb/pg_ctl found (install Debian's `postgresql`, or set "
                           f"{ENV_VAR} to a server's URL)")  # fmt: skip
    user = _unprivileged_user()
    folder = Path(tempfile.mkdtemp(prefix="graphflow-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster = PostgresCluster(folder, _free_port(), binaries, user, dict(settings or {}))
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise


_SERVER: dict[str, object] = {}


def server_url() -> str:
    """The admin URL of the session's server, started on first use; calls
    :func:`pytest.skip` (or :func:`pytest.fail` in CI) when there is none."""
    if "url" in _SERVER:
        return str(_SERVER["url"])
    if "problem" not in _SERVER:
        try:
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError:
            _SERVER["problem"] = "psycopg is not installed (pip install 'graphflow[postgres]')"
    if "problem" not in _SERVER:
        from_env = os.environ.get(ENV_VAR)
        if from_env:
            _SERVER["url"] = from_env
            return from_env
        try:
            cluster = start_cluster()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            _SERVER["problem"] = f"no Postgres server for the tests: {exc}"
        else:
            _SERVER["cluster"] = cluster
            _SERVER["url"] = cluster.url
            atexit.register(cluster.stop)
            return cluster.url
    if os.environ.get("GRAPHFLOW_CI") == "1":
        pytest.fail(f"required in CI (GRAPHFLOW_CI=1): {_SERVER['problem']}")
    pytest.skip(str(_SERVER["problem"]))


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead (its query kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def create_database(admin_url: str) -> str:
    """Create a new, empty database on the server and return its URL."""
    import psycopg

    name = f"graphflow_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database of ``url`` (closing its connections first)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a Postgres server where the tests may create databases."""
    return server_url()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The URL of a fresh, empty database for this test (dropped after it)."""
    url = create_database(postgres_server)
    yield url
    drop_database(postgres_server, url)


def pytest_sessionfinish() -> None:
    cluster = _SERVER.pop("cluster", None)
    if isinstance(cluster, PostgresCluster):
        cluster.stop()
    _SERVER.pop("url", None)
