"""The model calls a run keeps cost what each turn added: an agent's prompt is stored
against its previous one (graphflow.store.model_calls), and reads back whole."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from graphflow import Message, Store
from graphflow.patterns import AssistantAgent, two_agent_chat

SEEN: list[list[dict[str, Any]]] = []


def reply(request: Any) -> str:
    SEEN.append([dict(m) for m in request.messages])
    return f"reply {len(SEEN)}"


def _chat(turns: int) -> Any:
    alice, bob = (AssistantAgent(name, is_termination_msg=None,
                                 max_consecutive_auto_reply=10 * turns)
                  for name in ("alice", "bob"))  # fmt: skip
    models = {"default": {"scripted": {"function": f"{__name__}:reply"}}}
    return two_agent_chat(alice, bob, max_turns=turns // 2, models=models,
                          max_steps=turns + 20).compile()  # fmt: skip


def test_kept_prompts_read_back_as_sent_and_are_stored_as_what_is_new(tmp_path: Path) -> None:
    SEEN.clear()
    store = Store(tmp_path / "runs.db")
    result = _chat(30).run_sync([Message(role="user", name="alice", content="Let us talk.")],
                                store=store, work_dir=tmp_path)  # fmt: skip
    assert result.status == "completed", result.reason
    calls = store.model_calls(result.run_id)
    assert len(calls) == len(SEEN) >= 28
    assert [c["prompt"] for c in calls] == SEEN
    store.close()
    raw = sqlite3.connect(tmp_path / "runs.db")
    stored = [json.loads(p) for (p,) in raw.execute(
        "SELECT prompt FROM model_calls WHERE run_id=? ORDER BY seq", (result.run_id,))]  # fmt: skip
    raw.close()
    # each agent's first call keeps all its keys; every later one refers to the agent's
    # previous call and adds the messages since (two a turn), never the whole history
    assert all(isinstance(p, list) for p in stored[:2])
    assert all(isinstance(p, dict) and len(p["keys"]) <= 3 for p in stored[2:]), stored[-1]
