"""Code files cannot be redirected by the code that runs next to them.

The attack (found by hand): one message with two code blocks. Block 1 runs and plants a
symbolic link under the name block 2 will be saved as, pointing at a file outside the
work dir; graphflow, outside any sandbox, then saves block 2 through the link and
overwrites that file. Variants: hard links, FIFOs, ``# filename:`` names, folders that
are links, and a process left behind that keeps swapping names while later blocks are
saved. Every test checks the victim outside the work dir is untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from graphflow.execution import CodeBlock, extract_code_blocks

from .conftest import make_executor

VICTIM_TEXT = 'VICTIM = "untouched"\n'


def message(*blocks: str) -> list[CodeBlock]:
    return extract_code_blocks("".join(f"```python\n{b}\n```\n" for b in blocks))


def second_block_name(text: str) -> str:
    """The name graphflow saves a block under, as an attacker computes it."""
    block = message(text)[0]
    if block.filename:
        return block.filename
    return f"tmp_code_{hashlib.sha256(block.code.encode()).hexdigest()[:12]}.py"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the work dir that sandboxed code must not get graphflow to write."""
    path = tmp_path / "victim.py"
    path.write_text(VICTIM_TEXT)
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


async def test_generated_name_planted_as_a_symlink(executor: Any, work: Path, victim: Path) -> None:
    """The attack as reported: block 1 links block 2's generated name to the victim."""
    second = "print('block two ran')"
    plant = f"import os\nos.symlink({str(victim)!r}, {second_block_name(second)!r})"
    result = await executor.run(message(plant, second), work, 60)
    assert victim.read_text() == VICTIM_TEXT, result.output
    assert not victim.is_symlink()


async def test_filename_planted_as_a_symlink(executor: Any, work: Path, victim: Path) -> None:
    plant = f"import os\nos.symlink({str(victim)!r}, 'app.py')"
    result = await executor.run(message(plant, "# filename: app.py\nprint('two')"), work, 60)
    assert victim.read_text() == VICTIM_TEXT, result.output


async def test_filename_through_a_symlinked_folder(executor: Any, work: Path,
                                                   tmp_path: Path) -> None:  # fmt: skip
    outside = tmp_path / "outside"
    outside.mkdir()
    plant = f"import os\nos.symlink({str(outside)!r}, 'sub')"
    result = await executor.run(message(plant, "# filename: sub/x.py\nprint('two')"), work, 60)
    assert list(outside.iterdir()) == [], result.output
    assert "refused" in result.output


@pytest.mark.parametrize("named", [False, True], ids=["generated-name", "filename"])
async def test_name_planted_as_a_hard_link(work: Path, victim: Path, named: bool,
                                           request: pytest.FixtureRequest) -> None:  # fmt: skip
    """Only unsandboxed code can see a file outside the work dir to link it; graphflow
    must still not write through the link."""
    executor = make_executor("local", request)
    second = "# filename: app.py\nprint('two')" if named else "print('two')"
    plant = f"import os\nos.link({str(victim)!r}, {second_block_name(second)!r})"
    result = await executor.run(message(plant, second), work, 60)
    assert victim.read_text() == VICTIM_TEXT, result.output


async def test_fifo_planted_under_the_next_name_does_not_hang(executor: Any, work: Path) -> None:
    """A FIFO under block 2's name would block graphflow's open() for ever."""
    second = "print('block two ran')"
    name = second_block_name(second)
    plant = f"import os\nos.mkfifo({name!r})"
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["result"] = asyncio.run(executor.run(message(plant, second), work, 30))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(45)
    if thread.is_alive():  # unblock the writer so the thread can end, then fail
        fd = os.open(work / name, os.O_RDONLY | os.O_NONBLOCK)
        thread.join(10)
        os.close(fd)
        pytest.fail("saving block 2 blocked on a FIFO planted by block 1")
    assert "block two ran" in outcome["result"].output


RACER = """import os, time
names, victim, seconds = {names!r}, {victim!r}, {seconds}
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        end, i = time.time() + seconds, 0
        while time.time() < end and not os.path.exists("race-stop"):
            for n in names:
                tmp = ".race-tmp"
                try:
                    if i % 2:
                        os.symlink(victim, tmp)
                    else:
                        open(tmp, "w").write("SWAPPED = 1\\n")
                    os.replace(tmp, n)
                except OSError:
                    pass
            i += 1
        os._exit(0)
    os._exit(0)
os.wait()
print("racer started")
"""

# Swaps "sub" between a real folder and a link to a folder outside, atomically
# (renameat2 RENAME_EXCHANGE), so that a check sees the folder and the write the link.
FOLDER_RACER = """import ctypes, os, time
outside, seconds = {outside!r}, {seconds}
os.makedirs("sub", exist_ok=True)
os.symlink(outside, "sub-link")
libc = ctypes.CDLL(None, use_errno=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        end = time.time() + seconds
        while time.time() < end and not os.path.exists("race-stop"):
            for _ in range(1000):
                libc.renameat2(-100, b"sub", -100, b"sub-link", 2)
        os._exit(0)
    os._exit(0)
os.wait()
print("racer started")
"""

ROUNDS = 40


@pytest.mark.parametrize("kind", ["local", "docker"])
async def test_names_swapped_by_a_process_left_running(kind: str, work: Path, victim: Path,
                                                       request: pytest.FixtureRequest) -> None:  # fmt: skip
    """A process that outlives its block (``setsid``; the sandbox kills every process of
    a block before the next is saved, so only local and docker are exposed) swaps the
    next blocks' names between files and links to the victim while they are saved."""
    executor = make_executor(kind, request)
    try:
        blocks = [f"print('round {i}')" for i in range(ROUNDS)]
        names = [second_block_name(b) for b in blocks]
        racer = RACER.format(names=names, victim=str(victim), seconds=15)
        started = await executor.run(message(racer), work, 60)
        assert "racer started" in started.output, started.output
        for block in blocks:
            await executor.run(message(block), work, 30)
        assert victim.read_text() == VICTIM_TEXT
    finally:
        (work / "race-stop").touch()
        executor.close()


@pytest.mark.parametrize("kind", ["local", "docker"])
async def test_folder_renamed_to_a_link_mid_run(kind: str, work: Path, tmp_path: Path,
                                                request: pytest.FixtureRequest) -> None:  # fmt: skip
    """``# filename: sub/x.py`` while a left-behind process keeps renaming ``sub`` away
    and putting a link to a folder outside the work dir in its place."""
    executor = make_executor(kind, request)
    outside = tmp_path / "outside"
    outside.mkdir()
    try:
        racer = FOLDER_RACER.format(outside=str(outside), seconds=15)
        started = await executor.run(message(racer), work, 60)
        assert "racer started" in started.output, started.output
        for i in range(ROUNDS):
            await executor.run(message(f"# filename: sub/b{i}.py\nprint({i})"), work, 30)
        assert list(outside.iterdir()) == []
    finally:
        (work / "race-stop").touch()
        executor.close()
