"""Connection quality reaches the court live, with real aiortc peers over loopback.

Clean loopback grades everyone good; a participant whose packets are dropped
is graded bad and written into the protocol (once), on whichever leg the loss
is; nobody but the judge and secretary hears of anyone else's quality.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiortc import RTCRtpReceiver
from aiortc.rtp import RtpPacket
from support.media import SolidColorTrack, ToneTrack
from support.peers import join_and_publish
from support.running import HEARING_A, RunningServer
from support.waiting import wait_until

from server.app import SIGNALING, create_app
from server.settings import Settings
from signaling.client import HearingClient, RemoteTrack

pytestmark = pytest.mark.integration

INTERVAL = 0.5  # sample often, so the tests wait less


@pytest.fixture
def settings(tmp_path) -> Settings:
    """The ``tyndau`` server of conftest, sampling quality every half second."""
    return Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        quality_interval_seconds=INTERVAL,
    )


@dataclass
class Watcher(HearingClient):
    """A client that keeps every participant record and quality event it was sent."""

    records: list[dict[str, Any]] = field(default_factory=list)
    quality_events: list[dict[str, Any]] = field(default_factory=list)

    async def _on_participant(self, participant: dict[str, Any]) -> None:
        self.records.append(participant)
        await super()._on_participant(participant)

    async def _on_quality(self, payload: dict[str, Any]) -> None:
        self.quality_events.append(payload)
        await super()._on_quality(payload)


async def joined(
    server: RunningServer, participant_id: str, role: str, *, publish: bool = True
) -> Watcher:
    client = Watcher(server.url, server.token(participant_id, role=role))
    await client.connect()
    await client.join()
    if publish:
        await client.publish(SolidColorTrack((40, 90, 200)), ToneTrack(440))
    return client


def grade_of(client: HearingClient, participant_id: str) -> str | None:
    return client.quality.get(participant_id, {}).get("grade")


def alerts(client: HearingClient, participant_id: str) -> list[dict[str, Any]]:
    return [
        entry
        for entry in client.protocol
        if entry["kind"] == "quality_alert" and (entry["subject"] or {}).get("id") == participant_id
    ]


def lose_every(nth: int, client: HearingClient) -> dict[str, bool]:
    """Drop every ``nth`` RTP packet the client publishes (its RTCP still goes out)."""
    assert client.publish_pc is not None
    transport = client.publish_pc.getTransceivers()[0].sender.transport
    original_send = transport._send_rtp
    switch = {"on": True}
    sent = 0

    async def lossy_send(data: bytes) -> None:
        nonlocal sent
        if switch["on"] and not 192 <= data[1] <= 223:  # RTCP packet types are 192-223
            sent += 1
            if sent % nth == 0:
                return
        await original_send(data)

    transport._send_rtp = lossy_send  # type: ignore[method-assign]
    return switch


def drop_incoming(receiver: RTCRtpReceiver, nth: int) -> None:
    """Make a subscriber lose every ``nth`` packet arriving on ``receiver``, before it counts it."""
    original = receiver._handle_rtp_packet
    count = 0

    async def lossy(packet: RtpPacket, arrival_time_ms: int) -> None:
        nonlocal count
        count += 1
        if count % nth:
            await original(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = lossy  # type: ignore[method-assign]


async def close_all(*clients: HearingClient) -> None:
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def test_the_judge_sees_everyone_good_on_clean_loopback(tyndau: RunningServer) -> None:
    judge = await joined(tyndau, "judge", "judge")
    lawyer = await joined(tyndau, "lawyer", "lawyer")
    prosecutor = await joined(tyndau, "prosecutor", "prosecutor")
    try:

        def measured_good(participant_id: str) -> bool:
            quality = judge.quality.get(participant_id, {})
            return quality.get("grade") == "good" and None not in (
                quality.get("loss_percent"),
                quality.get("jitter_ms"),
                quality.get("rtt_ms"),
            )

        await wait_until(
            lambda: measured_good("lawyer") and measured_good("prosecutor"), 40, "good grades"
        )
        quality = judge.quality["lawyer"]
        assert quality["loss_percent"] < 2 and quality["rtt_ms"] < 300
        # The grade change also updated the records the judge holds.
        await wait_until(
            lambda: judge.participants["lawyer"].get("quality", {}).get("grade") == "good",
            10,
            "the lawyer's record",
        )
        presence = tyndau.ctx.presence.hearing(HEARING_A).get("lawyer")
        assert presence is not None and presence.quality["grade"] == "good"
        assert not alerts(judge, "lawyer") and not alerts(judge, "prosecutor")
    finally:
        await close_all(judge, lawyer, prosecutor)


async def test_a_lossy_publisher_is_graded_bad_and_alerted_once(tyndau: RunningServer) -> None:
    judge = await joined(tyndau, "judge", "judge")
    lawyer = await joined(tyndau, "lawyer", "lawyer")
    try:
        await wait_until(lambda: grade_of(judge, "lawyer") == "good", 40, "a good start")
        losing = lose_every(4, lawyer)  # 25 % of the lawyer's audio and video
        await wait_until(lambda: grade_of(judge, "lawyer") == "bad", 30, "the lawyer graded bad")
        assert judge.quality["lawyer"]["loss_percent"] >= 10
        await wait_until(lambda: alerts(judge, "lawyer"), 10, "a quality alert to the court")
        (alert,) = alerts(judge, "lawyer")
        assert alert["subject"]["name"] == "Lawyer"
        assert alert["details"]["grade"] == "bad" and alert["details"]["loss_percent"] >= 10
        stored = await tyndau.ctx.protocol.events(HEARING_A)
        assert [e.subject_id for e in stored if str(e.kind) == "quality_alert"] == ["lawyer"]
        # The judge receives the lawyer's gaps, but they are the lawyer's loss, not the judge's.
        assert grade_of(judge, "judge") != "bad" and not alerts(judge, "judge")

        # Recovered, then bad again within the minute: no second alert.
        losing["on"] = False
        await wait_until(lambda: grade_of(judge, "lawyer") == "good", 30, "the lawyer recovered")
        losing["on"] = True
        await wait_until(lambda: grade_of(judge, "lawyer") == "bad", 30, "bad again")
        assert len(alerts(judge, "lawyer")) == 1
    finally:
        await close_all(judge, lawyer)


async def test_a_subscribers_reported_losses_grade_them(tyndau: RunningServer) -> None:
    """The subscribe leg: the loss a participant's receiver reports is theirs."""
    judge = await joined(tyndau, "judge", "judge")
    lawyer = Watcher(tyndau.url, tyndau.token("lawyer", role="lawyer"))

    def on_remote(remote: RemoteTrack) -> None:
        assert lawyer.subscribe_pc is not None
        for transceiver in lawyer.subscribe_pc.getTransceivers():
            if transceiver.mid == remote.mid:
                drop_incoming(transceiver.receiver, 4)

    lawyer.on_remote_track = on_remote
    await lawyer.connect()
    await lawyer.join()  # receives only: the loss can only be on the subscribe leg
    try:
        await wait_until(lambda: grade_of(judge, "lawyer") == "bad", 40, "the lawyer graded bad")
        await wait_until(lambda: alerts(judge, "lawyer"), 10, "a quality alert")
        assert grade_of(judge, "judge") != "bad" and not alerts(judge, "judge")
    finally:
        await close_all(judge, lawyer)


async def test_only_the_court_hears_of_others_quality(tyndau: RunningServer) -> None:
    judge = await joined(tyndau, "judge", "judge")
    lawyer = await joined(tyndau, "lawyer", "lawyer")
    prosecutor = await joined(tyndau, "prosecutor", "prosecutor")
    try:
        await wait_until(
            lambda: grade_of(judge, "lawyer") == "good" and grade_of(judge, "prosecutor") == "good",
            40,
            "the court to see grades",
        )
        # Each grade change was broadcast: the parties' own records say so ...
        await wait_until(
            lambda: all(
                c.me.get("quality", {}).get("grade") == "good" for c in (lawyer, prosecutor)
            ),
            10,
            "the parties' own records",
        )
        # ... and each party was sent the other's changed record, without the quality.
        assert judge.quality_events
        for party, other in ((lawyer, "prosecutor"), (prosecutor, "lawyer")):
            assert party.quality_events == [] and party.quality == {}
            assert any(r["id"] == other for r in party.records)
            assert all("quality" not in record for record in party.records)
            assert all("quality" not in record for record in party.participants.values())
        assert all("quality" in record for record in judge.participants.values())
    finally:
        await close_all(judge, lawyer, prosecutor)


async def test_the_watch_runs_from_start_up_to_shutdown(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    watch = app[SIGNALING].quality_watch
    try:
        assert watch.running
        assert watch.interval == INTERVAL
    finally:
        await runner.cleanup()
    assert not watch.running


async def test_a_participant_who_drops_is_unknown_again(tyndau: RunningServer) -> None:
    judge = await joined(tyndau, "judge", "judge")
    lawyer = await join_and_publish(tyndau.url, tyndau.token("lawyer"), (10, 200, 10), 330)
    try:
        await wait_until(lambda: grade_of(judge, "lawyer") == "good", 40, "a grade")
        await lawyer.close()  # the connection drops: they stay listed, disconnected
        await wait_until(
            lambda: (
                judge.participants.get("lawyer", {}).get("connected") is False
                and judge.participants["lawyer"]["quality"]["grade"] == "unknown"
            ),
            20,
            "the dropped lawyer's grade to be unknown",
        )
    finally:
        await close_all(judge, lawyer)
