"""The lease keeper of a run on a shared store: a timer chain of the running loop that
renews the run's lease every ``every`` seconds until stopped, whatever a renewal raises."""

from __future__ import annotations

import asyncio

from graphflow.scheduler.entry import _keep_lease


class Renewals:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[str] = []
        self.fail_first = fail_first

    def renew_lease(self, run_id: str) -> None:
        self.calls.append(run_id)
        if len(self.calls) <= self.fail_first:
            raise ConnectionError("database went away")


def test_the_keeper_renews_until_stopped_and_outlives_a_failed_renewal() -> None:
    store = Renewals(fail_first=2)

    async def scenario() -> tuple[int, int]:
        stop = _keep_lease(store, "r1", 0.01)  # type: ignore[arg-type]
        await asyncio.sleep(0.2)
        stop()
        kept = len(store.calls)
        await asyncio.sleep(0.1)
        return kept, len(store.calls)

    kept, later = asyncio.run(scenario())
    assert kept >= 5  # about 20; the two failures did not end the chain
    assert later == kept  # stopped: no renewal after
    assert set(store.calls) == {"r1"}


def test_a_stopped_keeper_leaves_nothing_scheduled_on_the_loop() -> None:
    store = Renewals()

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        stop = _keep_lease(store, "r1", 0.01)  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        stop()
        return len([h for h in loop._scheduled if not h.cancelled()])  # type: ignore[attr-defined]

    assert asyncio.run(scenario()) == 0
