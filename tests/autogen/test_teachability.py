"""``Teachability`` as in AutoGen 0.2 (``autogen.agentchat.contrib.capabilities.teachability``):
``add_to_agent`` makes an agent learn from the messages it receives and recall them in
later chats, here through graphflow's teachable agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphflow import DefinitionError
from graphflow.autogen import AssistantAgent, Teachability, UserProxyAgent, config_list_from_json
from graphflow.memory import MemoStore
from graphflow.models.reply_script import ScriptRequest

TAUGHT = {"memos": [{"kind": "fact", "topic": "the team's deploy day",
                     "memo": "The team deploys on Tuesdays."}]}


@pytest.fixture
def llm(model_server, tmp_path: Path):
    """``llm(function)``: an llm_config pointing at a scripted server answering with it."""

    def make(script: Any) -> dict[str, Any]:
        server = make.server = model_server(script)
        path = tmp_path / f"OAI_CONFIG_LIST_{server.port}"
        path.write_text(f'[{{"model": "scripted", "base_url": "{server.base_url}", '
                        '"api_key": "sk-local"}]')  # fmt: skip
        return {"config_list": config_list_from_json(str(path)), "cache_seed": None}

    return make


def script(analysis: dict[str, Any]) -> Any:
    def answer(request: ScriptRequest) -> str:
        if request.last_text.startswith("Message to analyze"):
            return json.dumps(analysis)
        return "Tuesday, then. TERMINATE" if "deploys on Tuesdays" in request.last_text \
            else "Noted. TERMINATE"

    return answer


def test_add_to_agent_learns_in_one_chat_and_recalls_in_the_next(llm, tmp_path: Path) -> None:
    config = llm(script(TAUGHT))
    folder = tmp_path / "teachable_agent_db"
    teachable = AssistantAgent("teachable", llm_config=config)
    Teachability(path_to_db_dir=str(folder)).add_to_agent(teachable)
    assert "earlier conversations" in (teachable.system_message or "")
    user = UserProxyAgent("user", human_input_mode="NEVER", code_execution_config=False,
                          max_consecutive_auto_reply=0)  # fmt: skip
    first = user.initiate_chat(teachable, message="We deploy on Tuesdays.", silent=True)
    assert first.chat_history[1]["content"] == "Noted. TERMINATE"
    with MemoStore(folder / "graphflow-memory.db") as memory:
        assert [(m.agent, m.text) for m in memory.memos()] == [
            ("teachable", "The team deploys on Tuesdays.")]

    # a new agent object, as in a new program, with the same folder
    again = AssistantAgent("teachable", llm_config=llm(script({"memos": []})))
    Teachability(path_to_db_dir=str(folder)).add_to_agent(again)
    second = user.initiate_chat(again, message="When should we deploy next?", silent=True)
    assert second.chat_history[1]["content"] == "Tuesday, then. TERMINATE"
    assert second.chat_history[0]["content"] == "When should we deploy next?"


def test_reset_db_forgets_the_agents_memos(llm, tmp_path: Path) -> None:
    config = llm(script(TAUGHT))
    teachable = AssistantAgent("teachable", llm_config=config)
    Teachability(path_to_db_dir=str(tmp_path)).add_to_agent(teachable)
    user = UserProxyAgent("user", human_input_mode="NEVER", code_execution_config=False,
                          max_consecutive_auto_reply=0)  # fmt: skip
    user.initiate_chat(teachable, message="We deploy on Tuesdays.", silent=True)
    Teachability(path_to_db_dir=str(tmp_path), reset_db=True).add_to_agent(
        AssistantAgent("teachable", llm_config=config))
    with MemoStore(tmp_path / "graphflow-memory.db") as memory:
        assert memory.memos() == []


def test_the_analyzer_may_have_its_own_llm_config(llm, tmp_path: Path) -> None:
    reply_config = llm(["Noted. TERMINATE"])
    analyzer_config = llm([json.dumps(TAUGHT)])
    teachable = AssistantAgent("teachable", llm_config=reply_config)
    Teachability(path_to_db_dir=str(tmp_path), llm_config=analyzer_config).add_to_agent(teachable)
    user = UserProxyAgent("user", human_input_mode="NEVER", code_execution_config=False,
                          max_consecutive_auto_reply=0)  # fmt: skip
    user.initiate_chat(teachable, message="We deploy on Tuesdays.", silent=True)
    with MemoStore(tmp_path / "graphflow-memory.db") as memory:
        assert len(memory.memos("teachable")) == 1


def test_an_agent_without_a_model_cannot_be_taught(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="has no llm_config"):
        Teachability(path_to_db_dir=str(tmp_path)).add_to_agent(UserProxyAgent("user"))


def test_autogens_distance_threshold_is_not_used_and_says_so(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="BM25"):
        Teachability(path_to_db_dir=str(tmp_path), recall_threshold=0.5)
