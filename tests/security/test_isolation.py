"""What sandboxed code can reach of the host: sockets, files, processes, environment.

Each attack runs under the ``sandbox`` and ``docker`` executors; where it makes sense the
same code first runs under ``local`` as a control, to show the test can fail.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphflow.errors import ExecutionError
from graphflow.execution import LocalExecutor, extract_code_blocks

from .conftest import make_executor

ISOLATED = ("sandbox", "docker")


def py(code: str):  # type: ignore[no-untyped-def]
    return extract_code_blocks(f"```python\n{code}\n```")


@pytest.fixture(params=ISOLATED)
def isolated(request: pytest.FixtureRequest) -> Iterator[Any]:
    executor = make_executor(request.param, request)
    yield executor
    executor.close()


class UnixService:
    """A service listening on a Unix socket; ``accepted`` counts connections."""

    def __init__(self, address: str | bytes) -> None:
        self.address = address
        self.accepted = 0
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(address)
        if isinstance(address, str):
            os.chmod(address, 0o777)  # anyone on the host may connect: only reach stops it
        self.server.listen(8)
        self.server.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.sendall(b"hello from the host\n")
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.server.close()


@pytest.fixture
def host_services() -> Iterator[dict[str, UnixService]]:
    """Host services on Unix sockets in /tmp, /var/tmp and /run (each in a folder made
    for the test, open to every user), and one in the abstract namespace."""
    tag = f"graphflow-test-{uuid.uuid4().hex[:8]}"
    folders = [Path(base) / tag for base in ("/tmp", "/var/tmp", "/run")]
    services: dict[str, UnixService] = {}
    try:
        for folder in folders:
            folder.mkdir(mode=0o755)
            services[str(folder / "service.sock")] = UnixService(str(folder / "service.sock"))
        services["@" + tag] = UnixService(b"\0" + tag.encode())
        yield services
    finally:
        for service in services.values():
            service.close()
        for folder in folders:
            (folder / "service.sock").unlink(missing_ok=True)
            if folder.exists():
                folder.rmdir()


CONNECT = """import socket
results = {{}}
for name in {names!r}:
    address = "\\0" + name[1:] if name.startswith("@") else name
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(address)
        results[name] = "CONNECTED " + s.recv(100).decode()
    except OSError as exc:
        results[name] = type(exc).__name__
print(repr(results))
"""


async def test_host_unix_sockets_are_unreachable(isolated: Any, tmp_path: Path,
                                                 host_services: dict[str, UnixService]) -> None:  # fmt: skip
    code = py(CONNECT.format(names=sorted(host_services)))
    control = await LocalExecutor().run(code, tmp_path / "local", 30)
    assert control.output.count("CONNECTED") == len(host_services), control.output
    for service in host_services.values():
        service.accepted = 0
    result = await isolated.run(code, tmp_path / "isolated", 30)
    assert result.exit_code == 0, result.output
    outcome = ast.literal_eval(result.output.strip())
    assert not [name for name, what in outcome.items() if what.startswith("CONNECTED")], outcome
    assert all(service.accepted == 0 for service in host_services.values())


async def test_docker_and_dbus_sockets_are_absent(isolated: Any, tmp_path: Path) -> None:
    places = ["/run/docker.sock", "/var/run/docker.sock", "/run/dbus/system_bus_socket",
              "/var/run/dbus/system_bus_socket", "/run/postgresql"]  # fmt: skip
    code = py(f"import os\nprint([p for p in {places!r} if os.path.exists(p)])")
    result = await isolated.run(code, tmp_path, 30)
    assert result.exit_code == 0 and result.output.strip() == "[]", result.output


@pytest.fixture
def host_markers() -> Iterator[list[Path]]:
    """Files the code must not read: in the home dir, /var/tmp, /run and /opt."""
    tag = f"graphflow-marker-{uuid.uuid4().hex[:8]}"
    paths = [Path.home() / tag, Path("/var/tmp") / tag, Path("/run") / tag]
    if Path("/opt").is_dir():
        paths.append(Path("/opt") / tag)
    for path in paths:
        path.write_text("host-only")
        path.chmod(0o644)
    yield paths
    for path in paths:
        path.unlink(missing_ok=True)


READ = """import json, os
seen = {{}}
for path in {paths!r}:
    try:
        with open(path, "rb") as f:
            seen[path] = "READ " + f.read(40).decode(errors="replace")
    except OSError as exc:
        seen[path] = type(exc).__name__
seen["listdir /root"] = sorted(os.listdir("/root")) if os.path.isdir("/root") else None
seen["/home"] = os.path.exists("/home")
print(json.dumps(seen))
"""


async def test_host_files_are_not_readable(isolated: Any, tmp_path: Path,
                                           host_markers: list[Path]) -> None:  # fmt: skip
    paths = [str(p) for p in host_markers] + ["/etc/shadow", "/etc/gshadow", "/etc/sudoers"]
    code = py(READ.format(paths=paths))
    control = await LocalExecutor().run(code, tmp_path / "local", 30)
    assert json.loads(control.output)[str(host_markers[0])] == "READ host-only"
    result = await isolated.run(code, tmp_path / "isolated", 30)
    assert result.exit_code == 0, result.output
    seen = json.loads(result.output)
    assert not [p for p in paths if seen[p].startswith("READ")], seen
    assert seen["/home"] is False or not list(Path("/home").iterdir())
    host_home = {p.name for p in Path("/root").iterdir()} if os.access("/root", os.R_OK) else set()
    assert not (set(seen["listdir /root"] or []) & host_home - {".pyenv"}), seen


async def test_code_runs_unprivileged(isolated: Any, tmp_path: Path) -> None:
    code = py("import os\nstatus = open('/proc/self/status').read()\n"
              "caps = [l.split()[1] for l in status.splitlines() if l.startswith(('CapEff', 'CapPrm'))]\n"
              "print(os.getuid(), os.getgid(), *caps)")  # fmt: skip
    result = await isolated.run(code, tmp_path, 30)
    uid, gid, effective, permitted = result.output.split()
    assert (effective, permitted) == ("0000000000000000", "0000000000000000")
    assert int(uid) != 0 and int(gid) != 0, "code runs as root"


FORK = """import subprocess
procs = []
try:
    for _ in range(400):
        procs.append(subprocess.Popen(["sleep", "20"]))
    print("started all", len(procs))
except OSError as exc:
    print("limited after", len(procs), type(exc).__name__)
for p in procs:
    p.kill()
"""


async def test_process_count_is_capped(isolated: Any, tmp_path: Path) -> None:
    result = await isolated.run(py(FORK), tmp_path, 60)
    assert "limited after" in result.output, result.output
    assert int(result.output.split()[2]) <= 256


async def test_memory_is_capped(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    for kind in ISOLATED:
        executor = make_executor(kind, request, memory="256m")
        try:
            result = await executor.run(py("b = bytearray(600 * 1024 * 1024)\nprint('allocated')"),
                                        tmp_path / kind, 30)  # fmt: skip
        finally:
            executor.close()
        assert result.exit_code != 0 and "allocated" not in result.output, (kind, result.output)


async def test_cpu_time_is_capped(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    executor = make_executor("sandbox", request, cpu_seconds=1)
    result = await executor.run(py("while True:\n    pass"), tmp_path, 30)
    assert result.exit_code != 0 and not result.timed_out and result.seconds < 20, result


SECRETS = {
    "OAI_CONFIG_LIST": json.dumps([{"model": "gpt-4o", "api_key": "sk-configlist0123456789abcd"}]),
    "GITHUB_PAT": "github_pat_11AAAAAAA0123456789abcdefghij",
    "SLACK_BOT": "xoxb-1234567890-abcdefghijkl",
    "OPENAI_API_KEY": "sk-openai0123456789abcdefghij",
    "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
    "PYTHONPATH": "/root/private-lib",
}


@pytest.mark.parametrize("kind", ["local", *ISOLATED])
async def test_secrets_do_not_reach_executed_code(kind: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  request: pytest.FixtureRequest) -> None:  # fmt: skip
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    executor = make_executor(kind, request)
    try:
        result = await executor.run(py("import os\nprint(dict(os.environ))"), tmp_path, 30)
    finally:
        executor.close()
    env = ast.literal_eval(result.output.strip())
    assert not set(SECRETS) & set(env), sorted(env)
    text = repr(env)
    assert not [name for name, value in SECRETS.items() if value in text]
    assert env["HOME"] == str(tmp_path.resolve())


@pytest.mark.parametrize("refused", ["OAI_CONFIG_LIST", "OPENAI_API_KEY"])
def test_pass_env_refuses_model_keys(refused: str) -> None:
    with pytest.raises(ExecutionError, match="never passed"):
        LocalExecutor(pass_env=[refused])


async def test_pass_env_passes_named_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               request: pytest.FixtureRequest) -> None:  # fmt: skip
    monkeypatch.setenv("GRAPHFLOW_SETTING", "on")
    monkeypatch.setenv("GRAPHFLOW_OTHER", "off")
    executor = make_executor("sandbox", request, pass_env=["GRAPHFLOW_SETTING"])
    result = await executor.run(py("import os\nprint(os.environ.get('GRAPHFLOW_SETTING'), "
                                   "os.environ.get('GRAPHFLOW_OTHER'))"), tmp_path, 30)  # fmt: skip
    assert result.output.split() == ["on", "None"]


async def test_docker_container_mounts_nothing_but_the_work_dir(tmp_path: Path,
                                                                request: pytest.FixtureRequest) -> None:  # fmt: skip
    executor = make_executor("docker", request)
    try:
        await executor.run(py("print(1)"), tmp_path, 30)
        executor.container.reload()
        info = executor.container.attrs
        mounts = [(m["Type"], m.get("Source"), m["Destination"]) for m in info["Mounts"]]
        host = info["HostConfig"]
        assert mounts == [("bind", str(tmp_path.resolve()), str(tmp_path.resolve()))]
        assert host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"]
        assert host["ReadonlyRootfs"] is True and host["PidsLimit"] and host["Privileged"] is False
        assert "no-new-privileges" in host["SecurityOpt"] and not host.get("Devices")
    finally:
        executor.close()
