"""Who is speaking: the detector on its own, then ``speaker`` events from real aiortc peers.

aiortc clients put the RFC 6464 audio level into every Opus packet they encode,
as browsers do; the SFU reads it off the packets it forwards, decodes nothing,
and tells the hearing who speaks — never anyone in a private consultation, nor
someone the court has muted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from support.media import ToneTrack
from support.running import RunningServer
from support.waiting import wait_until

from server.hearings import Hearing
from server.roles import ProceduralRole, grants_for
from server.sfu.speaker import (
    HOLD_SECONDS,
    SWITCH_AFTER_SECONDS,
    SpeakerDetector,
    VoiceActivity,
)
from signaling.client import HearingClient

HEARING = "speaker-1"


def voice(level: int, at: float) -> VoiceActivity:
    v = VoiceActivity()
    v.heard(level, at)
    return v


def test_a_quiet_room_has_no_speaker_and_the_first_voice_takes_the_floor_at_once() -> None:
    detector = SpeakerDetector()
    assert detector.decide({"a": voice(90, 0.0), "b": voice(127, 0.0)}, 0.1) is None
    assert detector.decide({"a": voice(20, 1.0), "b": voice(127, 1.0)}, 1.0) == "a"


def test_pauses_between_words_do_not_end_the_turn() -> None:
    detector = SpeakerDetector()
    a = voice(20, 0.0)
    assert detector.decide({"a": a}, 0.0) == "a"
    assert detector.decide({"a": a}, HOLD_SECONDS - 0.1) == "a"
    assert detector.decide({"a": a}, HOLD_SECONDS + 0.1) is None


def test_another_voice_takes_over_only_when_clearly_louder_for_a_while() -> None:
    detector = SpeakerDetector()
    a, b = voice(30, 0.0), VoiceActivity()
    assert detector.decide({"a": a, "b": b}, 0.0) == "a"
    for step in range(1, 10):  # b joins in 3 dB louder: not enough
        now = step * 0.2
        a.heard(30, now)
        b.heard(27, now)
        assert detector.decide({"a": a, "b": b}, now) == "a"
    # b now 15 dB louder: it takes the floor after SWITCH_AFTER_SECONDS, not at once.
    start = 2.0
    times = [start + step * 0.1 for step in range(20)]
    decided = []
    for now in times:
        a.heard(40, now)
        b.heard(10, now)
        decided.append(detector.decide({"a": a, "b": b}, now))
    assert decided[0] == "a"
    switched = times[decided.index("b")]
    assert switched - start >= SWITCH_AFTER_SECONDS
    assert decided[decided.index("b") :] == ["b"] * (len(decided) - decided.index("b"))


def test_silence_and_missing_levels_never_count() -> None:
    v = VoiceActivity()
    for step in range(50):
        v.heard(127, step * 0.02)
    assert not v.speaking(1.0)
    assert not VoiceActivity().speaking(0.0)  # a track whose packets carry no level


# -- over signaling, with real peers ---------------------------------------------


class Speakers:
    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.clients: list[HearingClient] = []

    async def join(self, pid: str, role: str, amplitude: float | None) -> HearingClient:
        token = self.server.token(
            pid, hearing=HEARING, role=role, grants=grants_for(ProceduralRole(role))
        )
        client = HearingClient(self.server.url, token)
        self.clients.append(client)
        await client.connect()
        await client.join()
        if amplitude is not None:
            track = ToneTrack(300 + 100 * len(self.clients), amplitude)
            client.tone = track  # type: ignore[attr-defined]
            await client.publish(track)
        return client

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


@pytest.fixture
async def hearing(tyndau: RunningServer) -> AsyncIterator[Speakers]:
    await tyndau.ctx.hearings.save(
        Hearing(id=HEARING, case_number="7599-26-00-1/0102", title="Сөз", auto_admit=True)
    )
    opened = Speakers(tyndau)
    try:
        yield opened
    finally:
        await opened.close()


def latest(client: HearingClient) -> str | None:
    if not client.speakers:
        return None
    last = client.speakers[-1]
    return None if last is None else last["participant_id"]


@pytest.mark.integration
async def test_the_hearing_is_told_who_speaks(hearing: Speakers) -> None:
    judge = await hearing.join("judge", "judge", amplitude=0.0)
    lawyer = await hearing.join("lawyer", "lawyer", amplitude=0.3)
    detainee = await hearing.join("detainee", "detainee", amplitude=0.0)
    for client in (judge, lawyer, detainee):
        await wait_until(lambda c=client: latest(c) == "lawyer", 30, "the lawyer speaking")
    assert judge.speakers[-1] == {"participant_id": "lawyer", "name": "Lawyer", "role": "lawyer"}

    # The lawyer stops, the detainee speaks: the caption follows.
    lawyer.tone.amplitude = 0.0  # type: ignore[attr-defined]
    detainee.tone.amplitude = 0.3  # type: ignore[attr-defined]
    await wait_until(lambda: latest(judge) == "detainee", 30, "the detainee speaking")

    # A locked mute silences a voice for the caption as for everyone.
    await judge.call("mute", {"participant_id": "detainee", "kind": "audio", "locked": True})
    await wait_until(lambda: judge.speakers[-1] is None, 30, "nobody speaking")

    # A private consultation is never captioned in the hearing.
    detainee.tone.amplitude = 0.0  # type: ignore[attr-defined]
    await judge.call("release_mute", {"participant_id": "detainee", "kind": "audio"})
    await lawyer.call("start_consultation", {"participant_id": "detainee"})
    await wait_until(lambda: detainee.me["place"] == "consultation", 10, "stepped out")
    told = len(judge.speakers)
    detainee.tone.amplitude = lawyer.tone.amplitude = 0.3  # type: ignore[attr-defined]
    await asyncio.sleep(3 * HOLD_SECONDS)
    assert all(s is None for s in judge.speakers[told:]), judge.speakers[told:]
    assert latest(judge) is None

    # Events are few: changes only, never a stream.
    assert len(judge.speakers) < 10
