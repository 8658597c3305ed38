"""A Python participant for the ``/hearing`` namespace, built on aiortc.

Used by the tests and the load benchmark, and usable by tools that need to
join a hearing as a machine (a test peer, a recording bot).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCSessionDescription,
)

from signaling.namespace import NAMESPACE

# aiortc's default bundle policy strands later transceivers of one kind; see server/sfu/session.py
_CONFIGURATION = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


class SignalingRefused(Exception):
    """The server answered an event with an error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class RemoteTrack:
    mid: str
    participant_id: str
    kind: str
    track: MediaStreamTrack | None = None
    active: bool = True


@dataclass
class HearingClient:
    """One participant: signaling connection, publish and subscribe peer connections."""

    base_url: str
    token: str
    codec_preferences: dict[str, list[RTCRtpCodecCapability]] = field(default_factory=dict)
    on_remote_track: Callable[[RemoteTrack], None] | None = None
    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    publish_pc: RTCPeerConnection | None = None
    subscribe_pc: RTCPeerConnection | None = None
    remote: dict[str, RemoteTrack] = field(default_factory=dict)
    participants: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    # The procedure as this participant sees it (docs/signaling.md, Hearing procedure).
    me: dict[str, Any] = field(default_factory=dict)
    hearing: dict[str, Any] = field(default_factory=dict)
    notices: list[dict[str, Any]] = field(default_factory=list)
    protocol: list[dict[str, Any]] = field(default_factory=list)
    quality: dict[str, Any] = field(default_factory=dict)
    recording_alerts: list[dict[str, Any]] = field(default_factory=list)
    court_messages: list[dict[str, Any]] = field(default_factory=list)
    help_updates: list[dict[str, Any]] = field(default_factory=list)
    speakers: list[dict[str, Any] | None] = field(default_factory=list)
    offers_answered: int = 0
    _offer_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def connect(self, auth: dict[str, Any] | None = None) -> None:
        """Connect and authenticate; raises ``socketio.exceptions.ConnectionError`` if refused."""
        self.sio.on("subscribe_offer", self._on_subscribe_offer, namespace=NAMESPACE)
        self.sio.on("participant_joined", self._on_participant, namespace=NAMESPACE)
        self.sio.on("participant_updated", self._on_participant, namespace=NAMESPACE)
        self.sio.on("participant_left", self._on_participant_left, namespace=NAMESPACE)
        self.sio.on("error", self._on_error, namespace=NAMESPACE)
        self.sio.on("self_updated", self._on_self, namespace=NAMESPACE)
        self.sio.on("notice", self._on_notice, namespace=NAMESPACE)
        self.sio.on("hearing_state", self._on_hearing_state, namespace=NAMESPACE)
        self.sio.on("protocol_event", self._on_protocol_event, namespace=NAMESPACE)
        self.sio.on("quality", self._on_quality, namespace=NAMESPACE)
        self.sio.on("recording_alert", self._on_recording_alert, namespace=NAMESPACE)
        self.sio.on("court_message", self._on_court_message, namespace=NAMESPACE)
        self.sio.on("help_update", self._on_help_update, namespace=NAMESPACE)
        self.sio.on("speaker", self._on_speaker, namespace=NAMESPACE)
        await self.sio.connect(
            self.base_url,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            auth=auth if auth is not None else {"token": self.token},
            wait_timeout=10,
        )

    async def call(self, event: str, payload: Any = None, timeout: float = 20) -> dict[str, Any]:
        """Send an event and return its acknowledgement, raising on a refusal."""
        args = {} if payload is None else payload
        reply = await self.sio.call(event, args, namespace=NAMESPACE, timeout=timeout)
        if not isinstance(reply, dict) or not reply.get("ok"):
            error = (reply or {}).get("error", {}) if isinstance(reply, dict) else {}
            raise SignalingRefused(error.get("code", "unknown"), error.get("message", ""))
        return reply

    async def join(self) -> dict[str, Any]:
        reply = await self.call("join")
        for participant in reply["participants"]:
            self.participants[participant["id"]] = participant
        self.me = reply["self"]
        self.hearing = reply["hearing"]
        self.protocol = list(reply.get("protocol", []))
        return reply

    async def publish(self, *tracks: MediaStreamTrack) -> None:
        pc = self.publish_pc = RTCPeerConnection(_CONFIGURATION)
        for track in tracks:
            transceiver = pc.addTransceiver(track, direction="sendonly")
            preferences = self.codec_preferences.get(track.kind)
            if preferences:
                transceiver.setCodecPreferences(preferences)
        await pc.setLocalDescription(await pc.createOffer())
        answer = await self.call("publish_offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def set_mute(self, kind: str, muted: bool) -> dict[str, Any]:
        return await self.call("set_mute", {"kind": kind, "muted": muted})

    async def _on_subscribe_offer(self, offer: dict[str, Any]) -> None:
        async with self._offer_lock:
            if self.subscribe_pc is None:
                self.subscribe_pc = RTCPeerConnection(_CONFIGURATION)
                self.subscribe_pc.on("track", self._on_track)
            for info in offer["tracks"]:
                known = self.remote.get(info["mid"])
                if known is None:
                    self.remote[info["mid"]] = RemoteTrack(
                        mid=info["mid"], participant_id=info["participant_id"], kind=info["kind"]
                    )
                known = self.remote[info["mid"]]
                known.active = info["active"]
            pc = self.subscribe_pc
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            await self.call(
                "subscribe_answer",
                {"type": "answer", "sdp": pc.localDescription.sdp, "revision": offer["revision"]},
            )
            self.offers_answered += 1

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.subscribe_pc is not None
        transceiver = next(
            t for t in self.subscribe_pc.getTransceivers() if t.receiver.track is track
        )
        remote = self.remote.get(transceiver.mid or "")
        if remote is None:
            return
        remote.track = track
        if self.on_remote_track is not None:
            self.on_remote_track(remote)

    async def _on_participant(self, participant: dict[str, Any]) -> None:
        self.participants[participant["id"]] = participant

    async def _on_participant_left(self, payload: dict[str, Any]) -> None:
        self.participants.pop(payload["id"], None)

    async def _on_error(self, error: dict[str, Any]) -> None:
        self.errors.append(error)

    async def _on_self(self, me: dict[str, Any]) -> None:
        self.me = me

    async def _on_notice(self, notice: dict[str, Any]) -> None:
        self.notices.append(notice)

    async def _on_hearing_state(self, payload: dict[str, Any]) -> None:
        self.hearing = payload["hearing"]

    async def _on_protocol_event(self, entry: dict[str, Any]) -> None:
        self.protocol.append(entry)

    async def _on_quality(self, payload: dict[str, Any]) -> None:
        self.quality = payload["participants"]

    async def _on_recording_alert(self, alert: dict[str, Any]) -> None:
        self.recording_alerts.append(alert)

    async def _on_court_message(self, message: dict[str, Any]) -> None:
        self.court_messages.append(message)

    async def _on_help_update(self, request: dict[str, Any]) -> None:
        self.help_updates.append(request)

    async def _on_speaker(self, payload: dict[str, Any]) -> None:
        self.speakers.append(payload["speaker"])

    def notice_codes(self) -> list[str]:
        return [n["code"] for n in self.notices]

    def active_tracks(self) -> list[RemoteTrack]:
        return [r for r in self.remote.values() if r.active and r.track is not None]

    async def leave(self) -> None:
        await self.call("leave")

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
