"""The file tools against a hostile work dir: huge and special files, links, loops.

Executed code shares the work dir with the tools a model calls, so it can prepare it.
The reads run in a child process with a memory cap and a deadline, so that a tool
that reads a whole 4 GiB file, or blocks on a FIFO, fails the test instead of the
machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from graphflow.tools import ToolContext
from nodes.tools.files import MAX_READ_BYTES, list_files, write_file

REPO = Path(__file__).resolve().parents[2]
CHILD = """import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1024 ** 3, 1024 ** 3))
from pathlib import Path
from graphflow.tools import ToolContext
from nodes.tools.files import read_file
try:
    text = read_file(sys.argv[2], ToolContext(work_dir=Path(sys.argv[1])))
    print(json.dumps({"length": len(text), "tail": text[-80:]}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def read_in_child(work: Path, name: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(work), name], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout))


def test_read_file_streams_up_to_its_cap_from_a_4_gib_file(tmp_path: Path) -> None:
    with open(tmp_path / "huge.bin", "wb") as f:
        f.truncate(4 * 1024**3)  # sparse: no disk used
    outcome = read_in_child(tmp_path, "huge.bin")
    assert "error" not in outcome, outcome
    assert outcome["length"] < MAX_READ_BYTES + 200
    assert f"the file has {4 * 1024**3} bytes" in str(outcome["tail"])


def test_read_file_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    try:
        outcome = read_in_child(tmp_path, "pipe")
    except subprocess.TimeoutExpired:
        raise AssertionError("read_file blocked on a FIFO planted in the work dir") from None
    assert outcome.get("error") == "FileNotFoundError", outcome


def test_write_file_does_not_write_through_a_hard_link(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    os.link(victim, work / "notes.txt")
    write_file("notes.txt", "from the model", ToolContext(work_dir=work))
    assert victim.read_text() == "untouched"
    assert (work / "notes.txt").read_text() == "from the model"


def test_list_files_survives_symlink_loops(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("y")
    os.symlink("self", tmp_path / "self")  # a link to itself
    os.symlink("ping", tmp_path / "pong")  # two links in a cycle
    os.symlink("pong", tmp_path / "ping")
    os.symlink("..", tmp_path / "sub" / "up")  # a folder link back to an ancestor
    listed = list_files(".", ToolContext(work_dir=tmp_path))
    assert {"a.txt", "sub/", "sub/b.txt"} <= set(listed)
    assert not {"self", "ping", "pong"} & set(listed)
    assert len(listed) < 10
