"""Checks before a run is continued, the models it continues with, and the messages a
run starts with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from graphflow.errors import IncompatibleGraph, RunNotResumable
from graphflow.messages import Message
from graphflow.store.protocol import RunRecord, RunStatus, RunWriter

if TYPE_CHECKING:
    from graphflow.context import RunContext
    from graphflow.graph import CompiledGraph

__all__ = ["RESUMABLE", "answers_for", "check_resumable", "input_messages",
           "keep_model_overrides"]

#: Statuses a run can be resumed from.
RESUMABLE: tuple[RunStatus, ...] = ("ready", "waiting", "running", "failed")


def check_resumable(record: RunRecord, graph: CompiledGraph, allow_changed_graph: bool) -> None:
    run_id = record.run_id
    if record.status not in RESUMABLE:
        raise RunNotResumable(
            f"run {run_id!r} already ended (status {record.status}"
            + (f": {record.reason}" if record.reason else "")
            + f"); nothing to resume. Start a new run, or fork this one with "
            f"`graphflow fork {run_id} --at STEP`")  # fmt: skip
    if record.topology != graph.topology and not allow_changed_graph:
        raise IncompatibleGraph(
            f"run {run_id!r} was checkpointed with a different graph topology "
            f"({record.topology} ≠ {graph.topology}): nodes, edges or conditions changed "
            "since. Resume with the original graph, or pass allow_changed_graph=True "
            "(--allow-changed-graph) to continue on the new one")  # fmt: skip


def input_messages(value: str | Message | list[Message] | None) -> list[Message]:
    if value is None:
        return []
    if isinstance(value, str):
        return [Message(role="user", name="user", content=value)]
    if isinstance(value, Message):
        return [value]
    return list(value)


def answers_for(record: RunRecord, answers: str | Mapping[str, str] | None) -> dict[str, str]:
    waiting = (record.waiting or {}).get("nodes", {}) if record.status == "waiting" else {}
    if not waiting:
        if answers is not None:
            raise RunNotResumable(
                f"run {record.run_id!r} is not waiting for input (status {record.status}); "
                "resume it without --input")  # fmt: skip
        return {}
    if answers is None:
        node, info = next(iter(waiting.items()))
        raise RunNotResumable(
            f"run {record.run_id!r} is waiting for input at node {node!r}: "
            f"{info.get('question', '')!r}; resume it with --input TEXT (or input=...)")  # fmt: skip
    if isinstance(answers, str):
        if len(waiting) > 1:
            raise RunNotResumable(
                f"run {record.run_id!r} waits at several nodes ({', '.join(waiting)}); give "
                "one answer per node, e.g. input={'node': 'answer'}")  # fmt: skip
        return {next(iter(waiting)): answers}
    unknown = [n for n in answers if n not in waiting]
    if unknown:
        raise RunNotResumable(f"run {record.run_id!r} is not waiting at {unknown[0]!r}; it "
                              f"waits at {', '.join(waiting)}")  # fmt: skip
    return dict(answers)


def keep_model_overrides(store: RunWriter, run_id: str, record: RunRecord | None,
                         context: RunContext) -> None:  # fmt: skip
    """Record the run's ``--model`` / ``--base-url``, or, resuming without them, take
    the ones it recorded: a run keeps its models (see graphflow.models.recorded)."""
    from graphflow.models.recorded import recorded_overrides, with_overrides

    if context.model or context.base_url:
        store.set_models(run_id, with_overrides(record.models if record else None,
                                                context.model, context.base_url))  # fmt: skip
    elif record is not None and any(recorded_overrides(record.models)):
        context.model, context.base_url = recorded_overrides(record.models)
        context.models_recorded = True
