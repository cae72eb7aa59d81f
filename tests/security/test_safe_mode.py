"""Safe mode: graph files, node catalogs and run databases name only allowed imports.

Without safe mode a graph file is code (it names import paths, and ``validate`` imports
them); that is the documented trust model, and the controls below show it. With
``--safe`` (or ``safe_imports()`` in Python) only the bundled catalog, registered entry
points and modules the user allows may be named, a stored run's spec is checked again on
resume, and ``validate`` imports nothing.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from graphflow.catalog import bundled_dir
from graphflow.cli import main
from graphflow.errors import DefinitionError
from graphflow.loader import load

# Imported inside the tests that use them, so that each test fails on its own (rather
# than the whole file failing to import) where safe mode does not exist.


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def hostile_dir(tmp_path: Path) -> tuple[Path, str, Path]:
    """A graph folder with a module that leaves a marker when it is imported, and a
    graph whose function node names it."""
    module = f"hostile_{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "IMPORTED"
    (tmp_path / f"{module}.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"
        "def step(state):\n    return 'hi'\n"
    )
    (tmp_path / "graph.yaml").write_text(f"""graph: hostile
entry: a
nodes:
  a: {{kind: function, call: "{module}:step"}}
  done: {{kind: end}}
edges:
  - {{from: a, to: done}}
""")
    return tmp_path / "graph.yaml", module, marker


def test_validate_in_safe_mode_imports_nothing(hostile_dir: tuple[Path, str, Path]) -> None:
    graph, module, marker = hostile_dir
    refused = cli("--safe", "validate", str(graph))
    assert refused.exit_code == 2 and "refused in safe mode" in refused.output, refused.output
    allowed = cli("--safe", "--allow-import", module, "validate", str(graph))
    assert allowed.exit_code == 0, allowed.output
    assert not marker.exists(), "safe validation imported the graph's module"
    # Control (the trust model): without safe mode, validating a graph imports its code.
    assert cli("validate", str(graph)).exit_code == 0
    assert marker.exists()


def test_run_in_safe_mode_refuses_os_system(tmp_path: Path) -> None:
    marker = tmp_path / "RAN"
    graph = tmp_path / "system.yaml"
    graph.write_text(f"""graph: system
entry: a
nodes:
  a: {{kind: function, call: "os:system", args: {{command: "'touch {marker}'"}}}}
  done: {{kind: end}}
edges:
  - {{from: a, to: done}}
""")
    ran = cli("--safe", "run", str(graph), "--db", str(tmp_path / "runs.db"))
    assert ran.exit_code == 2 and "'os:system' is refused in safe mode" in ran.output, ran.output
    assert not marker.exists()


def test_resume_checks_the_stored_spec_again(tmp_path: Path) -> None:
    """A run database edited so that its stored graph calls ``os:system``."""
    marker = tmp_path / "RAN"
    graph = tmp_path / "pause.yaml"
    graph.write_text(f"""graph: pause
entry: ask
nodes:
  ask: {{kind: human, prompt: "Go on?"}}
  count: {{kind: function, call: "nodes.tools.text:word_count", args: {{text: "'touch {marker}'"}}}}
  done: {{kind: end}}
edges:
  - {{from: ask, to: count}}
  - {{from: count, to: done}}
""")
    db = tmp_path / "runs.db"
    started = cli("--safe", "run", str(graph), "--db", str(db), "--run-id", "r1", "--no-interactive")
    assert started.exit_code == 3, started.output  # waiting: the graph itself is allowed
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE specs SET spec = replace(replace(spec, 'nodes.tools.text:word_count', "
                     "'os:system'), '\"text\":', '\"command\":')")  # fmt: skip
    resumed = cli("--safe", "resume", "r1", "--db", str(db), "--input", "yes")
    assert resumed.exit_code == 2 and "refused in safe mode" in resumed.output, resumed.output
    assert not marker.exists()


@pytest.mark.parametrize("path", [
    "nodes.tools.files:os.system",     # through a module the catalog imports
    "nodes.tools.files:write_inside",  # a function the catalog imports from elsewhere
    "nodes.tools.files:_context",      # a private name
    "builtins:exec",
    "subprocess:run",
])  # fmt: skip
def test_paths_that_leave_the_allowed_modules_are_refused(path: str) -> None:
    from graphflow.imports import ImportRefused, resolve_import, safe_imports

    with safe_imports(), pytest.raises(ImportRefused, match="refused in safe mode"):
        resolve_import(path)


def test_a_graph_folder_cannot_stand_in_for_the_catalog(tmp_path: Path) -> None:
    marker = tmp_path / "IMPORTED"
    tools = tmp_path / "nodes" / "tools"
    tools.mkdir(parents=True)
    (tmp_path / "nodes" / "__init__.py").write_text("")
    (tools / "__init__.py").write_text("")
    (tools / "evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
                                   "def step(state):\n    return 'hi'\n")  # fmt: skip
    graph = tmp_path / "graph.yaml"
    graph.write_text("""graph: shadow
entry: a
nodes:
  a: {kind: function, call: "nodes.tools.evil:step"}
  done: {kind: end}
edges:
  - {from: a, to: done}
""")
    ran = cli("--safe", "run", str(graph), "--db", str(tmp_path / "runs.db"))
    assert ran.exit_code == 2, ran.output
    assert not marker.exists()


def test_allowed_modules_may_be_named(hostile_dir: tuple[Path, str, Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from graphflow.imports import safe_imports

    graph, module, marker = hostile_dir
    db = str(graph.parent / "runs.db")
    assert cli("--safe", "--allow-import", module, "run", str(graph), "--db", db).exit_code == 0
    assert marker.exists()
    monkeypatch.setenv("GRAPHFLOW_ALLOW_IMPORTS", f"other,{module}")
    with safe_imports():
        assert load(graph).name == "hostile"


def test_the_api_option_refuses_what_the_cli_refuses(tmp_path: Path) -> None:
    from graphflow.imports import safe_imports

    graph = tmp_path / "system.yaml"
    graph.write_text("""graph: system
entry: a
nodes:
  a: {kind: function, call: "os:getcwd"}
  done: {kind: end}
edges:
  - {from: a, to: done}
""")
    with safe_imports(), pytest.raises(DefinitionError, match="refused in safe mode"):
        load(graph)
    assert load(graph).name == "system"  # outside the block: no policy


def test_every_bundled_graph_validates_and_loads_in_safe_mode() -> None:
    """Except the graphs that choose the local executor (debug_loop, retrieve_code: their
    code is scripted), which are therefore refused in safe mode."""
    from graphflow.imports import safe_imports

    graphs = sorted((bundled_dir("graphs") or Path("graphs")).glob("*.yaml"))
    local = [g for g in graphs if "executor: local" in g.read_text()]
    graphs = [g for g in graphs if g not in local]
    assert graphs and local
    checked = cli("--safe", "validate", *[str(g) for g in graphs])
    assert checked.exit_code == 0, checked.output
    refused = cli("--safe", "validate", str(local[0]))
    assert refused.exit_code == 2 and "executor: local" in refused.output
    with safe_imports():
        for graph in graphs:
            load(graph)


def test_a_graph_cannot_choose_the_local_executor_in_safe_mode(tmp_path: Path) -> None:
    """``executor: local`` in a graph file would run model-written code on the host."""
    graph = tmp_path / "local.yaml"
    graph.write_text("""graph: local
entry: run
nodes:
  run: {kind: code, executor: local}
  done: {kind: end}
edges:
  - {from: run, to: done}
""")
    refused = cli("--safe", "validate", str(graph))
    assert refused.exit_code == 2 and "executor: local" in refused.output, refused.output
    chosen = graph.read_text().replace("executor: local", "executor: auto")
    graph.write_text(chosen)
    ran = cli("--safe", "run", str(graph), "--executor", "local", "--input", "no code here",
              "--db", str(tmp_path / "runs.db"))  # fmt: skip
    assert ran.exit_code == 0, ran.output  # the person at the command line may choose it
