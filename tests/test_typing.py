"""graphflow is a typed package: ``mypy --strict`` checks a user's script against its
public API (``py.typed`` ships; the names ``graphflow`` imports on first use have their
real types, not ``object``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent

USER_SCRIPT = '''
from __future__ import annotations

from pathlib import Path

import graphflow
from graphflow import (AssistantAgent, ChatResult, CompiledGraph, Graph, Message, ModelClient,
                       ModelConfig, ModelServer, RunOverlay, RunResult, ScriptedModel, State,
                       Store, Tool, UserProxyAgent, initiate_chat_sync, resolve_models, tool,
                       write_report)


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def greet(state: State) -> str:
    last: Message | None = state.last
    return f"hello, {last.content if last else 'world'}"


def main(folder: Path) -> str:
    g = Graph("typed", entry="greet")
    g.add_node("greet", greet)
    graph: CompiledGraph = g.compile()
    store = Store(folder / "runs.db")
    result: RunResult = graph.run_sync("you", store=store)
    overlay: RunOverlay = RunOverlay.from_store(store, result.run_id)
    written: Path = write_report(store, result.run_id, folder / "report.html", graph=graph)
    config: ModelConfig = ModelConfig(model="m", base_url="http://127.0.0.1:9/v1")
    client: ModelClient = ModelClient([config])
    scripted = ScriptedModel(["hi"])
    answer: str = scripted.complete_sync([{"role": "user", "content": "hi"}]).text
    models = resolve_models(None, env={})
    tools: list[Tool] = [add]
    chat: ChatResult = initiate_chat_sync(UserProxyAgent(), AssistantAgent(), "hi",
                                          models=scripted)
    with ModelServer(["x"]) as server:
        url: str = server.base_url
    version: str = graphflow.__version__
    return " ".join([result.status, overlay.status, written.name, repr(client), answer,
                     str(models.names), str(len(tools)), chat.status, url, version])
'''

WRONG_SCRIPT = '''
from graphflow import ModelClient, ModelConfig, write_report

client: int = ModelClient([ModelConfig(model="m")])
written: int = write_report
'''


def mypy(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    """Run ``mypy --strict`` on a script, with graphflow found as an installed package is
    (a folder on the path: mypy then requires its ``py.typed``)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if not (site / "graphflow").exists():
        (site / "graphflow").symlink_to(ROOT / "graphflow", target_is_directory=True)
    script = tmp_path / name
    script.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("MYPYPATH", None)
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "--cache-dir", str(tmp_path / ".mypy_cache"), str(script)],
                          cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_mypy_strict_accepts_a_script_using_the_public_api(tmp_path: Path) -> None:
    checked = mypy(tmp_path, "user_script.py", USER_SCRIPT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success" in checked.stdout


def test_the_lazily_imported_names_have_their_real_types(tmp_path: Path) -> None:
    checked = mypy(tmp_path, "wrong.py", WRONG_SCRIPT)
    assert checked.returncode == 1
    assert 'has type "ModelClient", variable has type "int"' in checked.stdout, checked.stdout
    assert "-> Path\", variable has type \"int\"" in checked.stdout, checked.stdout


def test_the_package_ships_its_type_marker() -> None:
    assert (ROOT / "graphflow" / "py.typed").is_file()
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in data["tool"]["setuptools"]["package-data"]["*"]
