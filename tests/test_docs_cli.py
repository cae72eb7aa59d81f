"""What the docs say about the command line is true: every option shown with a
``graphflow`` command exists on that command, every command shown exists, every bundled
graph named exists."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from graphflow.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_SPAN = re.compile(r"`([^`]+)`")
_CALL = re.compile(r"^graphflow((?:\s+-[\w-]+(?:\s+[A-Z_]+)?|\s+\[[^\]]*\]\.*)*)"
                   r"\s+([a-z][a-z-]*)\b(.*)", re.S)  # fmt: skip
_PREFIX = re.compile(r"^(?:\$\s+)?(?:[A-Z_]+=\S*\s+)*")
_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def code_texts(path: Path) -> list[str]:
    """The fenced code lines and the inline code spans of a markdown file."""
    text = path.read_text(encoding="utf-8")
    out = [line for block in _FENCE.findall(text) for line in block.splitlines()]
    out += _SPAN.findall(_FENCE.sub("", text))
    return out


def option_names(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        names.update(param.opts)
        names.update(getattr(param, "secondary_opts", []))
    return names


def mentions() -> list[tuple[str, str, str, str]]:
    """(doc, command, options text, global options text) of every command line shown."""
    found = []
    for path in DOCS:
        for code in code_texts(path):
            for segment in re.split(r"\||&&|;|#", code):  # commands of a pipeline; comments
                match = _CALL.match(_PREFIX.sub("", segment.strip()))
                if match:
                    found.append((path.name, match.group(2), match.group(3), match.group(1)))
    return found


def test_the_docs_show_command_lines() -> None:
    commands = {command for _, command, _, _ in mentions()}
    assert {"run", "resume", "show", "runs", "report", "render", "graphs"} <= commands


@pytest.mark.parametrize("doc", [p.name for p in DOCS])
def test_every_option_shown_in_the_docs_exists(doc: str) -> None:
    problems = []
    for name, command, rest, before in mentions():
        if name != doc:
            continue
        if command not in main.commands:
            problems.append(f"graphflow {command}: no such command")
            continue
        target = main.commands[command]
        if isinstance(target, click.Group):  # a command group: its subcommand comes next
            sub = (rest.split() or [""])[0]
            if not sub:  # the group named alone
                continue
            if sub not in target.commands:
                problems.append(f"graphflow {command} {sub}: no such command")
                continue
            target = target.commands[sub]
        known = option_names(target)
        for option in _OPTION.findall(rest):
            if option not in known:
                problems.append(f"graphflow {command} {option}: no such option")
        for option in _OPTION.findall(before):
            if option not in option_names(main):
                problems.append(f"graphflow {option}: no such global option")
    assert problems == []


def test_every_bundled_graph_the_docs_name_exists() -> None:
    missing = []
    for path in DOCS:
        for name in re.findall(r"\bgraphs/([a-z0-9_]+)\.ya?ml", path.read_text(encoding="utf-8")):
            if name != "mine" and not (ROOT / "graphs" / f"{name}.yaml").is_file():
                missing.append(f"{path.name}: graphs/{name}.yaml")
    assert missing == []


def test_the_run_not_found_hint_is_one_command_in_backticks() -> None:
    from graphflow.errors import RunNotFound

    text = str(RunNotFound("abc", "/tmp/runs.db"))
    assert text.endswith("list the runs with `graphflow runs --db /tmp/runs.db`")


def test_the_check_can_fail() -> None:
    fake = "`graphflow run FILE --script replies.yaml`"
    match = _CALL.match(_SPAN.findall(fake)[0])
    assert match is not None and "--script" not in option_names(main.commands[match.group(2)])
