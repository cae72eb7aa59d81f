"""The store contract, continued: the models a run records and its model calls (run
against each store of FACTORIES, through the protocols only)."""

from __future__ import annotations

import pytest

from graphflow.errors import RunNotFound
from graphflow.store import ModelCall, RunStore
from tests.store.factories import StoreFactory
from tests.store.test_contract import commit, new_run

MODELS = {"source": "override", "default": "default", "origin": "from --model m",
          "entries": {"default": {"kind": "configs", "configs": [
              {"model": "m", "base_url": "http://127.0.0.1:9/v1", "provider": "openai-compatible"}]},
              "critic": {"kind": "scripted"}}}  # fmt: skip


def call(step: int, node: str, prompt: list[dict], answer: str | None = "ok",
         error: str | None = None) -> ModelCall:  # fmt: skip
    return ModelCall(step=step, node=node, started_at=1000.0 + step, seconds=0.25, model="m",
                     base_url="http://127.0.0.1:9/v1", prompt=prompt, tools=["search"],
                     response=None if answer is None else {"message": {"role": "assistant",
                                                                       "content": answer},
                                                           "finish_reason": "stop"},
                     usage={"prompt_tokens": 7, "completion_tokens": 1, "cost": None},
                     error=error)  # fmt: skip


def test_the_models_a_run_records_read_back_and_follow_a_fork(store: RunStore,
                                                              factory: StoreFactory) -> None:  # fmt: skip
    new_run(store)
    assert store.get_run("r1").models is None
    store.set_models("r1", MODELS)
    assert store.get_run("r1").models == MODELS
    assert factory.open().get_run("r1").models == MODELS  # another process sees it
    assert store.list_runs()[0].models == MODELS
    commit(store, "r1", 0, text="x")
    store.fork_run("r1", 1, "fork", {"run": ["a"], "wait": []})
    assert store.get_run("fork").models == MODELS
    with pytest.raises(RunNotFound):
        store.set_models("nope", MODELS)


def test_model_calls_read_back_in_order_with_their_prompts(store: RunStore,
                                                           factory: StoreFactory) -> None:  # fmt: skip
    new_run(store)
    system = {"role": "system", "content": "You are terse."}
    first = [system, {"role": "user", "content": "hi"}]
    second = [*first, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "more"}]
    store.record_model_call("r1", call(0, "a", first))
    store.record_model_call("r1", call(1, "b", second, answer=None, error="HTTP 500: down"))
    calls = factory.open().model_calls("r1")
    assert [(c["seq"], c["step"], c["node"]) for c in calls] == [(0, 0, "a"), (1, 1, "b")]
    assert calls[0]["prompt"] == first and calls[1]["prompt"] == second
    assert calls[0]["response"] == {"message": {"role": "assistant", "content": "ok"},
                                    "finish_reason": "stop"}  # fmt: skip
    assert calls[1]["response"] is None and calls[1]["error"] == "HTTP 500: down"
    assert calls[0]["usage"] == {"prompt_tokens": 7, "completion_tokens": 1, "cost": None}
    assert (calls[0]["tools"], calls[0]["seconds"], calls[0]["model"]) == (["search"], 0.25, "m")
    assert store.model_calls("other") == []


def test_deleting_a_run_deletes_its_model_calls(store: RunStore) -> None:
    new_run(store)
    new_run(store, "r2")
    store.record_model_call("r1", call(0, "a", [{"role": "user", "content": "same"}]))
    store.record_model_call("r2", call(0, "a", [{"role": "user", "content": "same"}]))
    store.delete_run("r1")
    assert store.model_calls("r1") == []
    assert store.model_calls("r2")[0]["prompt"] == [{"role": "user", "content": "same"}]


def test_an_effect_keeps_its_model_calls_in_the_same_write(store: RunStore,
                                                           factory: StoreFactory) -> None:  # fmt: skip
    new_run(store)
    store.record_model_call("r1", call(0, "a", [{"role": "user", "content": "first"}]))
    joined: list[str] = []
    store.put_effect("r1", 1, "b", "reply", {"message": {"content": "ok"}},
                     calls=[call(1, "b", [{"role": "user", "content": "second"}])],
                     joined=lambda: joined.append("written"))  # fmt: skip
    other = factory.open()  # another process sees both
    assert other.get_effect("r1", 1, "b", "reply") == (True, {"message": {"content": "ok"}})
    assert [(c["seq"], c["node"]) for c in other.model_calls("r1")] == [(0, "a"), (1, "b")]
    assert joined == ["written"]


def test_an_effect_whose_joined_write_fails_is_not_written(store: RunStore) -> None:
    new_run(store)

    def failing() -> None:
        raise RuntimeError("the joined rows cannot be written")

    with pytest.raises(RuntimeError, match="joined rows"):
        store.put_effect("r1", 1, "b", "reply", {"answer": 1},
                         calls=[call(1, "b", [{"role": "user", "content": "q"}])],
                         joined=failing)  # fmt: skip
    assert store.get_effect("r1", 1, "b", "reply") == (False, None)
    assert store.model_calls("r1") == []


def test_a_call_that_cannot_be_encoded_never_fails_its_effect(store: RunStore) -> None:
    new_run(store)
    bad = call(1, "b", [{"role": "user", "content": object()}])
    store.put_effect("r1", 1, "b", "reply", {"answer": 1}, calls=[bad])
    assert store.get_effect("r1", 1, "b", "reply") == (True, {"answer": 1})
    assert store.model_calls("r1") == []


def _view(head: list[dict], body: list[dict]):  # an agent's growing view of the conversation
    from graphflow.models.openai_messages import OpenAIMessages

    return OpenAIMessages.build(head, body)


def test_prompts_that_extend_the_nodes_last_one_read_back_whole(store: RunStore,
                                                                factory: StoreFactory) -> None:  # fmt: skip
    """An agent's prompts grow by what each turn added: a call that says so is stored
    against the node's previous call, and reads back as its whole prompt."""
    new_run(store)
    head = [{"role": "system", "content": "be brief"}]
    body: list[dict] = []
    previous = None
    sent = []
    for turn in range(6):
        body.append({"role": "user", "content": f"message {turn}"})
        view = _view(head, body)
        shared = view.shared_prefix(previous) if previous is not None else 0
        kept = call(0, "writer", view)  # type: ignore[arg-type]
        kept["prompt_shared"], kept["prompt_previous"] = shared, previous
        if turn % 2:
            store.record_model_call("r1", kept)
        else:
            store.put_effect("r1", 0, "writer", f"model:{turn}", {"n": turn}, calls=[kept])
        sent.append(list(view))
        previous = view
    # a call from another node between them, and one whose claim does not hold
    store.record_model_call("r1", call(0, "critic", [{"role": "user", "content": "judge"}]))
    wrong = call(0, "writer", [{"role": "user", "content": "fresh start"}])
    wrong["prompt_shared"], wrong["prompt_previous"] = 3, object()
    store.record_model_call("r1", wrong)
    sent += [[{"role": "user", "content": "judge"}], [{"role": "user", "content": "fresh start"}]]
    for reader in (store, factory.open()):
        assert [c["prompt"] for c in reader.model_calls("r1")] == sent
        assert [c["seq"] for c in reader.model_calls("r1")] == list(range(8))


def test_a_new_store_handle_keeps_the_whole_prompt_first(store: RunStore,
                                                         factory: StoreFactory) -> None:  # fmt: skip
    """A handle that did not keep the node's previous call (another process, after a
    resume) cannot refer to it: it keeps the whole prompt, and later calls chain again."""
    new_run(store)
    body = [{"role": "user", "content": "a"}]
    first = _view([], body)
    store.record_model_call("r1", call(0, "writer", first))  # type: ignore[arg-type]
    other = factory.open()
    body.append({"role": "user", "content": "b"})
    second = _view([], body)
    kept = call(1, "writer", second)  # type: ignore[arg-type]
    kept["prompt_shared"], kept["prompt_previous"] = second.shared_prefix(first), first
    other.record_model_call("r1", kept)
    assert [c["prompt"] for c in store.model_calls("r1")] == [list(first), list(second)]
