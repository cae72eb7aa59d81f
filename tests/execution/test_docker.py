"""The docker executor: the same guarantees as the sandbox, and container lifecycle."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from graphflow.errors import ExecutorUnavailable
from graphflow.execution import TIMEOUT_EXIT_CODE, extract_code_blocks
from graphflow.execution.container import DockerExecutor
from graphflow.execution.dockerhost import LABEL, docker_client

pytestmark = pytest.mark.docker


def py(code: str):  # type: ignore[no-untyped-def]
    return extract_code_blocks(f"```python\n{code}\n```")


def containers_of(run_id: str) -> list[Any]:
    client = docker_client()
    try:
        return client.containers.list(all=True, filters={"label": f"graphflow.run={run_id}"})
    finally:
        client.close()


@pytest.fixture
def executor(docker_image: str, request: pytest.FixtureRequest) -> Any:
    run_id = f"test-{request.node.name[:30]}-{os.getpid()}"
    ex = DockerExecutor(image=docker_image, run_id=run_id, memory="256m", pids_limit=64)
    yield ex
    ex.close()
    assert containers_of(run_id) == []


async def test_runs_code_in_a_container_and_writes_the_work_dir(executor: DockerExecutor,
                                                                tmp_path: Path) -> None:  # fmt: skip
    code = ("import os, socket\nprint(os.getcwd(), socket.gethostname() != "
            f"{socket.gethostname()!r})\nopen('out.txt', 'w').write('from the container')")  # fmt: skip
    result = await executor.run(py(code), tmp_path, 30)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{tmp_path.resolve()} True"
    assert (tmp_path / "out.txt").read_text() == "from the container"
    # Files belong to the user running graphflow; when that is root, code runs as nobody.
    owner = executor.code_owner[0] if executor.code_owner else os.getuid()
    assert (tmp_path / "out.txt").stat().st_uid == owner
    sh = await executor.run(extract_code_blocks("```sh\ncat out.txt\n```"), tmp_path, 30)
    assert sh.output == "from the container"


async def test_cannot_write_outside_the_work_dir(executor: DockerExecutor, tmp_path: Path) -> None:
    code = ("results = []\nfor target in ['/etc/x', '/x', '/usr/x']:\n    try:\n"
            "        open(target, 'w').write('x')\n        results.append('wrote ' + target)\n"
            "    except OSError as exc:\n        results.append(type(exc).__name__)\n"
            "open('/tmp/scratch', 'w').write('tmpfs is writable')\nprint(results)")  # fmt: skip
    result = await executor.run(py(code), tmp_path, 30)
    assert result.exit_code == 0, result.output
    assert "wrote" not in result.output


async def test_cannot_reach_the_network(executor: DockerExecutor, tmp_path: Path,
                                        listening_port: tuple[int, list]) -> None:  # fmt: skip
    port, accepted = listening_port
    code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
            "    print('CONNECTED')\nexcept OSError as exc:\n    print('refused', type(exc).__name__)\n"
            "print(sorted(name for _, name in socket.if_nameindex()))")  # fmt: skip
    result = await executor.run(py(code), tmp_path, 30)
    assert "refused" in result.output and "CONNECTED" not in result.output
    assert "['lo']" in result.output
    assert accepted == []


async def test_cannot_see_the_hosts_tmp(executor: DockerExecutor, tmp_path: Path,
                                        host_tmp_secret: Path) -> None:  # fmt: skip
    code = (f"try:\n    print(open({str(host_tmp_secret)!r}).read())\n"
            "except OSError as exc:\n    print('hidden', type(exc).__name__)")  # fmt: skip
    result = await executor.run(py(code), tmp_path, 30)
    assert "hidden FileNotFoundError" in result.output


async def test_timeout_kills_the_code_and_its_children(executor: DockerExecutor,
                                                       tmp_path: Path) -> None:  # fmt: skip
    code = ("import subprocess, time\nchild = subprocess.Popen(['sleep', '300'])\n"
            "open('child.pid', 'w').write(str(child.pid))\nwhile True:\n    time.sleep(0.01)")  # fmt: skip
    result = await executor.run(py(code), tmp_path, 3)
    assert result.timed_out and result.exit_code == TIMEOUT_EXIT_CODE
    assert (tmp_path / "child.pid").exists(), f"the child never ran within 3 s: {result.output}"
    child = (tmp_path / "child.pid").read_text()
    # Asked inside the same container: does the child still run? (The container's init
    # reaps it, so wait a little for a zombie to go rather than sleep a fixed time.)
    check = ("import time\ndef alive():\n    try:\n"
             f"        stat = open('/proc/{child}/stat').read()\n"
             "    except FileNotFoundError:\n        return False\n"
             "    return stat.rsplit(')', 1)[1].split()[0] not in 'ZX'\n"
             "for _ in range(200):\n    if not alive():\n        break\n    time.sleep(0.05)\n"
             "print(alive())")  # fmt: skip
    after = await executor.run(py(check), tmp_path, 30)
    assert after.output.strip() == "False", f"child {child} survived: {after.output}"


async def test_pids_and_memory_limits(executor: DockerExecutor, tmp_path: Path) -> None:
    fork = ("import subprocess\nprocs = []\ntry:\n    for _ in range(200):\n"
            "        procs.append(subprocess.Popen(['sleep', '30']))\n    print('started all')\n"
            "except OSError as exc:\n    print('limited after', len(procs), type(exc).__name__)")  # fmt: skip
    result = await executor.run(py(fork), tmp_path, 30)
    assert "limited after" in result.output, result.output
    memory = await executor.run(py("b = bytearray(600 * 1024 * 1024)\nprint('allocated')"),
                                tmp_path, 30)  # fmt: skip
    assert memory.exit_code != 0 and "allocated" not in memory.output


async def test_one_container_per_run_reused_and_labelled(executor: DockerExecutor,
                                                         tmp_path: Path) -> None:  # fmt: skip
    await executor.run(py("print(1)"), tmp_path, 30)
    first = executor.container.id
    await executor.run(py("print(2)"), tmp_path, 30)
    assert executor.container.id == first
    (found,) = containers_of(executor.run_id)
    assert found.id == first and found.labels[LABEL] == "docker"
    attrs = found.attrs["HostConfig"]
    assert attrs["NetworkMode"] == "none" and attrs["ReadonlyRootfs"] is True
    assert attrs["CapDrop"] == ["ALL"] and attrs["PidsLimit"] == 64
    executor.close()
    assert containers_of(executor.run_id) == []


async def test_resumed_run_replaces_a_crashed_processs_container(docker_image: str,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    run_id = f"test-resume-{os.getpid()}"
    dead = subprocess.Popen(["true"])
    dead.wait()
    client = docker_client()
    try:
        # What a crashed process leaves behind: a labelled container whose owner is gone.
        stale = client.containers.run(docker_image, ["sleep", "300"], detach=True,
                                      network_mode="none",
                                      labels={LABEL: "docker", "graphflow.run": run_id,
                                              "graphflow.host": socket.gethostname(),
                                              "graphflow.pid": str(dead.pid)})  # fmt: skip
        client.containers.run(docker_image, ["sleep", "300"], detach=True,
                                      network_mode="none",
                                      labels={LABEL: "docker", "graphflow.run": run_id + "-other",
                                              "graphflow.host": socket.gethostname(),
                                              "graphflow.pid": str(dead.pid)})  # fmt: skip
    finally:
        client.close()
    executor = DockerExecutor(image=docker_image, run_id=run_id)
    try:
        result = await executor.run(py("print('resumed')"), tmp_path, 30)
        assert result.output == "resumed\n"
        ids = [c.id for c in containers_of(run_id)]
        assert ids == [executor.container.id] and stale.id not in ids
        assert containers_of(run_id + "-other") == []
    finally:
        executor.close()
    assert containers_of(run_id) == []


def test_missing_image_says_how_to_build_it(docker_image: str) -> None:
    with pytest.raises(ExecutorUnavailable, match=r"docker-image\.sh") as info:
        DockerExecutor(image="graphflow-missing-image:none", pull=False)
    assert "graphflow-missing-image:none" in str(info.value)


async def test_close_is_idempotent_and_unused_executor_makes_no_container(
    docker_image: str,
) -> None:
    executor = DockerExecutor(image=docker_image, run_id=f"test-unused-{os.getpid()}")
    executor.close()
    executor.close()
    assert containers_of(executor.run_id) == []


async def test_a_new_executor_of_the_same_process_and_run_adopts_the_container(
    docker_image: str, tmp_path: Path
) -> None:
    run_id = f"test-adopt-{os.getpid()}"
    first = DockerExecutor(image=docker_image, run_id=run_id)
    second = DockerExecutor(image=docker_image, run_id=run_id)
    try:
        await first.run(py("open('state.txt', 'w').write('kept')"), tmp_path, 30)
        result = await second.run(py("print(open('state.txt').read())"), tmp_path, 30)
        assert result.output == "kept\n"
        assert second.container.id == first.container.id
    finally:
        second.close()
        first.close()
    assert containers_of(run_id) == []
