"""``graphflow memory list|forget`` and graphs/teachable.yaml run twice in two processes:
the second run uses what the first taught."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEACH = "For reports I prefer bullet points over long paragraphs. Our sprint review is on Thursdays."
ASK = "Write the sprint summary for the team."
USES_IT = "- Next: the sprint review, on Thursday as usual."
DOES_NOT = "Here is the sprint summary: this sprint the team built"


def gf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("GRAPHFLOW_DB", "GRAPHFLOW_MEMORY_DB", "OPENAI_API_KEY")}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def clean_error(proc: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    text = re.sub(r"\s+", " ", proc.stderr)
    for part in parts:
        assert part in text, (part, proc.stderr)


def test_a_second_run_in_another_process_uses_what_the_first_taught(tmp_path: Path) -> None:
    untaught = gf("run", "teachable", "--db", "fresh/runs.db", "-i", ASK, cwd=tmp_path)
    assert untaught.returncode == 0, untaught.stderr
    assert DOES_NOT in untaught.stdout and USES_IT not in untaught.stdout

    first = gf("run", "teachable", "-i", TEACH, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "graphflow-memory.db").exists()  # beside ./graphflow.db
    second = gf("run", "teachable", "-i", ASK, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert USES_IT in second.stdout and DOES_NOT not in second.stdout

    memos = json.loads(gf("memory", "list", "--json", cwd=tmp_path).stdout)
    assert [(m["agent"], m["kind"], m["text"]) for m in memos] == [
        ("assistant", "preference", "The user prefers bullet points over long paragraphs in reports."),
        ("assistant", "fact", "The team's sprint review is on Thursdays.")]
    runs = json.loads(gf("runs", "--json", cwd=tmp_path).stdout)
    assert memos[0]["run_id"] == runs[-1]["run_id"]  # learned in the first run

    # forgotten memos are no longer recalled
    assert gf("memory", "forget", "--agent", "assistant", cwd=tmp_path).returncode == 0
    third = gf("run", "teachable", "-i", ASK, cwd=tmp_path)
    assert DOES_NOT in third.stdout


def test_memory_list_and_forget(tmp_path: Path) -> None:
    gf("run", "teachable", "--db", "runs.db", "-i", TEACH, cwd=tmp_path)
    db = str(tmp_path / "graphflow-memory.db")
    listed = gf("memory", "list", "--db", db, cwd=tmp_path)
    assert listed.returncode == 0
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(fields[1], fields[2]) for fields in lines] == [("assistant", "preference"),
                                                           ("assistant", "fact")]
    first_id, second_id = lines[0][0], lines[1][0]
    assert gf("memory", "list", "--agent", "assistant", "--db", db, cwd=tmp_path).stdout == listed.stdout

    forgot = gf("memory", "forget", first_id[:7], "--db", db, cwd=tmp_path)
    assert forgot.returncode == 0 and f"forgot memo {first_id}" in forgot.stdout
    clean_error(gf("memory", "forget", first_id, "--db", db, cwd=tmp_path),
                f"no memo '{first_id}'", "graphflow memory list --db")
    clean_error(gf("memory", "list", "--agent", "ghost", "--db", db, cwd=tmp_path),
                "no memos of agent 'ghost'", "agents with memos: assistant")
    clean_error(gf("memory", "forget", "--agent", "ghost", "--db", db, cwd=tmp_path),
                "no memos of agent 'ghost'")
    clean_error(gf("memory", "forget", "--db", db, cwd=tmp_path), "a MEMO_ID, --agent NAME or --all")
    clean_error(gf("memory", "forget", second_id, "--all", "--db", db, cwd=tmp_path), "exactly one")
    assert [m["id"] for m in json.loads(gf("memory", "list", "--json", "--db", db,
                                            cwd=tmp_path).stdout)] == [second_id]  # fmt: skip
    everything = gf("memory", "forget", "--all", "--json", "--db", db, cwd=tmp_path)
    assert json.loads(everything.stdout)["forgotten"] == 1
    assert gf("memory", "list", "--db", db, cwd=tmp_path).stdout == ""


def test_memory_commands_refuse_missing_damaged_and_foreign_files(tmp_path: Path) -> None:
    clean_error(gf("memory", "list", cwd=tmp_path), "no memory database at graphflow-memory.db")
    assert not (tmp_path / "graphflow-memory.db").exists()
    gf("run", "teachable", "--db", "runs.db", "-i", TEACH, cwd=tmp_path)
    clean_error(gf("memory", "list", "--db", "runs.db", cwd=tmp_path),
                "runs.db is a graphflow run database, not a memory database")
    (tmp_path / "notes.txt").write_text("shopping list\n" * 200)
    clean_error(gf("memory", "forget", "--all", "--db", "notes.txt", cwd=tmp_path),
                "notes.txt is not a graphflow memory database")
    assert (tmp_path / "notes.txt").read_text().startswith("shopping list")
    damaged = tmp_path / "graphflow-memory.db"
    data = bytearray(damaged.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # overwrite the schema page
    damaged.write_bytes(bytes(data))
    clean_error(gf("memory", "list", cwd=tmp_path),
                "the memory database graphflow-memory.db is damaged", "restore it from a backup")


def test_the_teachable_graph_validates_and_renders(tmp_path: Path) -> None:
    assert gf("validate", "graphs/teachable.yaml", cwd=Path(__file__).resolve().parents[2]) \
        .returncode == 0
    drawn = gf("render", "teachable", "-o", "-", "--format", "dot", cwd=tmp_path)
    assert drawn.returncode == 0 and re.search(r"assistant\"? -> \"?done", drawn.stdout)
    svg = gf("render", "teachable", "-o", "t.svg", cwd=tmp_path)
    assert svg.returncode == 0 and (tmp_path / "t.svg").read_text().lstrip().startswith("<")


def test_memory_list_on_a_terminal_is_a_table(tmp_path: Path) -> None:
    gf("run", "teachable", "-i", TEACH, cwd=tmp_path)
    env = {**os.environ, "FORCE_COLOR": "1", "TERM": "xterm", "COLUMNS": "100"}
    env.pop("GRAPHFLOW_MEMORY_DB", None)
    shown = subprocess.run([sys.executable, "-m", "graphflow.cli", "memory", "list"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout).splitlines()
    assert plain[0].split()[:3] == ["memo", "id", "agent"]
    assert all(len(line) <= 100 for line in plain) and "preference" in shown.stdout


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap for a read-only mount")
def test_memos_in_a_read_only_folder_are_listed_and_a_run_that_learns_says_read_only(
        tmp_path: Path) -> None:  # fmt: skip
    assert gf("run", "teachable", "-i", TEACH, cwd=tmp_path).returncode == 0
    for extra in tmp_path.glob("graphflow-memory.db-*"):
        extra.unlink()
    memory = tmp_path / "graphflow-memory.db"
    ro = ["bwrap", "--bind", "/", "/", "--ro-bind", str(memory), str(memory),
          "--dev", "/dev", "--proc", "/proc"]  # fmt: skip
    folder = ["bwrap", "--bind", "/", "/", "--ro-bind", str(tmp_path / "ro"), str(tmp_path / "ro"),
              "--dev", "/dev", "--proc", "/proc"]  # fmt: skip
    (tmp_path / "ro").mkdir()
    shutil.copy(memory, tmp_path / "ro" / "m.db")
    env = {k: v for k, v in os.environ.items() if k not in ("GRAPHFLOW_DB", "GRAPHFLOW_MEMORY_DB")}
    cli = [sys.executable, "-m", "graphflow.cli"]
    listed = subprocess.run([*folder, *cli, "memory", "list", "--db", "ro/m.db"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "bullet points" in listed.stdout
    again = subprocess.run([*ro, *cli, "run", "teachable", "-i", TEACH], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert again.returncode != 0
    text = re.sub(r"\s+", " ", again.stdout + again.stderr)
    assert "graphflow-memory.db is read-only" in text and "delete it" not in text, text
