"""A tuning process killed (SIGKILL) in the middle of a trial resumes from its stored
trials: finished trials are not asked again, the interrupted one is asked again first and
the answers it already had come from the study's cache, unbilled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import yaml

from graphflow.testing import ModelServer
from tests.tuning.scripted import DATA, INFERENCE_BUDGET, SPACE, answer, config_list, request_key

SMALL = {**SPACE, "temperature": [0.0, 0.9]}  # 3 models x 2 temperatures x 2 prompts

optuna = pytest.importorskip("optuna")
ROOT = Path(__file__).resolve().parents[2]


def _config(body: dict) -> tuple[str, float, bool]:
    model, temperature, text = request_key(body)
    return model, temperature, text.startswith("Answer with")


class HoldingScript:
    """Answers as the scripted models do, but holds one request in the middle of a trial
    (its config answered twice already, two other configs finished) until released."""

    def __init__(self) -> None:
        self.held = threading.Event()
        self.release = threading.Event()
        self.per_config: Counter[tuple[str, float, bool]] = Counter()
        self.held_key: tuple[str, float, str] | None = None

    def __call__(self, request) -> str:
        body = {"model": request.model, "messages": request.messages, **request.params}
        config = _config(body)
        self.per_config[config] += 1
        if (self.held_key is None and self.per_config[config] == 3 and config[0] != "big"
                and len(self.per_config) >= 3):  # fmt: skip
            self.held_key = request_key(body)
            self.held.set()
            self.release.wait(30)
        return answer(request)


def _command(tmp: Path, study: Path) -> list[str]:
    return [sys.executable, "-m", "graphflow", "tune", "--data", str(tmp / "data.jsonl"),
            "--models", str(tmp / "models.yaml"), "--space", str(tmp / "space.yaml"),
            "--budget-inference", str(INFERENCE_BUDGET), "--study", str(study),
            "--out", str(tmp / "best.yaml")]  # fmt: skip


def test_a_killed_study_resumes_without_repeating_finished_trials(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DATA))
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SMALL))
    study = tmp_path / "study.db"
    script = HoldingScript()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GRAPHFLOW_"))}
    env["PYTHONPATH"] = str(ROOT)
    with ModelServer(script=script) as server:
        (tmp_path / "models.yaml").write_text(yaml.safe_dump({"models": config_list(server.base_url)}))
        process = subprocess.Popen(_command(tmp_path, study), env=env, cwd=tmp_path,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        try:
            assert script.held.wait(120), process.communicate(timeout=5)
            assert process.poll() is None
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)
        finally:
            script.release.set()
            if process.poll() is None:
                process.kill()
        before = list(server.request_log)

        stored = optuna.load_study(study_name="graphflow-tune", storage=f"sqlite:///{study}")
        states = Counter(t.state.name for t in stored.trials)
        assert states["RUNNING"] == 1 and states["COMPLETE"] + states["PRUNED"] >= 2
        [running] = [t.number for t in stored.trials if t.state.name == "RUNNING"]
        finished = {(t.user_attrs["config"]["model"],
                     float(t.user_attrs["config"]["params"]["temperature"]),
                     t.user_attrs["config"]["prompt_index"] == 1)
                    for t in stored.trials if t.state.name in ("COMPLETE", "PRUNED")}  # fmt: skip
        interrupted = _config({"model": script.held_key[0], "temperature": script.held_key[1],
                               "messages": [{"content": script.held_key[2]}]})  # fmt: skip
        assert interrupted not in finished

        resumed = subprocess.run(_command(tmp_path, study), env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=300)  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        after = server.request_log[len(before):]

    assert "was interrupted: it is asked again first" in resumed.stderr
    asked_again = {_config(body) for body in after}
    assert not asked_again & finished  # finished trials are not asked again
    answered_before = {request_key(b) for b in before if _config(b) == interrupted} - {script.held_key}
    assert len(answered_before) == 2
    assert not {request_key(b) for b in after} & answered_before  # from the cache
    assert script.held_key in {request_key(b) for b in after}  # the held one is asked again

    stored = optuna.load_study(study_name="graphflow-tune", storage=f"sqlite:///{study}")
    evaluated = Counter(
        (t.user_attrs["config"]["model"], float(t.user_attrs["config"]["params"]["temperature"]),
         t.user_attrs["config"]["prompt_index"])
        for t in stored.trials
        if t.user_attrs.get("result", {}).get("state") in ("complete", "over_budget"))  # fmt: skip
    assert len(evaluated) == 12 and set(evaluated.values()) == {1}
    was_running = stored.trials[running]
    assert was_running.state.name == "FAIL" and was_running.user_attrs["result"]["retry"] is True
    redone = [t for t in stored.trials if t.user_attrs.get("resumes") == running]
    assert len(redone) == 1 and redone[0].user_attrs["result"]["state"] in ("complete", "over_budget")
    best = yaml.safe_load((tmp_path / "best.yaml").read_text())
    assert best["models"]["default"][0]["model"] == "good"
    assert best["models"]["default"][0]["temperature"] <= 0.3


def test_a_second_process_on_the_same_study_is_refused(tmp_path: Path) -> None:
    from graphflow.tuning import TuningError, tune

    study = tmp_path / "study.db"
    release = threading.Event()

    def slow(request):
        release.wait(30)
        return "4"

    with ModelServer(script=slow) as server:
        configs = [{"model": "m", "base_url": server.base_url, "price": [0.001, 0.001]}]
        first = threading.Thread(target=tune, args=([{"q": "2+2", "answer": "4"}],),
                                 kwargs={"config_list": configs, "study": study,
                                         "search_space": {"prompt": "{q}"}})  # fmt: skip
        first.start()
        try:
            while server.requests == 0:
                threading.Event().wait(0.05)
            with pytest.raises(TuningError, match="being tuned by another process"):
                tune([{"q": "2+2", "answer": "4"}], config_list=configs, study=study,
                     search_space={"prompt": "{q}"})  # fmt: skip
        finally:
            release.set()
            first.join(30)
