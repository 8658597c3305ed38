"""Keyframe requests to a publisher are throttled but never lost."""

from __future__ import annotations

import asyncio

from server.sfu.keyframes import KeyframeRequester


async def test_requests_are_folded_within_the_interval_and_the_last_one_still_goes_out() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()

    async def send() -> None:
        sent.append(loop.time())

    requester = KeyframeRequester(send, interval=0.3)
    requester.request()
    await asyncio.sleep(0)
    assert len(sent) == 1  # the first request goes out at once
    for _ in range(10):
        requester.request()  # a burst of subscribers joining
    await asyncio.sleep(0.1)
    assert len(sent) == 1
    await asyncio.sleep(0.35)
    assert len(sent) == 2  # the burst became one deferred request
    assert sent[1] - sent[0] >= 0.29
    assert requester.folded == 10
    requester.close()


async def test_close_cancels_a_pending_request() -> None:
    sent: list[int] = []

    async def send() -> None:
        sent.append(1)

    requester = KeyframeRequester(send, interval=0.2)
    requester.request()
    requester.request()
    requester.close()
    await asyncio.sleep(0.3)
    assert sent == [1]
