"""Media through the SFU between real aiortc peers over loopback."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCRtpSender
from support.media import SolidColorTrack, ToneTrack, color_close
from support.peers import heard_frequency, join_and_publish, seen_color, track_ends
from support.waiting import wait_until

from signaling.client import HearingClient

pytestmark = pytest.mark.integration

PEOPLE = {
    "judge": ((220, 40, 40), 440.0),
    "prosecutor": ((40, 200, 60), 660.0),
    "lawyer": ((50, 70, 220), 990.0),
}


def h264_only() -> list:
    return [
        c
        for c in RTCRtpSender.getCapabilities("video").codecs
        if c.mimeType == "video/H264" and c.parameters.get("profile-level-id") == "42e01f"
    ]


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_each_participant_sees_and_hears_the_two_others(tyndau, codec: str) -> None:
    clients = {}
    for person, (rgb, tone) in PEOPLE.items():
        client = HearingClient(tyndau.url, tyndau.token(person, role=person))
        if codec == "H264":
            client.codec_preferences["video"] = h264_only()
        await client.connect()
        await client.join()
        await client.publish(SolidColorTrack(rgb), ToneTrack(tone))
        clients[person] = client
    try:
        await wait_until(
            lambda: all(len(c.active_tracks()) == 4 for c in clients.values()),
            20,
            "every participant to receive the two others' audio and video",
        )
        for person, client in clients.items():
            owners = {r.participant_id for r in client.active_tracks()}
            assert owners == set(PEOPLE) - {person}, f"{person} receives {owners}"
            for remote in client.active_tracks():
                rgb, tone = PEOPLE[remote.participant_id]
                if remote.kind == "video":
                    seen = await seen_color(remote, rgb)
                    assert color_close(seen, rgb), (
                        f"{person} sees {remote.participant_id} as {seen}, expected {rgb}"
                    )
                else:
                    heard = await heard_frequency(remote)
                    assert abs(heard - tone) < 5, (
                        f"{person} hears {remote.participant_id} at {heard:.0f} Hz, expected {tone}"
                    )
        forwarded = tyndau.ctx.sfu.counters.packets_forwarded
        assert forwarded > 0
        codecs = {t.codec.mimeType for t in tyndau.ctx.sfu.room("hearing-a").tracks.values()}
        assert codecs == {"audio/opus", f"video/{codec}"}
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()))


async def test_late_joiner_and_leaver(tyndau) -> None:
    judge = await join_and_publish(
        tyndau.url, tyndau.token("judge", role="judge"), (220, 40, 40), 440
    )
    lawyer = await join_and_publish(tyndau.url, tyndau.token("lawyer"), (50, 70, 220), 990)
    clients = [judge, lawyer]
    try:
        await wait_until(lambda: len(judge.active_tracks()) == 2, 15, "judge to receive the lawyer")
        # A prosecutor joins mid-call: gets both pictures quickly (keyframe on request).
        plis_before = tyndau.ctx.sfu.counters.plis_sent
        prosecutor = await join_and_publish(
            tyndau.url, tyndau.token("prosecutor", role="prosecutor"), (240, 200, 30), 550
        )
        clients.append(prosecutor)
        await wait_until(
            lambda: len(prosecutor.active_tracks()) == 4, 15, "prosecutor to receive both"
        )
        for remote in prosecutor.active_tracks():
            if remote.kind == "video":
                rgb = PEOPLE[remote.participant_id][0]
                assert color_close(await seen_color(remote, rgb, timeout=5), rgb)
        assert tyndau.ctx.sfu.counters.plis_sent > plis_before
        await wait_until(lambda: len(judge.active_tracks()) == 4, 15, "judge to receive prosecutor")
        assert "prosecutor" in judge.participants

        # The lawyer leaves: their tracks end for everyone, and they leave the list.
        lawyer_tracks = [r for r in judge.active_tracks() if r.participant_id == "lawyer"]
        await lawyer.leave()
        for remote in lawyer_tracks:
            assert await track_ends(remote), f"the lawyer's {remote.kind} did not end at the judge"
        await wait_until(
            lambda: (
                {r.participant_id for r in judge.active_tracks()} == {"prosecutor"}
                and {r.participant_id for r in prosecutor.active_tracks()} == {"judge"}
            ),
            10,
            "the lawyer's tracks to be marked inactive after renegotiation",
        )
        assert "lawyer" not in judge.participants
        assert "lawyer" not in prosecutor.participants
        room = tyndau.ctx.sfu.room("hearing-a")
        assert {t.owner_id for t in room.tracks.values()} == {"judge", "prosecutor"}
        # Media still flows between those who stayed.
        for remote in judge.active_tracks():
            if remote.kind == "video":
                assert color_close(await seen_color(remote, (240, 200, 30), 5), (240, 200, 30))
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def test_rejoining_replaces_the_old_connection(tyndau) -> None:
    judge = await join_and_publish(tyndau.url, tyndau.token("judge", role="judge"), (220, 40, 40))
    first = await join_and_publish(tyndau.url, tyndau.token("lawyer"), (50, 70, 220))
    second = None
    try:
        await wait_until(lambda: len(judge.active_tracks()) == 1, 15, "the judge to see the lawyer")
        # The lawyer's network changed: a new connection joins as the same person.
        second = await join_and_publish(tyndau.url, tyndau.token("lawyer"), (240, 200, 30))
        await wait_until(lambda: not first.sio.connected, 10, "the old connection to be closed")
        assert any(e["code"] == "replaced" for e in first.errors)
        room = tyndau.ctx.sfu.room("hearing-a")
        assert set(room.sessions) == {"judge", "lawyer"}
        assert list(tyndau.ctx.presence.hearing("hearing-a").participants) == ["judge", "lawyer"]
        await wait_until(
            lambda: [r.participant_id for r in judge.active_tracks()] == ["lawyer"],
            15,
            "the judge to receive only the new connection's video",
        )
        (video,) = judge.active_tracks()
        assert color_close(await seen_color(video, (240, 200, 30)), (240, 200, 30))
        assert "lawyer" in judge.participants
    finally:
        await asyncio.gather(*(c.close() for c in (judge, first, second) if c is not None))
