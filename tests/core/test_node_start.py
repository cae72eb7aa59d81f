"""NodeKind.start: a quick sync function finishes without a coroutine; any other kind
(and a kind that changes ``run``) still runs through ``run``."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow import Graph, Update
from graphflow.kinds import register_kind
from graphflow.kinds.base import NodeContext, NodeKind
from graphflow.kinds.builtin import FunctionKind


class Tagged(FunctionKind):
    """A plugin kind: a function node whose run adds a variable to what it returns."""

    kind = "tagged_function"

    async def run(self, ctx: NodeContext) -> Any:
        update = await super().run(ctx)
        assert isinstance(update, Update)
        return Update(update.messages, {**update.variables, "tagged": True})


register_kind(Tagged)


@pytest.mark.parametrize("thread", [False, None])
def test_a_subclass_of_the_function_kind_keeps_its_own_run(thread: bool | None) -> None:
    g = Graph("tagged", entry="a")
    options: dict[str, Any] = {} if thread is None else {"thread": thread}
    g.add_node("a", kind="tagged_function", call=lambda s: {"n": 1}, **options)
    graph = g.compile()
    for _ in range(3):  # unset: on the loop once it has shown itself quick
        result = graph.run_sync()
        assert result.status == "completed", result.error
        assert result.variables.get("tagged") is True


class SyncRun(NodeKind):
    """A kind whose run is (wrongly) a plain function returning an Update."""

    kind = "sync_run_kind"

    def run(self, ctx: NodeContext) -> Any:  # type: ignore[override]
        return Update(variables={"x": 1})


class Nothing(NodeKind):
    kind = "nothing_kind"

    async def run(self, ctx: NodeContext) -> Any:
        return 42


register_kind(SyncRun)
register_kind(Nothing)


def test_a_kind_whose_run_returns_no_update_fails_the_run_naming_the_node() -> None:
    g = Graph("nothing", entry="a")
    g.add_node("a", kind="nothing_kind")
    result = g.compile().run_sync()
    assert result.status == "failed"
    assert result.error == "node 'a' returned int, not an Update"


def test_a_kind_whose_run_is_not_a_coroutine_still_gives_its_update() -> None:
    # before start(): awaiting the Update raised TypeError and failed the run
    g = Graph("sync", entry="a")
    g.add_node("a", kind="sync_run_kind")
    result = g.compile().run_sync()
    assert result.status == "completed" and result.variables["x"] == 1
