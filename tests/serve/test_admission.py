"""Admission: slots and a bounded queue, shared fairly between keys where keys are told apart."""

from __future__ import annotations

import asyncio

import pytest

from serve.http.admission import Admission, QueueFullError


async def settled() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_a_key_at_its_share_waits_while_another_key_takes_the_free_slot():
    async def scenario() -> None:
        admission = Admission(2, 8, max_per_key=1)
        first = await admission.acquire("noisy")
        second = asyncio.ensure_future(admission.acquire("noisy"))
        await settled()
        assert not second.done() and admission.running == 1  # a free slot, kept for others
        other = await asyncio.wait_for(admission.acquire("quiet"), 1)
        assert admission.running == 2
        first.release()
        await settled()
        assert second.done() and admission.running == 2
        other.release()
        second.result().release()
        assert admission.running == 0 and admission.waiting == 0

    asyncio.run(scenario())


def test_a_freed_slot_goes_to_the_key_holding_the_fewest():
    async def scenario() -> None:
        admission = Admission(2, 8, max_per_key=2)
        held = [await admission.acquire("noisy"), await admission.acquire("noisy")]
        queued = asyncio.ensure_future(admission.acquire("noisy"))
        await settled()
        later = asyncio.ensure_future(admission.acquire("quiet"))  # came second
        await settled()
        held[0].release()
        await settled()
        assert later.done() and not queued.done()
        later.result().release()
        await settled()
        assert queued.done()

    asyncio.run(scenario())


def test_one_key_may_take_half_the_queue_and_the_rest_stays_open():
    async def scenario() -> None:
        admission = Admission(1, 4, max_per_key=1)
        await admission.acquire("noisy")
        waiting = [asyncio.ensure_future(admission.acquire("noisy")) for _ in range(2)]
        await settled()
        with pytest.raises(QueueFullError) as refused:
            await admission.acquire("noisy")
        assert refused.value.key_share
        quiet = asyncio.ensure_future(admission.acquire("quiet"))  # still finds a place
        await settled()
        assert admission.waiting == 3 and not quiet.done()
        for task in (*waiting, quiet):
            task.cancel()
        await settled()
        assert admission.waiting == 0

    asyncio.run(scenario())


def test_without_keys_it_is_first_come_first_served_and_a_full_queue_refuses():
    async def scenario() -> None:
        admission = Admission(1, 1)
        slot = await admission.acquire()
        queued = asyncio.ensure_future(admission.acquire())
        await settled()
        with pytest.raises(QueueFullError) as refused:
            await admission.acquire()
        assert not refused.value.key_share
        slot.release()
        slot.release()  # a second release gives nothing back twice
        await settled()
        assert queued.done() and admission.running == 1

    asyncio.run(scenario())


def test_a_waiter_granted_as_it_gives_up_passes_its_slot_on():
    async def scenario() -> None:
        admission = Admission(1, 2)
        slot = await admission.acquire()
        leaving = asyncio.ensure_future(admission.acquire())
        staying = asyncio.ensure_future(admission.acquire())
        await settled()
        slot.release()  # granted to ``leaving``...
        leaving.cancel()  # ...which gives up before it runs again
        await settled()
        assert leaving.cancelled() and staying.done() and admission.running == 1

    asyncio.run(scenario())
