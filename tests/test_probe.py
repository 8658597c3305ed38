"""The self-test's network check (server/sfu/probe.py) and its result (signaling ``self_test``).

A real aiortc client offers one unordered, non-retransmitting data channel and
times the server's echoes over loopback, as the browser does.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from pydantic import SecretStr
from support.waiting import wait_until

from server.app import SIGNALING
from server.turn import turn_password
from signaling.client import HearingClient, SignalingRefused

PROBES = 20


async def connected(tyndau, participant: str, **kwargs: Any) -> HearingClient:
    client = HearingClient(tyndau.url, tyndau.token(participant, **kwargs))
    await client.connect()
    return client


async def probe_offer(pc: RTCPeerConnection) -> tuple[RTCDataChannel, dict[str, str]]:
    channel = pc.createDataChannel("probe", ordered=False, maxRetransmits=0)
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate here
    return channel, {"type": "offer", "sdp": pc.localDescription.sdp}


async def measure(channel: RTCDataChannel) -> tuple[list[float], int]:
    """Send numbered probes; the round trips of the echoes that came back, and how many did."""
    sent: dict[int, float] = {}
    rtts: list[float] = []

    @channel.on("message")
    def on_echo(message: str) -> None:
        seq = int(message.split(":")[0])
        if seq in sent:
            rtts.append((time.monotonic() - sent.pop(seq)) * 1000)

    for seq in range(PROBES):
        sent[seq] = time.monotonic()
        channel.send(f"{seq}:{sent[seq]:.3f}")
        await asyncio.sleep(0.02)
    await wait_until(lambda: len(rtts) == PROBES, 20, "every echo")
    return rtts, len(rtts)


async def test_probe_echoes_over_a_real_data_channel(tyndau) -> None:
    client = await connected(tyndau, "lawyer")
    probes = tyndau.app[SIGNALING].self_test.probes
    pc = RTCPeerConnection()
    try:
        channel, offer = await probe_offer(pc)
        reply = await client.call("probe_offer", offer)  # before any join: the self-test's way
        assert reply["type"] == "answer" and reply["seconds"] > 0
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        opened = asyncio.Event()
        channel.on("open", opened.set)
        if channel.readyState != "open":
            await asyncio.wait_for(opened.wait(), 20)
        rtts, echoed = await measure(channel)
        assert echoed == PROBES  # loss 0 on loopback
        assert all(rtt > 0 for rtt in rtts)
        assert probes.stats.echoed >= PROBES

        # A second check on the same connection while this one runs is refused.
        other = RTCPeerConnection()
        try:
            _, second = await probe_offer(other)
            with pytest.raises(SignalingRefused) as refused:
                await client.call("probe_offer", second)
            assert refused.value.code == "probe_busy"
        finally:
            await other.close()

        # Closing the channel ends the probe on the server.
        channel.close()
        await wait_until(lambda: client.sio.sid not in probes.active, 20, "the probe to close")
    finally:
        await pc.close()
        await client.close()
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{tyndau.url}/metrics") as response,
    ):
        metrics = await response.text()
    assert "tyndau_probes_started_total 1.0" in metrics
    assert "tyndau_probes_active 0.0" in metrics


async def test_probe_refuses_bad_offers_and_ends_on_its_own(tyndau) -> None:
    client = await connected(tyndau, "lawyer")
    probes = tyndau.app[SIGNALING].self_test.probes
    try:
        for payload, code in (
            ({}, "invalid_payload"),
            ({"type": "answer", "sdp": "v=0"}, "invalid_payload"),
            ({"type": "offer", "sdp": "v=0", "extra": 1}, "invalid_payload"),
            ({"type": "offer", "sdp": "not an sdp"}, "sdp_rejected"),
        ):
            with pytest.raises(SignalingRefused) as refused:
                await client.call("probe_offer", payload)
            assert refused.value.code == code, payload

        # Media is not what a probe carries.
        media_pc = RTCPeerConnection()
        media_pc.addTransceiver("audio", direction="sendonly")
        await media_pc.setLocalDescription(await media_pc.createOffer())
        with pytest.raises(SignalingRefused) as refused:
            await client.call(
                "probe_offer", {"type": "offer", "sdp": media_pc.localDescription.sdp}
            )
        assert refused.value.code == "sdp_rejected"
        await media_pc.close()
        assert not probes.active

        # A probe nobody finishes is closed by its time limit.
        probes.seconds = 0.5
        pc = RTCPeerConnection()
        _, offer = await probe_offer(pc)
        await client.call("probe_offer", offer)
        await wait_until(lambda: not probes.active, 20, "the time limit to close the probe")
        assert probes.stats.timed_out == 1
        await pc.close()
    finally:
        await client.close()


async def test_probe_ends_with_its_connection(tyndau) -> None:
    client = await connected(tyndau, "lawyer")
    probes = tyndau.app[SIGNALING].self_test.probes
    pc = RTCPeerConnection()
    _, offer = await probe_offer(pc)
    await client.call("probe_offer", offer)
    assert len(probes.active) == 1
    await client.close()
    await wait_until(lambda: not probes.active, 20, "the probe to close with its connection")
    await pc.close()


async def test_self_test_verdict_is_shown_to_the_court_only(tyndau) -> None:
    judge = await connected(tyndau, "judge", role="judge")
    await judge.join()
    prosecutor = await connected(tyndau, "prosecutor", role="prosecutor")
    await prosecutor.join()
    lawyer = await connected(tyndau, "lawyer")
    try:
        # Before joining: the verdict comes back, nothing is stored.
        reply = await lawyer.call(
            "self_test", {"rtt_ms": 40, "loss_percent": 0.0, "camera": True, "microphone": True}
        )
        assert reply["self_test"]["verdict"] == "good"
        assert reply["self_test"]["advice"] == []
        for bad in (
            {"rtt_ms": -1},
            {"loss_percent": 101},
            {"camera": "yes"},
            {"verdict": "good"},
        ):
            with pytest.raises(SignalingRefused) as refused:
                await lawyer.call("self_test", bad)
            assert refused.value.code == "invalid_payload", bad

        await lawyer.join()
        reply = await lawyer.call(
            "self_test", {"rtt_ms": 420.0, "loss_percent": 4.0, "camera": False, "microphone": True}
        )
        result = reply["self_test"]
        assert result["verdict"] == "poor"
        assert result["advice"] == ["move_closer", "close_apps", "check_camera"]
        await wait_until(
            lambda: (judge.participants.get("lawyer") or {}).get("self_test") is not None,
            10,
            "the judge to see the lawyer's self-test",
        )
        seen = judge.participants["lawyer"]["self_test"]
        assert seen["verdict"] == "poor" and seen["rtt_ms"] == 420.0 and seen["camera"] is False
        assert seen["at"]
        assert "self_test" not in prosecutor.participants.get("lawyer", {})
        await asyncio.sleep(0)
        entries = [e["kind"] for e in judge.protocol]
        assert "self_test" not in entries  # not procedural

        # Nothing got through at all: try another network.
        reply = await lawyer.call("self_test", {"loss_percent": 100.0, "microphone": False})
        assert reply["self_test"]["verdict"] == "bad"
        assert reply["self_test"]["advice"] == ["other_network", "check_microphone"]
    finally:
        for client in (lawyer, prosecutor, judge):
            await client.close()


async def test_the_check_before_joining_gets_the_same_turn_servers(tyndau) -> None:
    """Behind a firewall that lets only TURN through, the check must go the hearing's way."""
    settings = tyndau.ctx.settings
    settings.turn_secret = SecretStr("court-turn-secret")
    settings.turn_urls = ["turns:turn.court.kz:443?transport=tcp"]
    settings.ice_transport_policy = "relay"
    client = await connected(tyndau, "lawyer")
    try:
        config = await client.call("ice_config", {})  # not joined: no join ack yet
    finally:
        await client.close()
    assert config["ice_transport_policy"] == "relay"
    turn = [s for s in config["ice_servers"] if "username" in s]
    assert len(turn) == 1
    assert turn[0]["urls"] == ["turns:turn.court.kz:443?transport=tcp"]
    assert turn[0]["username"].endswith(":lawyer")
    assert turn[0]["credential"] == turn_password("court-turn-secret", turn[0]["username"])
