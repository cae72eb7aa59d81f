"""Checks before a run is continued, the models it continues with, and the messages a
run starts with.

**One answer per question.** Every question a run waits on has an id, ``NODE@STEP`` (the
human checkpoint and the step that asked it: a checkpoint asked again in a loop asks a new
question). An answer names the question it is for — ``question=`` in the API, the key of
an answers dict, ``--question`` in the CLI (which otherwise takes the question waiting when
the command starts) — and is applied only when that question is the one waiting, under the
run's lease. Two answers to one question: the first is recorded; the other is refused with
:class:`~graphflow.errors.StaleAnswer` (CLI exit code 5), never applied to the next
question.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from graphflow.errors import (
    GraphflowError,
    IncompatibleGraph,
    InvalidUpdate,
    RunInUse,
    RunNotResumable,
    StaleAnswer,
)
from graphflow.messages import Message
from graphflow.store.lease import check_lease
from graphflow.store.protocol import RunRecord, RunStatus, RunWriter

if TYPE_CHECKING:
    from graphflow.context import RunContext
    from graphflow.graph import CompiledGraph

__all__ = [
    "RESUMABLE",
    "answering",
    "answers_for",
    "check_answers",
    "check_person",
    "check_resumable",
    "check_text",
    "input_messages",
    "keep_model_overrides",
    "question_id",
    "question_ids",
    "stale_lease",
    "take_lease",
]  # fmt: skip

#: Statuses a run can be resumed from.
RESUMABLE: tuple[RunStatus, ...] = ("ready", "waiting", "running", "failed")


def question_id(node: str, step: int) -> str:
    """The id of the question node ``node`` asked at step ``step``: ``NODE@STEP``."""
    return f"{node}@{step}"


def question_ids(record: RunRecord) -> dict[str, str]:
    """The questions the run waits on, ``{node: question id}`` (empty unless waiting)."""
    waiting = record.waiting or {}
    if record.status != "waiting" or not waiting.get("nodes"):
        return {}
    step = waiting.get("step", record.last_step + 1)
    return {node: question_id(node, step) for node in waiting["nodes"]}


def _expected(answers: str | Mapping[str, str] | None, question: str | None) -> list[str]:
    expected = [question] if question else []
    if isinstance(answers, Mapping):
        expected += [key for key in answers if "@" in key]
    return expected


def check_answers(record: RunRecord, answers: str | Mapping[str, str] | None,
                  question: str | None) -> None:  # fmt: skip
    """Refuse answers for questions that are not waiting (read under the lease).

    Raises:
        StaleAnswer: a question named by ``question`` or by a key ``NODE@STEP`` of
            ``answers`` is not one the run waits on now (it was answered already), or
            answers were given to a run that waits on no question.
    """
    waiting = question_ids(record)
    if answers is None:
        return
    if not waiting and record.status == "running" and record.lease_owner:
        try:  # another process is advancing the run (maybe with an answer): say who
            check_lease(record.run_id, record.lease_owner, record.lease_until, "", time.time())
        except RunInUse as exc:  # maybe answering: name the question that process answers
            asked = (record.waiting or {}).get("answering") or []
            raise stale_lease(exc, answers, question or ", ".join(asked) or "?") from None
    now = (f"it now waits on {', '.join(waiting.values())}" if waiting else
           f"it is not waiting for an answer now (status {record.status})")  # fmt: skip
    unasked = [] if waiting or record.status not in RESUMABLE else ["?"]  # ended: see below
    for wanted in _expected(answers, question) or unasked:
        if wanted not in waiting.values():
            what = (f"question {wanted} was answered already (by another process) and is no "
                    "longer waiting" if wanted != "?" else "the question this answer was for "
                    "was answered already, or it never asked one")  # fmt: skip
            raise StaleAnswer(
                f"run {record.run_id!r}: {what}; {now}. This answer was not recorded: look at "
                f"the run (`graphflow show {record.run_id}`) and answer the question that "
                "waits now, if you still want to", question=None if wanted == "?" else wanted)


def check_person(record: RunRecord, answers: str | Mapping[str, str] | None,
                 question: str | None, person: str | None) -> None:
    """Refuse answers given by ``person`` (``graphflow resume --as``, ``resume(person=)``)
    to a checkpoint that names another person (its ``person:`` option). The checkpoints
    answered are the keys of ``answers`` (``NODE`` or ``NODE@STEP``), else the node of
    ``question``, else every checkpoint waiting. Nothing is checked without a ``person``
    or ``answers``, or at a checkpoint that names nobody.

    Raises:
        RunNotResumable: naming the checkpoint, who answers it and how to proceed.
    """
    if person is None or answers is None:
        return
    waiting = (record.waiting or {}).get("nodes", {}) if record.status == "waiting" else {}
    if isinstance(answers, Mapping):
        nodes = [key.partition("@")[0] for key in answers]
    else:
        nodes = [question.partition("@")[0]] if question else list(waiting)
    for node in nodes:
        owner = ((waiting.get(node) or {}).get("payload") or {}).get("person")
        if owner is not None and owner != person:
            raise RunNotResumable(
                f"run {record.run_id!r}: checkpoint {node!r} is answered by {owner}, not "
                f"{person}; the answer was not recorded. Ask {owner} to answer it "
                f"(`graphflow resume {record.run_id} --answer {node}=... --as {owner}`)")


def answering(record: RunRecord, inputs: Mapping[str, str]) -> dict[str, list[str]] | None:
    """What a resumed run records while it applies answers: ``{"answering": [ids]}``, so
    that a process racing it can name the question it would have answered."""
    ids = [qid for node, qid in question_ids(record).items() if node in inputs]
    return {"answering": ids} if ids else None


def stale_lease(exc: RunInUse, answers: str | Mapping[str, str] | None,
                question: str | None) -> RunInUse:
    """``exc`` (another process holds the run) naming the question an answer was for."""
    expected = [q for q in _expected(answers, question) if q != "?"]
    if answers is None or (question is None and not expected):
        return exc
    which = f"to question {', '.join(expected)} " if expected else ""
    return RunInUse(f"{exc}; the answer {which}was not recorded (another process is "
                    "answering it)")


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


def check_text(text: str | None, what: str) -> None:
    """Refuse text no database can hold: a lone surrogate (what bytes that are not UTF-8
    become when read as text).

    Raises:
        InvalidUpdate: naming ``what`` and the position.
    """
    if text is None:
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidUpdate(f"{what} is not valid text: it holds {text[exc.start]!r} at "
                            f"position {exc.start}, a lone surrogate (bytes that are not UTF-8); "
                            "pass UTF-8 text") from None


def input_messages(value: str | Message | list[Message] | None) -> list[Message]:
    """The messages a run starts with (text becomes a user message).

    Raises:
        InvalidUpdate: a message's text is not valid Unicode text.
    """
    if value is None:
        return []
    if isinstance(value, str):
        messages = [Message(role="user", name="user", content=value)]
    elif isinstance(value, Message):
        messages = [value]
    else:
        messages = list(value)
    for m in messages:
        check_text(m.content, "the run's input")
    return messages


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
    for answer in [answers] if isinstance(answers, str) else answers.values():
        check_text(answer, "the answer")
    if isinstance(answers, str):
        if len(waiting) > 1:
            raise RunNotResumable(
                f"run {record.run_id!r} waits at several nodes ({', '.join(waiting)}); give "
                "one answer per node, e.g. input={'node': 'answer'}")  # fmt: skip
        return {next(iter(waiting)): answers}
    by_node = {key.partition("@")[0]: answer for key, answer in answers.items()}
    unknown = [n for n in by_node if n not in waiting]
    if unknown:
        raise RunNotResumable(f"run {record.run_id!r} is not waiting at {unknown[0]!r}; it "
                              f"waits at {', '.join(waiting)}")  # fmt: skip
    return by_node


def take_lease(store: RunWriter, run_id: str, graph: CompiledGraph,
               answers: str | Mapping[str, str] | None, question: str | None,
               allow_changed_graph: bool) -> tuple[RunRecord, dict[str, str]]:  # fmt: skip
    """Take the run's lease and check, on the run as read under it, that it can continue
    with these answers; returns the run and the answers by node. The lease is released
    again when a check fails.

    Raises:
        RunInUse (naming the question answered, if any), StaleAnswer, RunNotResumable,
        IncompatibleGraph.
    """
    try:
        record = store.acquire_lease(run_id)  # the run, read once, under its lease
    except RunInUse as exc:
        raise stale_lease(exc, answers, question) from None
    try:
        check_answers(record, answers, question)  # compare-and-set: under the lease
        check_resumable(record, graph, allow_changed_graph)
        return record, answers_for(record, answers)
    except GraphflowError:
        store.release_lease(run_id)
        raise


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
