"""The seed document's example, with only its import line changed, against
`graphflow dev-model-server` through an OAI_CONFIG_LIST file: the model's code runs in
``work_dir`` ("coding"), and the chat ends by termination."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from graphflow.execution.registry import available
from tests.conftest import require

SEED = '''\
from graphflow.autogen import AssistantAgent, UserProxyAgent, config_list_from_json
config_list = config_list_from_json(env_or_file="OAI_CONFIG_LIST")
assistant = AssistantAgent("assistant", llm_config={"config_list": config_list})
user_proxy = UserProxyAgent("user_proxy", code_execution_config={"work_dir": "coding"})
user_proxy.initiate_chat(assistant, message="Plot a chart of NVDA and TESLA stock price change YTD.")
'''

SCRIPT = '''\
replies:
  - |
    Let me save the chart data first.
    ```python
    # filename: plot.py
    with open("chart.txt", "w") as f:
        f.write("NVDA vs TSLA YTD")
    print("saved chart.txt")
    ```
  - "The chart is saved in chart.txt.\\nTERMINATE"
  - "TERMINATE"
'''


def start_server(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    (tmp_path / "script.yaml").write_text(SCRIPT)
    server = subprocess.Popen([sys.executable, "-m", "graphflow", "dev-model-server",
                               "--script", "script.yaml"], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if "serving" in line:
            return server, line.split(" at ")[1].strip()
    server.kill()
    raise AssertionError("the dev model server did not start")


def test_the_seed_example_runs_the_models_code_and_ends_by_termination(tmp_path: Path) -> None:
    """AutoGen 0.2 (``UserProxyAgent``): human_input_mode ALWAYS asks before every reply,
    enter auto-replies (runs the code), and enter at a bare ``TERMINATE`` ends the chat
    (``check_termination_and_human_reply``). ``"Done.\\nTERMINATE"`` is not a termination
    message by AutoGen's default test, so the proxy's empty auto-reply goes to the model
    — left out of the request — which then says ``TERMINATE``."""
    require(available("auto"), "no isolated executor (bubblewrap or Docker) for the seed's code")
    server, url = start_server(tmp_path)
    try:
        (tmp_path / "OAI_CONFIG_LIST").write_text(
            f'[{{"model": "scripted", "base_url": "{url}", "api_key": "sk-local"}}]')
        (tmp_path / "seed.py").write_text(SEED)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        done = subprocess.run([sys.executable, "seed.py"], cwd=tmp_path, input="\n" * 5,
                              capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "user_proxy (to assistant):\n\nPlot a chart of NVDA" in out
    assert "exitcode: 0 (execution succeeded)\nCode output: saved chart.txt" in out
    assert (tmp_path / "coding" / "chart.txt").read_text() == "NVDA vs TSLA YTD"
    assert (tmp_path / "coding" / "plot.py").exists()
    assert out.count("Provide feedback to assistant") == 3
    assert out.rstrip().endswith("Press enter or type 'exit' to end the conversation:")
    assert "Traceback" not in done.stderr
