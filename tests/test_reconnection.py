"""A participant's network is cut mid-hearing: they come back where they were, with media.

Real aiortc peers; the cut is abrupt (tests/support/network_cut.py): the
server learns of it only from the broken connection. The court sees the
participant *reconnecting*, then back; the protocol says when they dropped
and when they came back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from support.media import color_close
from support.network_cut import cut_network
from support.peers import join_and_publish, seen_color
from support.running import RunningServer
from support.waiting import wait_until

from server.app import SIGNALING
from server.hearings import Hearing
from server.roles import ProceduralRole, grants_for
from signaling.client import HearingClient, RemoteTrack

pytestmark = pytest.mark.integration

HEARING = "sanction-reconnect"
JUDGE, LAWYER, DETAINEE, PROSECUTOR = (220, 40, 40), (50, 70, 220), (240, 200, 30), (40, 180, 60)


class Court:
    """The clients a test opened, all closed at the end."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.clients: list[HearingClient] = []

    def token(self, participant_id: str, role: str) -> str:
        return self.server.token(
            participant_id, hearing=HEARING, role=role, grants=grants_for(ProceduralRole(role))
        )

    async def join(self, participant_id: str, role: str, rgb: tuple[int, ...]) -> HearingClient:
        client = await join_and_publish(self.server.url, self.token(participant_id, role), rgb)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        # A cut client's transports are already gone: its close may fail.
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


@pytest.fixture
async def hearing(tyndau: RunningServer) -> AsyncIterator[Court]:
    await tyndau.ctx.hearings.save(
        Hearing(
            id=HEARING,
            case_number="7599-26-00-1/0099",
            title="Санкция",
            kind="sanction_session",
            is_open=False,
        )
    )
    opened = Court(tyndau)
    try:
        yield opened
    finally:
        await opened.close()


def video_of(client: HearingClient, participant_id: str) -> RemoteTrack | None:
    for remote in client.active_tracks():
        if remote.participant_id == participant_id and remote.kind == "video":
            return remote
    return None


async def sees(client: HearingClient, participant_id: str, rgb: tuple[int, int, int]) -> bool:
    """Whether ``client`` decodes ``participant_id``'s colour (waiting for the track first)."""
    await wait_until(lambda: video_of(client, participant_id) is not None, 30, "their video")
    remote = video_of(client, participant_id)
    assert remote is not None
    return color_close(await seen_color(remote, rgb, timeout=30), rgb)


def protocol_of(client: HearingClient, kind: str, who: str) -> list[dict]:
    return [e for e in client.protocol if e["kind"] == kind and e["actor"]["id"] == who]


async def test_a_cut_participant_comes_back_to_the_same_place_locks_and_media(
    hearing: Court,
) -> None:
    judge = await hearing.join("judge", "judge", JUDGE)
    lawyer = await hearing.join("lawyer", "lawyer", LAWYER)
    detainee = await hearing.join("detainee", "detainee", DETAINEE)
    await wait_until(lambda: len(judge.participants) == 2, 20, "the waiting room")
    await judge.call("set_state", {"act": "open"})
    await judge.call("set_state", {"act": "start"})
    for who in ("lawyer", "detainee"):
        await judge.call("admit", {"participant_id": who})
    await judge.call("mute", {"participant_id": "detainee", "kind": "audio", "locked": True})
    assert await sees(judge, "detainee", DETAINEE)
    await lawyer.call("start_consultation", {"participant_id": "detainee"})
    await wait_until(lambda: detainee.me["place"] == "consultation", 20, "the consultation")

    cut_network(detainee)

    await wait_until(
        lambda: judge.participants["detainee"]["reconnecting"], 20, "the court sees reconnecting"
    )
    assert judge.participants["detainee"]["connected"] is False
    # A consultation ends when a member drops (docs/procedure.md): the lawyer is back.
    await wait_until(lambda: lawyer.me["place"] == "hearing", 20, "the lawyer back")
    # Meanwhile the hearing goes on: the prosecutor comes in, the lawyer leaves.
    prosecutor = await hearing.join("prosecutor", "prosecutor", PROSECUTOR)
    await judge.call("admit", {"participant_id": "prosecutor"})
    await lawyer.leave()
    await wait_until(lambda: "lawyer" not in judge.participants, 20, "the lawyer gone")

    # The detainee's client reconnects with the same token.
    back = await hearing.join("detainee", "detainee", DETAINEE)
    assert back.me["place"] == "hearing"  # the consultation is over; not the waiting room
    assert back.me["mute_locked"] == {"audio": True, "video": False}
    assert set(back.participants) == {"judge", "prosecutor"}  # resynchronised
    await wait_until(
        lambda: (
            judge.participants["detainee"]["connected"]
            and not judge.participants["detainee"]["reconnecting"]
        ),
        20,
        "the court sees them back",
    )
    assert await sees(judge, "detainee", DETAINEE)
    assert await sees(back, "judge", JUDGE)
    assert await sees(prosecutor, "detainee", DETAINEE)
    # The lock holds across the rejoin: the server still holds their audio back.
    conn = hearing.server.app[SIGNALING].connection_of(HEARING, "detainee")
    assert conn is not None and conn.media is not None and "audio" in conn.media.suppressed

    await wait_until(lambda: protocol_of(judge, "joined", "detainee")[-1:] != [], 20, "joined")
    left = protocol_of(judge, "left", "detainee")
    assert [e["details"] for e in left] == [{"reason": "connection_lost"}]
    rejoined = protocol_of(judge, "joined", "detainee")[-1]
    assert rejoined["details"] == {"place": "hearing", "rejoined": True}


async def test_a_participant_not_back_within_the_grace_period_shows_disconnected(
    hearing: Court,
) -> None:
    hearing.server.app[SIGNALING].grace.seconds = 0.5
    judge = await hearing.join("judge", "judge", JUDGE)
    lawyer = await hearing.join("lawyer", "lawyer", LAWYER)
    await wait_until(lambda: "lawyer" in judge.participants, 20, "the waiting room")
    await judge.call("admit", {"participant_id": "lawyer"})

    cut_network(lawyer)

    await wait_until(lambda: not judge.participants["lawyer"]["connected"], 20, "dropped")
    await wait_until(
        lambda: not judge.participants["lawyer"]["reconnecting"], 20, "the grace period over"
    )
    assert judge.participants["lawyer"]["place"] == "hearing"  # still their place to come back to
    back = await hearing.join("lawyer", "lawyer", LAWYER)
    assert back.me["place"] == "hearing"
    await wait_until(lambda: judge.participants["lawyer"]["connected"], 20, "back")
