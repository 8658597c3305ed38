"""Separate media spaces of one hearing: what is said in a consultation stays there."""

from __future__ import annotations

import asyncio

import pytest
from support.media import color_close
from support.peers import join_and_publish, seen_color
from support.waiting import wait_until

pytestmark = pytest.mark.integration

JUDGE, LAWYER, DETAINEE = (220, 40, 40), (50, 70, 220), (240, 200, 30)


def owners(client) -> set[str]:
    return {r.participant_id for r in client.active_tracks()}


async def test_a_consultation_is_not_seen_or_heard_in_the_hearing_and_back(tyndau) -> None:
    judge = await join_and_publish(tyndau.url, tyndau.token("judge", role="judge"), JUDGE, 440)
    lawyer = await join_and_publish(tyndau.url, tyndau.token("lawyer"), LAWYER, 660)
    detainee = await join_and_publish(
        tyndau.url, tyndau.token("detainee", role="detainee"), DETAINEE, 880
    )
    clients = (judge, lawyer, detainee)
    sfu = tyndau.ctx.sfu
    hearing = sfu.room("hearing-a")
    try:
        await wait_until(
            lambda: all(len(c.active_tracks()) == 4 for c in clients), 20, "everyone to see all"
        )
        consultation = sfu.room("hearing-a", "consultation-1")
        await hearing.move_session("lawyer", consultation)
        await hearing.move_session("detainee", consultation)
        await wait_until(
            lambda: (
                owners(judge) == set()
                and owners(lawyer) == {"detainee"}
                and owners(detainee) == {"lawyer"}
            ),
            15,
            "the consultation to be separated from the hearing",
        )
        # Nothing of the consultation reaches the hearing, nor the other way round.
        assert set(hearing.sessions) == {"judge"}
        assert set(consultation.sessions) == {"lawyer", "detainee"}
        for track in hearing.tracks.values():
            assert set(track.downstreams) <= {"judge"}
        for track in consultation.tracks.values():
            assert set(track.downstreams) <= {"lawyer", "detainee"}
        (video,) = [r for r in lawyer.active_tracks() if r.kind == "video"]
        assert color_close(await seen_color(video, DETAINEE, 5), DETAINEE)

        # The judge recalls them: everyone sees everyone again.
        await consultation.move_session("lawyer", hearing)
        await consultation.move_session("detainee", hearing)
        await wait_until(
            lambda: (
                owners(judge) == {"lawyer", "detainee"} and owners(lawyer) == {"judge", "detainee"}
            ),
            15,
            "the consultation to rejoin the hearing",
        )
        for remote in judge.active_tracks():
            if remote.kind == "video" and remote.participant_id == "lawyer":
                assert color_close(await seen_color(remote, LAWYER, 5), LAWYER)
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    await wait_until(lambda: sfu.rooms == {}, 5, "every room to be gone once all left")
