"""Code-block extraction, file naming and the result format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphflow.errors import ExecutionError
from graphflow.execution import CodeBlock, CodeResult, extract_code_blocks, format_result
from graphflow.execution.codeblocks import infer_language, normalize_language
from graphflow.execution.workspace import block_path, inside, write_block


def test_extracts_blocks_in_order_with_normalised_languages() -> None:
    text = ("First:\n```python\nprint(1)\n```\nthen\n```bash\necho hi\n```\n"
            "and\n```Shell\nls\n```\n```py\nx = 2\n```\n")  # fmt: skip
    blocks = extract_code_blocks(text)
    assert [(b.language, b.code) for b in blocks] == [
        ("python", "print(1)"),
        ("bash", "echo hi"),
        ("sh", "ls"),
        ("python", "x = 2"),
    ]


@pytest.mark.parametrize(("code", "language"), [
    ("import os\nprint(os.getcwd())", "python"),
    ("x = 1", "python"),
    ("print('hi')", "python"),
    ("pip install requests", "sh"),
    ("ls -la | wc -l", "sh"),
    ("pwd", "sh"),
    ("echo $HOME && cat file.txt", "sh"),
])  # fmt: skip
def test_block_without_language_is_python_if_it_parses_else_sh(code: str, language: str) -> None:
    assert infer_language(code) == language
    assert extract_code_blocks(f"```\n{code}\n```")[0].language == language


def test_unknown_language_is_kept_and_not_runnable() -> None:
    (block,) = extract_code_blocks("```javascript\nconsole.log(1)\n```")
    assert block.language == "javascript"
    assert not block.runnable
    assert normalize_language("R") == "r"


def test_filename_comment_names_the_file() -> None:
    (block,) = extract_code_blocks("```python\n# filename: pkg/app.py\nprint('x')\n```")
    assert block.filename == "pkg/app.py"
    (sh,) = extract_code_blocks("```sh\n# filename: run.sh\necho x\n```")
    assert sh.filename == "run.sh"
    (plain,) = extract_code_blocks("```python\nprint('x')  # filename: no.py\n```")
    assert plain.filename is None


def test_no_blocks_and_empty_blocks() -> None:
    assert extract_code_blocks("no code here, just `inline` text") == []
    assert extract_code_blocks(None) == []
    assert extract_code_blocks("```python\n\n```") == []


def test_windows_line_endings() -> None:
    (block,) = extract_code_blocks("```python\r\nprint(1)\r\n```\r\n")
    assert block.code.strip() == "print(1)"


@pytest.mark.parametrize("name", ["../escape.py", "/etc/passwd", "a/../../b.py", "", "a\\b.py"])
def test_paths_leaving_the_work_dir_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ExecutionError, match="refused"):
        inside(tmp_path, name)


def test_symlink_out_of_the_work_dir_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    os.symlink(tmp_path, work / "link")
    with pytest.raises(ExecutionError, match="outside the work dir"):
        write_block(CodeBlock("python", "x", "link/evil.py"), work)
    assert not (tmp_path / "evil.py").exists()


def test_blocks_are_saved_under_their_name_or_a_content_hash(tmp_path: Path) -> None:
    named = write_block(CodeBlock("python", "print(1)", "src/main.py"), tmp_path)
    assert named == (tmp_path / "src" / "main.py").resolve()
    assert named.read_text() == "print(1)\n"
    first = block_path(CodeBlock("sh", "echo 1"), tmp_path)
    assert first.suffix == ".sh" and first.name.startswith("tmp_code_")
    assert first == block_path(CodeBlock("sh", "echo 1"), tmp_path)
    assert first != block_path(CodeBlock("sh", "echo 2"), tmp_path)


def test_result_format_matches_autogen() -> None:
    assert format_result(CodeResult(0, "hi\n")) == \
        "exitcode: 0 (execution succeeded)\nCode output: hi\n"  # fmt: skip
    assert format_result(CodeResult(2, "boom")) == \
        "exitcode: 2 (execution failed)\nCode output: boom"  # fmt: skip


def test_result_round_trips_through_its_record() -> None:
    result = CodeResult(1, "out", timed_out=True, truncated=True, files=("a.py",), seconds=0.5,
                        executor="local")  # fmt: skip
    assert CodeResult.from_record(result.to_record()) == result


def test_a_four_backtick_fence_holding_a_three_backtick_block_is_one_block() -> None:
    """AutoGen users reported that a ````-fenced answer showing a ```-block is cut at the
    inner fence (AutoGen 0.2 ``code_utils.extract_code`` uses a non-greedy pattern). A
    CommonMark reader sees one block of the outer fence's language."""
    text = ("Here is the README:\n````markdown\n# Demo\n```python\nprint('hi')\n```\n"
            "Run it.\n````\nDone.")  # fmt: skip
    (block,) = extract_code_blocks(text)
    assert block.language == "markdown" and not block.runnable
    assert block.code == "# Demo\n```python\nprint('hi')\n```\nRun it."


def test_a_fence_indented_under_a_list_item_loses_the_list_indentation() -> None:
    """A fence under a numbered step keeps its three-space indentation with a pattern,
    which makes the Python an IndentationError; CommonMark removes the container's."""
    text = ("1. Save the helper:\n   ```python\n   def double(x):\n       return 2 * x\n"
            "   print(double(21))\n   ```\n2. Run it.")  # fmt: skip
    (block,) = extract_code_blocks(text)
    assert block.code == "def double(x):\n    return 2 * x\nprint(double(21))"
    compile(block.code, "<block>", "exec")


def test_tilde_fences_quoted_fences_and_unclosed_fences() -> None:
    assert [b.code for b in extract_code_blocks("~~~sh\necho hi\n~~~")] == ["echo hi"]
    assert [b.code for b in extract_code_blocks("> ```python\n> print(1)\n> ```")] == ["print(1)"]
    assert extract_code_blocks("```python\nprint('cut off mid-answer')\n") == []
    assert extract_code_blocks("    indented = 'not a fence'") == []
