"""Adaptive quality with real aiortc peers: subscribers' REMB reaches the publisher, sound only.

A subscriber on a poor link says so in REMB; the SFU passes the lowest of its
subscribers' estimates (never below a floor) to the publisher, combined with
its own estimate of the publisher's uplink, so the publisher's encoder sends
less. A subscriber who chooses sound only gets no video packets until they
want it back, and then video starts again from a keyframe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from aiortc import VideoStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci
from av import VideoFrame
from support.media import SolidColorTrack, ToneTrack, color_close
from support.peers import seen_color
from support.running import RunningServer
from support.waiting import wait_until
from test_hearing_procedure import packets_from, still_arriving

from server.hearings import Hearing
from server.roles import ProceduralRole, grants_for
from server.sfu import aiortc_internals
from server.sfu.published import REMB_FLOOR_BPS, PublishedTrack
from signaling.client import HearingClient, SignalingRefused

pytestmark = pytest.mark.integration

HEARING = "adaptive-1"
JUDGE = (220, 40, 40)


class NoisyCamera(VideoStreamTrack):
    """A camera filming static noise: every bit of the encoder's budget is used."""

    def __init__(self) -> None:
        super().__init__()
        self._random = np.random.default_rng(6)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = self._random.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Peers:
    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.clients: list[HearingClient] = []

    async def join(
        self, participant_id: str, role: str, *, publish: bool, noisy: bool = False
    ) -> HearingClient:
        token = self.server.token(
            participant_id, hearing=HEARING, role=role, grants=grants_for(ProceduralRole(role))
        )
        client = HearingClient(self.server.url, token)
        self.clients.append(client)
        await client.connect()
        await client.join()
        if publish:
            camera = NoisyCamera() if noisy else SolidColorTrack(JUDGE)
            await client.publish(camera, ToneTrack(440))
        return client

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


@pytest.fixture
async def peers(tyndau: RunningServer) -> AsyncIterator[Peers]:
    await tyndau.ctx.hearings.save(
        Hearing(id=HEARING, case_number="7599-26-00-1/0101", title="Сапа", auto_admit=True)
    )
    opened = Peers(tyndau)
    try:
        yield opened
    finally:
        await opened.close()


def published_video(server: RunningServer, owner: str) -> PublishedTrack:
    tracks = server.ctx.sfu.hearing_tracks(HEARING)
    return next(t for t in tracks if t.owner_id == owner and t.kind == "video")


def rembs_received(publisher: HearingClient) -> list[int]:
    """Every REMB the publisher's video sender receives from the SFU (the list grows)."""
    assert publisher.publish_pc is not None
    sender = next(t.sender for t in publisher.publish_pc.getTransceivers() if t.kind == "video")
    seen: list[int] = []
    original = sender._handle_rtcp_packet

    async def handle(packet: object) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            seen.append(unpack_remb_fci(packet.fci)[0])
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]
    return seen


async def test_a_poor_subscriber_lowers_what_the_publisher_is_asked_to_send(
    peers: Peers,
) -> None:
    judge = await peers.join("judge", "judge", publish=True, noisy=True)
    lawyer = await peers.join("lawyer", "lawyer", publish=False)
    seen = rembs_received(judge)
    await wait_until(lambda: len(lawyer.active_tracks()) == 2, 20, "the lawyer subscribed")
    published = published_video(peers.server, "judge")
    # The SFU's own estimate of the publisher's (loopback, wide) uplink comes first.
    await wait_until(lambda: any(r > 2 * REMB_FLOOR_BPS for r in seen), 30, "the SFU's own REMB")

    # The lawyer's link is poor: its REMB (its own estimator off, so only ours) says 80 kbit/s.
    assert lawyer.subscribe_pc is not None
    video = next(t for t in lawyer.subscribe_pc.getTransceivers() if t.kind == "video")
    aiortc_internals.release_receive_state(video.receiver)
    downstream = published.downstreams["lawyer"]
    ssrc = downstream.sender._ssrc

    async def poor_link() -> None:
        while True:
            fci = pack_remb_fci(80_000, [ssrc])
            await video.receiver._send_rtcp(
                RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1234, media_ssrc=0, fci=fci)
            )
            await asyncio.sleep(0.5)

    sending = asyncio.create_task(poor_link())
    try:
        await wait_until(lambda: downstream.remb_bps == 80_000, 20, "the SFU to note the REMB")
        # The publisher is asked for the floor, not 80 kbit/s: the others need a picture too.
        await wait_until(lambda: REMB_FLOOR_BPS in seen, 20, "the lower REMB at the publisher")
        assert published.subscriber_limit() == REMB_FLOOR_BPS
        assert published.remb_sent == REMB_FLOOR_BPS
        assert peers.server.ctx.sfu.counters.rembs_sent > 0

        # Sound only: that subscriber's estimate no longer holds the publisher down.
        await lawyer.call("set_receive", {"video": False})
        assert published.subscriber_limit() is None
        count = len(seen)
        await wait_until(
            lambda: any(r > REMB_FLOOR_BPS for r in seen[count:]), 20, "the estimate back up"
        )
    finally:
        sending.cancel()


async def test_sound_only_stops_video_to_that_subscriber_and_resumes_from_a_keyframe(
    peers: Peers,
) -> None:
    await peers.join("judge", "judge", publish=True)
    lawyer = await peers.join("lawyer", "lawyer", publish=False)
    prosecutor = await peers.join("prosecutor", "prosecutor", publish=False)
    for client in (lawyer, prosecutor):
        await wait_until(lambda c=client: len(c.active_tracks()) == 2, 20, "subscribed")
    assert await still_arriving(lawyer, "judge", "video")

    assert await lawyer.call("set_receive", {"video": False}) == {"ok": True, "video": False}
    await asyncio.sleep(0.5)  # packets already on their way
    assert not await still_arriving(lawyer, "judge", "video")
    assert await still_arriving(lawyer, "judge", "audio")  # the sound goes on
    assert await still_arriving(prosecutor, "judge", "video")  # and others keep their picture

    counters = peers.server.ctx.sfu.counters
    plis = counters.plis_sent
    before = await packets_from(lawyer, "judge", "video")
    await lawyer.call("set_receive", {"video": True})
    await wait_until(lambda: counters.plis_sent > plis, 20, "a keyframe asked for")
    downstream = published_video(peers.server, "judge").downstreams["lawyer"]
    for _ in range(60):  # the forwarder waits for the keyframe before the first packet
        if await packets_from(lawyer, "judge", "video") > before:
            break
        await asyncio.sleep(0.5)
    assert await packets_from(lawyer, "judge", "video") > before
    assert not downstream.paused and not downstream._resync  # restarted at a keyframe
    remote = next(r for r in lawyer.active_tracks() if r.kind == "video")
    assert color_close(await seen_color(remote, JUDGE, timeout=20), JUDGE)


async def test_sound_only_holds_for_video_published_later(peers: Peers) -> None:
    lawyer = await peers.join("lawyer", "lawyer", publish=False)
    await lawyer.call("set_receive", {"video": False})
    await peers.join("judge", "judge", publish=True)
    await wait_until(lambda: len(lawyer.active_tracks()) == 2, 20, "subscribed")
    await asyncio.sleep(1.0)
    assert await packets_from(lawyer, "judge", "video") == 0
    assert await still_arriving(lawyer, "judge", "audio")


async def test_set_receive_is_validated(peers: Peers) -> None:
    lawyer = await peers.join("lawyer", "lawyer", publish=False)
    for payload in ({}, {"video": "no"}, {"video": 0}, {"video": False, "audio": False}):
        with pytest.raises(SignalingRefused) as info:
            await lawyer.call("set_receive", payload)
        assert info.value.code == "invalid_payload"
