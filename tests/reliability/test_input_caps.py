"""Bounded inputs (issue findings 6 and 7): graph files past the documented caps, YAML that
cannot be built, broken catalog entries, arguments that are not text and huge format
widths are each refused with a clear error — never a traceback, a hang or a huge database."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphflow.errors import DefinitionError
from graphflow.spec import loads_spec
from graphflow.spec.files import MAX_DEPTH, MAX_STRING_CHARS, MAX_VALUES

HEAD = "graph: g\nentry: a\n"
TAIL = "nodes: {a: {kind: end}}\n"
LAUGHS = HEAD + "variables:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9)) + TAIL


def graphflow(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "graphflow.cli", *args], cwd=cwd,
                          capture_output=True, timeout=timeout)  # fmt: skip


def test_a_billion_laughs_file_is_refused_by_validate_and_run(tmp_path: Path) -> None:
    assert len(LAUGHS.encode()) < 600
    (tmp_path / "laughs.yaml").write_text(LAUGHS)
    started = time.monotonic()
    for command in (["validate", "laughs.yaml"], ["run", "laughs.yaml", "--db", "runs.db"]):
        proc = graphflow(*command, cwd=tmp_path)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and "Traceback" not in err, err
        assert f"more than {MAX_VALUES:,} values once its YAML aliases" in err
    assert time.monotonic() - started < 20
    db = tmp_path / "runs.db"
    assert not db.exists() or db.stat().st_size < 1_000_000


@pytest.mark.parametrize(("text", "fmt", "message"), [
    (HEAD + "variables: {x: " + "[" * 600 + "]" * 600 + "}\n" + TAIL, None, "levels deep"),
    (HEAD + "variables: {x: " + "[" * 70 + "]" * 70 + "}\n" + TAIL, None, "levels deep"),
    ('{"graph":"g","entry":"a","variables":{"x":' + "[" * 1200 + "]" * 1200
     + '},"nodes":{"a":{"kind":"end"}}}', "json", "levels deep"),
    ('{"graph":"g","entry":"a","variables":{"x":' + "[" * 500 + "]" * 500
     + '},"nodes":{"a":{"kind":"end"}}}', "json", "levels deep"),
    (HEAD + "variables:\n  ? [k]\n  : v\n" + TAIL, None, "a list cannot be a key"),
    (HEAD + "variables: {x: !!bool maybe}\n" + TAIL, None, "cannot be built"),
    (HEAD + "variables: {x: !!map [a]}\n" + TAIL, None, "expected a mapping"),
    (HEAD + "variables: {x: &a [*a]}\n" + TAIL, None, "recursive alias"),
    (HEAD + "variables: {x: " + "a" * (MAX_STRING_CHARS + 1) + "}\n" + TAIL, None,
     "characters at line 3"),
])  # fmt: skip
def test_files_past_the_caps_or_unbuildable_are_definition_errors(text: str, fmt: str | None,
                                                                  message: str) -> None:  # fmt: skip
    with pytest.raises(DefinitionError, match=message):
        loads_spec(text, fmt=fmt)


def test_nesting_within_the_cap_is_accepted() -> None:
    depth = MAX_DEPTH - 4
    spec = loads_spec(HEAD + "variables: {x: " + "[" * depth + "]" * depth + "}\n" + TAIL)
    assert "x" in spec.variables


@pytest.mark.parametrize("entry", [
    "kind: [1, 2]\nmax_visits: lots\n",
    "kind: !!python/object:os.system x\n",
    "kind: end\n? [k]\n: v\n",
    "- a\n- b\n",
    "kind: !!bool maybe\n",
])  # fmt: skip
def test_broken_catalog_entries_are_clear_errors(tmp_path: Path, entry: str) -> None:
    (tmp_path / "nodes").mkdir()
    (tmp_path / "nodes" / "bad.yaml").write_text(entry)
    (tmp_path / "g.yaml").write_text(HEAD + "nodes:\n  a: {use: bad}\n")
    proc = graphflow("validate", "g.yaml", cwd=tmp_path)
    err = proc.stderr.decode() + proc.stdout.decode()
    assert proc.returncode != 0 and "Traceback" not in err, err
    assert "bad.yaml" in err


@pytest.mark.parametrize("args", [
    ["run", "g.yaml", "--input", "\udcff"],
    ["run", "g.yaml", "--var", "x=\udcff"],
    ["run", "g.yaml", "--run-id", "\udcff"],
    ["show", "\udcff"],
    ["resume", "\udcff"],
])  # fmt: skip
def test_arguments_that_are_not_utf8_are_refused_clearly(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "g.yaml").write_text(HEAD + TAIL)
    graphflow("run", "g.yaml", "--db", "runs.db", cwd=tmp_path)
    proc = graphflow(*args, "--db", "runs.db", cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err
    assert "not UTF-8 text" in err


def test_text_with_a_lone_surrogate_is_refused_by_the_api() -> None:
    from graphflow import Graph
    from graphflow.errors import InvalidUpdate

    g = Graph("s", entry="a")
    g.add_node("a", kind="end")
    with pytest.raises(InvalidUpdate, match="lone surrogate"):
        g.compile().run_sync("bad \udcff")


def test_a_huge_template_width_does_not_build_gigabytes(tmp_path: Path) -> None:
    (tmp_path / "g.yaml").write_text(
        "graph: t\nentry: ask\nvariables: {topic: x}\nnodes:\n"
        "  ask: {kind: human, prompt: 'about {topic:>2000000000}?'}\n"
        "  done: {kind: end, status: '{topic:>2000000000}'}\n"
        "edges:\n  - {from: ask, to: done}\n")  # fmt: skip
    proc = graphflow("run", "g.yaml", "--db", "runs.db", "--no-interactive", cwd=tmp_path)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr.decode()
    from graphflow.errors import RunError
    from graphflow.models.template import render_template

    with pytest.raises(RunError, match="above 10,000"):
        render_template("{topic:>2000000000}", {"topic": "x"})
