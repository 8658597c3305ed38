"""Loss on either leg is repaired: NACKs answered by retransmission, pictures recover."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCRtpReceiver
from aiortc.rtp import RtpPacket
from support.media import SolidColorTrack, color_close
from support.peers import join_and_publish, seen_color
from support.waiting import wait_until

from signaling.client import HearingClient, RemoteTrack

pytestmark = pytest.mark.integration


def drop_every(receiver: RTCRtpReceiver, nth: int, payload_type: int) -> list[int]:
    """Make the subscriber lose every ``nth`` media packet (retransmissions still arrive)."""
    original = receiver._handle_rtp_packet
    dropped: list[int] = []
    count = 0

    async def lossy(packet: RtpPacket, arrival_time_ms: int) -> None:
        nonlocal count
        if packet.payload_type == payload_type:
            count += 1
            if count % nth == 0:
                dropped.append(packet.sequence_number)
                return
        await original(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = lossy  # type: ignore[method-assign]
    return dropped


async def test_subscriber_loss_is_retransmitted(tyndau) -> None:
    judge = HearingClient(tyndau.url, tyndau.token("judge", role="judge"))

    def on_remote(remote: RemoteTrack) -> None:
        if remote.kind != "video":
            return
        assert judge.subscribe_pc is not None
        transceiver = next(t for t in judge.subscribe_pc.getTransceivers() if t.mid == remote.mid)
        lost = drop_every(transceiver.receiver, 7, transceiver._codecs[0].payloadType)
        dropped_lists.append(lost)

    dropped_lists: list[list[int]] = []
    judge.on_remote_track = on_remote
    await judge.connect()
    await judge.join()
    lawyer = await join_and_publish(tyndau.url, tyndau.token("lawyer"), (30, 180, 220))
    try:
        await wait_until(lambda: dropped_lists and len(dropped_lists[0]) > 10, 20, "losses")
        counters = tyndau.ctx.sfu.counters
        await wait_until(lambda: counters.retransmissions > 5, 10, "retransmissions")
        assert counters.nacks_received >= counters.retransmissions
        (video,) = [r for r in judge.active_tracks() if r.kind == "video"]
        assert color_close(await seen_color(video, (30, 180, 220)), (30, 180, 220))
    finally:
        await asyncio.gather(judge.close(), lawyer.close())


async def test_publisher_loss_is_nacked_by_the_sfu(tyndau) -> None:
    judge = await join_and_publish(tyndau.url, tyndau.token("judge", role="judge"))
    lawyer = HearingClient(tyndau.url, tyndau.token("lawyer"))
    await lawyer.connect()
    await lawyer.join()
    await lawyer.publish(SolidColorTrack((230, 120, 20)))
    assert lawyer.publish_pc is not None
    transport = lawyer.publish_pc.getTransceivers()[0].sender.transport
    original_send = transport._send_rtp
    sent = 0

    async def lossy_send(data: bytes) -> None:
        nonlocal sent
        is_rtcp = 192 <= data[1] <= 223
        if not is_rtcp:
            sent += 1
            if sent % 9 == 0:
                return
        await original_send(data)

    transport._send_rtp = lossy_send  # type: ignore[method-assign]
    try:
        counters = tyndau.ctx.sfu.counters
        await wait_until(lambda: counters.nacks_sent > 3, 20, "the SFU to NACK lost packets")
        await wait_until(lambda: len(judge.active_tracks()) == 1, 10, "the judge to get video")
        (video,) = judge.active_tracks()
        assert color_close(await seen_color(video, (230, 120, 20)), (230, 120, 20))
    finally:
        await asyncio.gather(judge.close(), lawyer.close())
