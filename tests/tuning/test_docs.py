"""docs/tuning.md's Python examples run, and the example files of docs/examples/tuning/
work with ``graphflow tune`` (against the scripted server standing in for the models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from graphflow.cli import main
from graphflow.testing import ModelServer
from tests.test_docs import python_blocks
from tests.tuning.scripted import answer

pytest.importorskip("optuna")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "tuning"


def test_the_tuning_docs_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(ROOT / "docs" / "tuning.md")
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/tuning.md", "exec"), {"__name__": "__doc_example__"})


def test_the_example_files_tune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)  # --metric metric:score is looked up from here
    models = yaml.safe_load((EXAMPLES / "models.yaml").read_text())["models"]

    def scripted(request):  # the stand-in for both example models: "gpt-4o" is right
        reply = answer(request.__class__(request.messages, model="big", params=request.params))
        return reply if request.model == "gpt-4o" else "about " + reply

    with ModelServer(script=scripted) as server:
        inline = json.dumps([{**m, "base_url": server.base_url, "price": [0.001, 0.002]}
                             for m in models])  # fmt: skip
        result = CliRunner().invoke(main, [
            "tune", "--data", "arithmetic.jsonl", "--models", inline, "--space", "space.yaml",
            "--metric", "metric:score", "--budget-inference", "0.01", "--trials", "6",
            "--study", str(tmp_path / "t.db"), "--out", str(tmp_path / "best.yaml")])  # fmt: skip
    assert result.exit_code == 0, result.output
    best = yaml.safe_load((tmp_path / "best.yaml").read_text())["models"]["default"][0]
    assert best["model"] == "gpt-4o"


def test_the_offline_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands of "Trying it offline": the stand-in server with the example's script,
    then ``graphflow tune`` as written, finding the configuration the stand-in makes best."""
    import re
    import shlex
    import shutil

    from graphflow.testing.faults import FaultScript

    text = (ROOT / "docs" / "tuning.md").read_text()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", text, re.S) if "dev-model-server" in b)
    lines = block.replace("\\\n", " ").splitlines()
    serve, export, command = lines[0], lines[1], lines[2]
    assert serve.startswith("graphflow dev-model-server --port 8321 --script ") and serve.endswith("&")
    port = re.search(r"--port (\d+)", serve)
    assert port is not None and f":{port.group(1)}/v1" in export
    script = FaultScript.load(ROOT / shlex.split(serve)[-2])  # what dev-model-server serves
    shutil.copytree(EXAMPLES, tmp_path / "docs" / "examples" / "tuning")
    monkeypatch.chdir(tmp_path)
    with ModelServer(script) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        args = shlex.split(command)
        assert args[0] == "graphflow"
        result = CliRunner().invoke(main, args[1:])
    assert result.exit_code == 0, result.output
    best = yaml.safe_load((tmp_path / "best.yaml").read_text())["models"]["default"][0]
    assert best["model"] == "gpt-4o-mini" and best["temperature"] <= 0.5
    header = (tmp_path / "best.yaml").read_text().splitlines()
    assert header[0].startswith("# tuned: success 1 (max) on 8 instances")
    assert "# prompt: Answer with the number only. {question}" in header
    shown = re.search(r"^best: .*$", text, re.M)
    assert shown is not None and "model=gpt-4o-mini" in shown.group(0) and "prompt#2" in shown.group(0)
