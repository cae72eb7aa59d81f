"""Claims on questions: one answer per question through the queue.

An answer enqueued for a worker is applied later, by the worker, under the run's lease.
Without more, two people answering one question at once would both see their answer
enqueued, and the one applied second would be dropped by the worker, unseen. So the
process that enqueues an answer first *claims* the question in the run store, under the
run's lease: it records a side effect of the step that answers the question (the step a
worker commits with the answer, which deletes the claim with it). A second answer to a
claimed question is refused at once with :class:`~graphflow.errors.StaleAnswer` (CLI
exit code 5), as when it comes after the first was applied.

A claim whose message could not be enqueued, or whose answer a worker refused, is
withdrawn. A claim whose message was lost with the broker can be overridden by
answering without the queue (``graphflow resume RUN --input …`` without ``--broker``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from graphflow.errors import StaleAnswer
from graphflow.store.lease import HOST

if TYPE_CHECKING:
    from graphflow.store import RunStore

__all__ = ["CLAIM_KEY", "claim", "withdraw"]

#: The key of the side effect that claims a question (``get_effect``/``put_effect``).
CLAIM_KEY = "graphflow.answer-enqueued"


def _place(question_id: str) -> tuple[int, str]:
    node, _, step = question_id.rpartition("@")
    return int(step), node


def claim(store: RunStore, run_id: str, answers: str | Mapping[str, str],
          question: str | None) -> list[str]:  # fmt: skip
    """Claim the questions ``answers`` answers, under the run's lease; their ids.

    Raises:
        StaleAnswer: a question answered was answered already, or has an answer on its
            way to a worker (claimed by another process).
        RunInUse: another live process holds the run now.
        RunNotResumable: the answers do not fit what the run waits for.
    """
    from graphflow.resuming import answers_for, check_answers, question_ids

    record = store.acquire_lease(run_id)
    try:
        check_answers(record, answers, question)
        asked = question_ids(record)
        ids = [asked[node] for node in answers_for(record, answers)]
        for qid in ids:
            found, holder = store.get_effect(run_id, *_place(qid), CLAIM_KEY)
            if found and isinstance(holder, dict):
                when = time.strftime("%H:%M:%S", time.localtime(float(holder.get("at", 0))))
                raise StaleAnswer(
                    f"run {run_id!r}: question {qid} has an answer on its way to a worker "
                    f"already (enqueued by {holder.get('by', '?')} at {when}); this answer "
                    f"was not recorded. Look at the run (`graphflow show {run_id}`) once "
                    "the worker applied it; if that answer never arrives (its message lost "
                    f"with the broker), answer here: `graphflow resume {run_id} --input "
                    "TEXT` without --broker", question=qid)  # fmt: skip
        for qid in ids:
            store.put_effect(run_id, *_place(qid), CLAIM_KEY,
                             {"by": f"{HOST}:{os.getpid()}", "at": time.time()})  # fmt: skip
    finally:
        store.release_lease(run_id)
    return ids


def withdraw(store: RunStore, run_id: str, question_ids: Iterable[str]) -> None:
    """Withdraw the claims on ``question_ids`` (their answer will not come)."""
    for qid in question_ids:
        store.put_effect(run_id, *_place(qid), CLAIM_KEY, None)
