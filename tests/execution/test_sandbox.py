"""The bubblewrap sandbox: the isolation guarantees, checked with real processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphflow.execution import (
    TIMEOUT_EXIT_CODE,
    LocalExecutor,
    SandboxExecutor,
    extract_code_blocks,
)

from .helpers import process_gone, wait_until

pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("needs_bwrap")]


def py(code: str):  # type: ignore[no-untyped-def]
    return extract_code_blocks(f"```python\n{code}\n```")


async def test_runs_code_in_the_work_dir(tmp_path: Path) -> None:
    result = await SandboxExecutor().run(py("import os\nprint(os.getcwd())\n"
                                            "open('out.txt', 'w').write('made')"), tmp_path, 20)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path.resolve())
    assert (tmp_path / "out.txt").read_text() == "made"
    assert result.executor == "sandbox"


async def test_cannot_write_outside_the_work_dir(tmp_path: Path) -> None:
    work, outside = tmp_path / "work", tmp_path / "outside"
    outside.mkdir()
    code = (f"import os\nresults = []\n"
            f"for target in [{str(outside / 'x.txt')!r}, '/etc/graphflow-x', '/x', "
            f"{str(Path.home() / 'graphflow-x')!r}]:\n"
            "    try:\n        open(target, 'w').write('x')\n        results.append('wrote ' + target)\n"
            "    except OSError as exc:\n        results.append(type(exc).__name__)\n"
            "open('/tmp/private.txt', 'w').write('only in the sandbox')\n"
            "print(results)")  # fmt: skip
    result = await SandboxExecutor().run(py(code), work, 20)
    assert result.exit_code == 0, result.output
    assert "wrote" not in result.output
    assert not (outside / "x.txt").exists()
    assert not Path("/etc/graphflow-x").exists()
    assert not (Path.home() / "graphflow-x").exists()
    assert not Path("/tmp/private.txt").exists()


async def test_cannot_reach_the_network(tmp_path: Path, listening_port: tuple[int, list]) -> None:
    port, accepted = listening_port
    code = (f"import socket\ntry:\n    s = socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
            "    print('CONNECTED', s.recv(100))\nexcept OSError as exc:\n"
            "    print('refused', type(exc).__name__)")  # fmt: skip
    # Control: outside the sandbox the same code does connect, so the test can fail.
    local = await LocalExecutor().run(py(code), tmp_path / "local", 20)
    assert "CONNECTED" in local.output
    accepted.clear()
    result = await SandboxExecutor().run(py(code), tmp_path / "sandbox", 20)
    assert result.exit_code == 0, result.output
    assert "refused" in result.output and "CONNECTED" not in result.output
    assert accepted == []


async def test_cannot_see_the_hosts_tmp(tmp_path: Path, host_tmp_secret: Path) -> None:
    code = (f"import os\ntry:\n    print(open({str(host_tmp_secret)!r}).read())\n"
            "except OSError as exc:\n    print('hidden', type(exc).__name__)")  # fmt: skip
    local = await LocalExecutor().run(py(code), tmp_path / "local", 20)
    assert "host secret" in local.output
    result = await SandboxExecutor().run(py(code), tmp_path / "sandbox", 20)
    assert "hidden FileNotFoundError" in result.output


async def test_has_its_own_process_namespace(tmp_path: Path) -> None:
    code = f"import os\nprint(os.path.exists('/proc/{os.getpid()}'), len(os.listdir('/proc')))"
    result = await SandboxExecutor().run(py(code), tmp_path, 20)
    assert result.output.startswith("False"), result.output


async def test_timeout_kills_the_sandboxed_processes(tmp_path: Path) -> None:
    marker = f"graphflow-sleep-{os.getpid()}"
    code = ("import subprocess, time\n"
            f"subprocess.Popen(['sh', '-c', 'exec -a {marker} sleep 300'])\n"
            "while True:\n    time.sleep(0.01)")  # fmt: skip
    result = await SandboxExecutor().run(py(code), tmp_path, 1.5)
    assert result.timed_out and result.exit_code == TIMEOUT_EXIT_CODE

    def survivors() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmd = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if marker.encode() in cmd and not process_gone(int(entry.name)):
                    found.append(int(entry.name))
        return found

    assert wait_until(lambda: survivors() == []), f"sandboxed processes survived: {survivors()}"


async def test_processes_that_start_their_own_session_end_with_the_code(tmp_path: Path) -> None:
    marker = f"graphflow-escape-{os.getpid()}"
    # (dash has no `exec -a`: the marker rides in the waiting shell's command line)
    code = f"```sh\nsetsid sh -c 'sleep 300; : {marker}' &\necho started\n```"
    result = await SandboxExecutor().run(extract_code_blocks(code), tmp_path, 20)
    assert result.output == "started\n"

    def running() -> bool:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if marker.encode() in (entry / "cmdline").read_bytes():
                        return not process_gone(int(entry.name))
                except OSError:
                    continue
        return False

    assert wait_until(lambda: not running())


async def test_memory_limit(tmp_path: Path) -> None:
    code = "data = bytearray(600 * 1024 * 1024)\nprint('allocated')"
    result = await SandboxExecutor(memory="256m").run(py(code), tmp_path, 20)
    assert result.exit_code != 0 and "MemoryError" in result.output


async def test_secrets_do_not_reach_the_sandbox(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    result = await SandboxExecutor().run(py("import os\nprint(os.environ.get('OPENAI_API_KEY'))"),
                                         tmp_path, 20)  # fmt: skip
    assert result.output.strip() == "None"


async def test_shell_blocks_run_too(tmp_path: Path) -> None:
    blocks = extract_code_blocks("```sh\necho $((6 * 7)) > n.txt\ncat n.txt\n```")
    result = await SandboxExecutor().run(blocks, tmp_path, 20)
    assert result.output == "42\n"
