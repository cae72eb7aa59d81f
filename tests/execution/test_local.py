"""The local executor, with real processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from graphflow.errors import ExecutionError
from graphflow.execution import (
    TIMEOUT_EXIT_CODE,
    LocalExecutor,
    extract_code_blocks,
    scrub_environment,
)
from graphflow.execution.process import TRUNCATED_MARKER

from .helpers import (
    kill_marked,
    new_marker,
    process_gone,
    processes_with,
    run_while_watching,
    wait_until,
)


def blocks(text: str):  # type: ignore[no-untyped-def]
    return extract_code_blocks(text)


async def test_runs_python_and_shell_in_the_work_dir(tmp_path: Path) -> None:
    code = ("```python\nimport os\nprint(os.getcwd())\nopen('made.txt', 'w').write('x')\n```\n"
            "```sh\necho home=$HOME\ncat made.txt\n```")  # fmt: skip
    result = await LocalExecutor().run(blocks(code), tmp_path, 10)
    work = str(tmp_path.resolve())
    assert result.exit_code == 0, result.output
    assert result.output == f"{work}\nhome={work}\nx"
    assert (tmp_path / "made.txt").read_text() == "x"
    assert len(result.files) == 2 and result.executor == "local"


async def test_stderr_is_captured_and_a_failure_stops_later_blocks(tmp_path: Path) -> None:
    code = ("```python\nimport sys\nprint('out')\nsys.stderr.write('bad thing\\n')\nsys.exit(3)\n"
            "```\n```sh\necho never > ran.txt\n```")  # fmt: skip
    result = await LocalExecutor().run(blocks(code), tmp_path, 10)
    assert result.exit_code == 3
    assert "out" in result.output and "bad thing" in result.output
    assert not (tmp_path / "ran.txt").exists()


async def test_python_exception_is_reported_with_traceback(tmp_path: Path) -> None:
    result = await LocalExecutor().run(blocks("```python\n1/0\n```"), tmp_path, 10)
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.output


async def test_unknown_language_is_reported_not_run(tmp_path: Path) -> None:
    code = "```sh\necho first\n```\n```ruby\nputs 1\n```\n```sh\necho third\n```"
    result = await LocalExecutor().run(blocks(code), tmp_path, 10)
    assert result.exit_code == 1
    assert "first" in result.output and "third" not in result.output
    assert "unknown language 'ruby'" in result.output


async def test_executor_languages_restrict_what_runs(tmp_path: Path) -> None:
    result = await LocalExecutor(languages=["python"]).run(blocks("```sh\necho x\n```"),
                                                           tmp_path, 10)  # fmt: skip
    assert result.exit_code == 1 and "unknown language 'sh'" in result.output


async def test_filename_traversal_is_refused_and_nothing_written(tmp_path: Path) -> None:
    work = tmp_path / "work"
    code = "```python\n# filename: ../escaped.py\nprint(1)\n```"
    result = await LocalExecutor().run(blocks(code), work, 10)
    assert result.exit_code == 1 and "refused" in result.output
    assert not (tmp_path / "escaped.py").exists()


async def test_timeout_kills_the_loop_and_its_children(tmp_path: Path) -> None:
    marker = new_marker("local-sleeper")
    code = ("```python\nimport subprocess, sys, time\n"
            f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', "
            f"{marker!r}])\n"
            "open('child.pid', 'w').write(str(child.pid))\n"
            "while True:\n    time.sleep(0.01)\n```")  # fmt: skip
    try:
        # The bound only catches a hang (the child sleeps 300 s), not a slow machine.
        result, seen = await asyncio.wait_for(
            run_while_watching(LocalExecutor().run(blocks(code), tmp_path, 3), marker), 60
        )
        assert seen, f"the child never ran within the 3 s timeout: {result.output}"
        assert result.timed_out and result.exit_code == TIMEOUT_EXIT_CODE
        assert "timed out after 3 s" in result.output
        child = int((tmp_path / "child.pid").read_text())
        assert seen == [child]
        assert wait_until(lambda: process_gone(child)), f"child {child} survived the timeout"
    finally:
        kill_marked(marker)


async def test_background_children_are_killed_when_the_code_exits(tmp_path: Path) -> None:
    code = ("```python\nimport subprocess\n"
            "child = subprocess.Popen(['sleep', '300'], stdout=subprocess.DEVNULL)\n"
            "open('child.pid', 'w').write(str(child.pid))\nprint('done')\n```")  # fmt: skip
    result = await LocalExecutor().run(blocks(code), tmp_path, 10)
    assert result.exit_code == 0 and result.output == "done\n"
    child = int((tmp_path / "child.pid").read_text())
    assert wait_until(lambda: process_gone(child))


async def test_output_is_capped_and_marked(tmp_path: Path) -> None:
    code = "```python\nimport sys\nfor _ in range(2000):\n    sys.stdout.write('x' * 1000)\n```"
    result = await LocalExecutor().run(blocks(code), tmp_path, 20, output_limit=5000)
    assert result.exit_code == 0 and result.truncated
    assert result.output == "x" * 5000 + TRUNCATED_MARKER
    assert "[output truncated]" in result.output


async def test_secrets_are_scrubbed_from_the_environment(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    secrets = {"OPENAI_API_KEY": "sk-1", "GITHUB_TOKEN": "t", "MY_SECRET": "s",
               "DB_PASSWORD": "p", "AWS_SECRET_ACCESS_KEY": "a", "SSH_AUTH_SOCK": "/x"}  # fmt: skip
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("GRAPHFLOW_HARMLESS", "ok")
    code = "```python\nimport os\nprint(sorted(os.environ))\n```"
    result = await LocalExecutor(env={"EXTRA": "1"}).run(blocks(code), tmp_path, 10)
    names = eval(result.output)  # the test's own output: a list literal
    for name in secrets:
        assert name not in names
    assert {"PATH", "HOME", "LANG", "EXTRA"} <= set(names)
    assert "GRAPHFLOW_HARMLESS" not in names  # an allow-list: unnamed variables stay out
    named = await LocalExecutor(pass_env=["GRAPHFLOW_HARMLESS"]).run(blocks(code), tmp_path, 10)
    assert "GRAPHFLOW_HARMLESS" in eval(named.output)


def test_scrub_environment_keeps_path_and_lang() -> None:
    env = scrub_environment("/w", {"PATH": "/bin", "LANG": "de_DE.UTF-8", "TMPDIR": "/x",
                                   "api_key": "k", "Session_Cookie": "c"})  # fmt: skip
    assert env["PATH"] == "/bin" and env["LANG"] == "de_DE.UTF-8" and env["HOME"] == "/w"
    assert "api_key" not in env and "Session_Cookie" not in env and "TMPDIR" not in env


async def test_timeout_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ExecutionError, match="positive"):
        await LocalExecutor().run(blocks("```python\nprint(1)\n```"), tmp_path, 0)


async def test_process_that_escapes_the_group_does_not_hang_the_run(tmp_path: Path) -> None:
    # A grandchild in a session of its own is outside the process group and keeps the
    # output pipe open; the executor stops reading shortly after the code itself exits
    # instead of waiting for it. The grandchild says when it runs (``escaped``).
    marker = new_marker("local-escape")
    code = ("```python\nimport os, subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import os, time; "
            "open(\"escaped\", \"w\").write(str(os.getpid())); time.sleep(300)', "
            f"{marker!r}], start_new_session=True)\n"
            "while not os.path.exists('escaped'):\n    time.sleep(0.01)\n"
            "print('started')\n```")  # fmt: skip
    try:
        # The bound only catches a hang (the grandchild sleeps 300 s), not a slow machine.
        result = await asyncio.wait_for(LocalExecutor().run(blocks(code), tmp_path, 60), 30)
        assert result.exit_code == 0 and result.output == "started\n", result.output
        escaped = int((tmp_path / "escaped").read_text())
        assert escaped in processes_with(marker), "the grandchild ended before the run did"
    finally:
        kill_marked(marker)
