"""A project with its own ``nodes`` and ``graphs`` beside graphflow's bundled ones.

The wheel installs one top-level name, ``graphflow`` (the repository's ``nodes/`` and
``graphs/`` ship as ``graphflow.bundled.nodes`` / ``graphflow.bundled.graphs``). A project
with its own ``nodes.py``, ``nodes/mytool.py`` and ``graphs/mine.yaml`` runs its own graph and
the bundled quickstart from the CLI and from Python, with the development install and with the
wheel installed into a fresh virtual environment.
"""

from __future__ import annotations

import doctest
import importlib
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphflow.catalog import bundled_dir, find_graph_file, node_module_roots
from graphflow.imports import resolve_import
from graphflow.tools import catalog_tool_modules, load_tools

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "setup.py", "README.md", "graphflow", "nodes", "graphs"]
LAYOUTS = ["module_and_folder", "package"]

MINE = """\
graph: mine
entry: loud
variables: {text: hello there}
nodes:
  loud: {kind: function, call: "nodes.mytool:shout", args: {text: state.text}, output: text}
  bang: {kind: function, call: "nodes:exclaim", args: {text: state.text}, output: text}
  count: {kind: function, call: "nodes.tools.text:word_count", args: {text: state.text},
          output: words}
  done: {kind: end, status: "{text} in {words} words"}
edges:
  - {from: loud, to: bang}
  - {from: bang, to: count}
  - {from: count, to: done}
"""

EXCLAIM = '''"""The project's own module called nodes."""


def exclaim(text: str) -> str:
    return text + "!"
'''

SHOUT = """def shout(text: str) -> str:
    return text.upper()
"""

# What a user's script does: its own `import nodes`, then both graphs through the Python API.
SCRIPT = """\
import sys
from pathlib import Path

import nodes
import graphflow

assert Path(nodes.__file__).resolve().is_relative_to(Path.cwd().resolve())
print("own nodes:", nodes.exclaim("hi"))
print("graphflow from:", graphflow.__file__)
mine = graphflow.load("mine").run_sync(store="py.db")
print("mine:", mine.status, mine.reason)
quickstart = graphflow.load("quickstart")
first = quickstart.run_sync(store="py.db")
done = quickstart.resume_sync(first.run_id, input="yes", store="py.db")
print("quickstart:", first.status, done.status, done.reason)
print("nodes is still:", sys.modules["nodes"] is nodes)
"""


def make_project(root: Path, layout: str) -> Path:
    """A project folder: ``nodes.py`` beside a ``nodes/`` folder of tool modules
    (``module_and_folder``), or a ``nodes/`` package (``package``); ``graphs/mine.yaml``;
    ``run.py``."""
    (root / "nodes").mkdir(parents=True)
    (root / "graphs").mkdir()
    if layout == "package":
        (root / "nodes" / "__init__.py").write_text(EXCLAIM)
    else:
        (root / "nodes.py").write_text(EXCLAIM)
    (root / "nodes" / "mytool.py").write_text(SHOUT)
    (root / "graphs" / "mine.yaml").write_text(MINE)
    (root / "run.py").write_text(SCRIPT)
    return root


def graphflow_command(bin_dir: Path) -> list[str]:
    script = bin_dir / ("graphflow.exe" if os.name == "nt" else "graphflow")
    return [str(script)] if script.exists() else [str(bin_dir / "python"), "-m", "graphflow.cli"]


def run(command: list[str], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180,
                          **kwargs)  # fmt: skip


def check_cli(command: list[str], project: Path) -> None:
    mine = run([*command, "run", "mine", "--db", "cli.db", "--no-interactive"], project)
    assert mine.returncode == 0, mine.stderr
    assert "completed after 4 steps (HELLO THERE! in 2 words)" in mine.stdout
    first = run([*command, "run", "quickstart", "--db", "cli.db", "--no-interactive"], project)
    assert first.returncode == 3, first.stderr
    run_id = first.stdout.split("graphflow resume ")[1].split()[0]
    done = run([*command, "resume", run_id, "--input", "yes", "--db", "cli.db"], project)
    assert done.returncode == 0, done.stderr
    assert "published" in done.stdout


def check_python(python: Path, project: Path) -> str:
    proc = run([str(python), "run.py"], project)
    assert proc.returncode == 0, proc.stderr
    assert "own nodes: hi!" in proc.stdout
    assert "mine: completed HELLO THERE! in 2 words" in proc.stdout
    assert "quickstart: waiting completed published" in proc.stdout
    assert "nodes is still: True" in proc.stdout
    return proc.stdout


# --- the wheel --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a clean copy of the sources (no stale build folders)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    proc = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
               src, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (found,) = out.glob("graphflow-*.whl")
    return found


def test_the_wheel_installs_graphflow_only(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        top_level = archive.read(f"{info}/top_level.txt").decode().split()
        record = archive.read(f"{info}/RECORD").decode().splitlines()
    assert top_level == ["graphflow"]
    assert {line.split(",")[0].split("/")[0] for line in record} == {"graphflow", info}
    shipped = set(names)
    for folder in ("nodes", "graphs"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT / folder).as_posix()
                assert f"graphflow/bundled/{folder}/{relative}" in shipped, relative


@pytest.fixture(scope="module")
def wheel_env(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed (not editable); graphflow's
    dependencies come from this interpreter's site-packages, added after the environment's
    own, so nothing is downloaded and this checkout's graphflow is not visible."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    proc = run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                "--no-deps", "--no-index", str(wheel)], venv,
               env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       venv).stdout.strip())  # fmt: skip
    here = {*site.getsitepackages(), sysconfig.get_paths()["purelib"]}
    (purelib / "_graphflow_test_deps.pth").write_text("\n".join(sorted(here)) + "\n")
    return python


def test_the_wheel_keeps_its_catalog_inside_graphflow(wheel_env: Path, tmp_path: Path) -> None:
    code = ("import importlib.util as u, graphflow, graphflow.catalog as c; "
            "print(graphflow.__file__); print(c.bundled_dir('nodes')); print(c.bundled_dir('graphs')); "
            "print(u.find_spec('nodes'), u.find_spec('graphs'))")  # fmt: skip
    proc = run([str(wheel_env), "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    package, nodes, graphs, top = proc.stdout.splitlines()
    installed = Path(package).parent
    assert installed.is_relative_to(wheel_env.parent.parent)  # not this checkout
    assert Path(nodes) == installed / "bundled" / "nodes"
    assert Path(graphs) == installed / "bundled" / "graphs"
    assert top == "None None"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_project_runs_with_the_installed_wheel(wheel_env: Path, tmp_path: Path,
                                                 layout: str) -> None:  # fmt: skip
    project = make_project(tmp_path / "project", layout)
    check_cli(graphflow_command(wheel_env.parent), project)
    out = check_python(wheel_env, project)
    assert f"graphflow from: {wheel_env.parent.parent}" in out


def test_the_installed_retrieve_chat_example_says_what_to_do(wheel_env: Path, tmp_path: Path) -> None:
    # the wheel ships graphs/ but not docs/, which the example indexes
    proc = run([*graphflow_command(wheel_env.parent), "run", "retrieve_chat", "-i", "How?",
                "--no-interactive"], tmp_path)  # fmt: skip
    assert proc.returncode != 0, proc.stdout
    assert "graphflow's own docs/" in proc.stdout + proc.stderr
    assert "graphflow graphs --json" in proc.stdout + proc.stderr


# --- the development install ------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_project_runs_its_graph_and_the_quickstart(tmp_path: Path, layout: str) -> None:
    project = make_project(tmp_path / "project", layout)
    check_cli(graphflow_command(Path(sys.executable).parent), project)
    check_python(Path(sys.executable), project)


def test_importing_graphflow_imports_no_catalog_or_graph() -> None:
    code = ("import sys, graphflow; [getattr(graphflow, n) for n in graphflow.__all__]; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nodes', 'graphs') "
            "or m.startswith('graphflow.bundled')))")  # fmt: skip
    proc = run([sys.executable, "-c", code], ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# --- resolution in one process ----------------------------------------------------------


@pytest.fixture
def fresh_nodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ``nodes`` imported at the start; whatever a test imports under that name (or a
    private one) is forgotten at the end."""
    before = set(sys.modules)
    for name in [m for m in sys.modules if m == "nodes" or m.startswith("nodes.")]:
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in set(sys.modules) - before:
        if name.split(".")[0] == "nodes" or name.startswith("_graphflow_nodes_"):
            del sys.modules[name]


@pytest.mark.usefixtures("fresh_nodes")
def test_the_project_catalog_is_imported_as_nodes(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    project = make_project(tmp_path / "project", "package")
    monkeypatch.chdir(project)
    shout = resolve_import("nodes.mytool:shout", project / "graphs")
    review = resolve_import("nodes.tools.text:review", project / "graphs")
    assert shout("a") == "A" and shout.__module__ == "nodes.mytool"
    assert review.__module__ == "graphflow.bundled.nodes.tools.text"
    assert Path(sys.modules["nodes"].__file__).parent == project / "nodes"
    import nodes  # what the project's own code gets

    assert nodes.exclaim("a") == "a!"


@pytest.mark.usefixtures("fresh_nodes")
def test_another_nodes_already_imported_is_left_alone(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    other = make_project(tmp_path / "other", "module_and_folder")
    project = make_project(tmp_path / "project", "package")
    (project / "nodes" / "mytool.py").write_text("def shout(text):\n    return 'project'\n")
    monkeypatch.syspath_prepend(str(other))
    import nodes  # the other project's nodes.py

    shout = resolve_import("nodes.mytool:shout", project)
    assert shout("x") == "project" and shout.__module__.startswith("_graphflow_nodes_")
    assert sys.modules["nodes"] is nodes and nodes.__file__ == str(other / "nodes.py")
    assert resolve_import("nodes:exclaim", other)("x") == "x!"


@pytest.mark.usefixtures("fresh_nodes")
def test_the_project_catalog_comes_first_but_bundled_graphs_keep_theirs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    project = make_project(tmp_path / "project", "package")
    (project / "nodes" / "tools").mkdir()
    (project / "nodes" / "tools" / "text.py").write_text(
        "__all__ = ['review']\n\ndef review(text: str) -> str:\n    return 'mine'\n")
    monkeypatch.chdir(project)
    assert resolve_import("nodes.tools.text:review", project / "graphs")("x") == "mine"
    assert resolve_import("nodes.tools.text:review")("x") == "mine"  # from the current directory
    bundled = resolve_import("nodes.tools.text:review", bundled_dir("graphs"))
    assert bundled.__module__ == "graphflow.bundled.nodes.tools.text"
    roots = node_module_roots(project / "graphs")
    assert roots[0] == (project / "nodes").resolve() and roots[-1] == bundled_dir("nodes")


@pytest.mark.usefixtures("fresh_nodes")
def test_bare_tool_names_search_the_project_catalog_too(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", "package")
    (project / "nodes" / "tools").mkdir()
    (project / "nodes" / "tools" / "loud.py").write_text(
        "__all__ = ['shout']\n\ndef shout(text: str) -> str:\n    'Upper-case the text.'\n"
        "    return text.upper()\n")  # fmt: skip
    assert {"loud", "calculator", "files"} <= set(catalog_tool_modules(project))
    assert [t.name for t in load_tools(["loud", "calculate"], project)] == ["shout", "calculate"]
    assert "loud" not in catalog_tool_modules(tmp_path / "elsewhere")


@pytest.mark.usefixtures("fresh_nodes")
def test_a_catalog_without_the_module_is_not_imported(tmp_path: Path) -> None:
    (tmp_path / "nodes").mkdir()
    (tmp_path / "nodes" / "__init__.py").write_text("raise RuntimeError('imported')\n")
    assert resolve_import("nodes.tools.text:word_count", tmp_path)("two words") == 2
    assert "nodes" not in sys.modules


@pytest.mark.usefixtures("fresh_nodes")
def test_errors_say_what_is_missing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", "package")
    (project / "nodes" / "broken.py").write_text("import no_such_dependency\n")
    with pytest.raises(LookupError, match=r"'nodes\.nope': no node catalog has it \(looked in "
                                          r".*project.nodes.*; check the spelling, or add "
                                          r"nope\.py to your project's nodes/ folder"):  # fmt: skip
        resolve_import("nodes.nope:f", project)
    with pytest.raises(LookupError, match="No module named 'no_such_dependency'"):
        resolve_import("nodes.broken:f", project)


def test_graph_names_find_the_project_graphs_first(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    project = make_project(tmp_path / "project", "package")
    monkeypatch.chdir(project)

    def found(name: str) -> Path | None:
        path = find_graph_file(name)
        return path.resolve() if path else None

    assert found("mine") == (project / "graphs" / "mine.yaml").resolve()
    assert found("quickstart") == bundled_dir("graphs") / "quickstart.yaml"
    (project / "graphs" / "quickstart.yaml").write_text(MINE)
    assert found("quickstart") == (project / "graphs" / "quickstart.yaml").resolve()


@pytest.mark.parametrize("module", ["graphflow.catalog", "graphflow.imports"])
def test_docstring_examples(module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed


def test_an_unknown_graph_name_says_where_names_come_from(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import graphflow.loader
    from graphflow.errors import DefinitionError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(DefinitionError, match=r"graphs/NAME\.yaml in the current directory"):
        graphflow.loader.load("nope")
    monkeypatch.setattr(graphflow.loader, "bundled_dir", lambda folder: None)
    with pytest.raises(DefinitionError, match="bundled graphs are missing from this installation"):
        graphflow.loader.load("nope")
