"""A Python participant for the ``/hearing`` namespace, built on aiortc.

Used by the tests and the load benchmark, and usable by tools that need to
join a hearing as a machine (a test peer, a recording bot).

Several nodes (docs/several-nodes.md): ``base_url`` is the entry. A node that
does not serve the hearing refuses with ``wrong_node`` and the URL of the one
that does; the client connects there (at most ``MAX_REDIRECTS`` in a row), and
goes back to the entry when that node cannot be reached. With ``rejoin`` a
lost connection is made again the same way, joined, and the same tracks are
published anew (the way the web client comes back after its node died).
"""

from __future__ import annotations

import asyncio
import contextlib
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
from aiortc.contrib.media import MediaRelay

from signaling.namespace import NAMESPACE

# aiortc's default bundle policy strands later transceivers of one kind; see server/sfu/session.py
_CONFIGURATION = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
MAX_REDIRECTS = 3
REJOIN_DELAY_FIRST = 0.25
REJOIN_DELAY_MAX = 2.0


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
    # Several nodes: connect again on a lost connection (entry, redirect), join, publish.
    rejoin: bool = False
    url: str = ""  # where the connection is (or was last): the node serving the hearing
    redirects: int = 0  # wrong_node refusals followed, over the client's life
    rejoins: int = 0  # times it came back after a lost connection
    _offer_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _refusal: dict[str, Any] | None = None
    _bound: bool = False
    _closing: bool = False
    _tracks: tuple[MediaStreamTrack, ...] = ()
    _rejoin_task: asyncio.Task[None] | None = None
    _relay: MediaRelay = field(default_factory=MediaRelay)
    _auth: dict[str, Any] | None = None

    async def connect(self, auth: dict[str, Any] | None = None) -> None:
        """Connect and authenticate, following ``wrong_node`` redirects.

        Raises ``socketio.exceptions.ConnectionError`` if refused or unreachable,
        :class:`SignalingRefused` (``redirect_loop``) after too many redirects.
        """
        self._auth = auth if auth is not None else {"token": self.token}
        url = self.url or self.base_url
        redirects = 0
        fell_back = False
        while True:
            self._bind()
            self._refusal = None
            try:
                await self.sio.connect(
                    url,
                    namespaces=[NAMESPACE],
                    transports=["websocket"],
                    auth=self._auth,
                    wait_timeout=10,
                )
            except socketio.exceptions.ConnectionError:
                refusal = self._refusal or {}
                node_url = refusal.get("node_url")
                if refusal.get("code") == "wrong_node" and isinstance(node_url, str):
                    redirects += 1
                    if redirects > MAX_REDIRECTS:
                        raise SignalingRefused(
                            "redirect_loop", f"redirected {MAX_REDIRECTS} times in a row"
                        ) from None
                    self.redirects += 1
                    url = node_url.rstrip("/")
                    continue
                if not refusal and url != self.base_url and not fell_back:
                    # The node did not answer (it died?): the entry places the hearing anew.
                    fell_back = True
                    redirects = 0
                    url = self.base_url
                    continue
                raise
            self.url = url
            return

    def _bind(self) -> None:
        """Handlers on the current Socket.IO client (a new one after a lost connection)."""
        if self._bound:
            return
        self._bound = True
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
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

    async def _on_connect_error(self, data: Any) -> None:
        payload = data.get("data") if isinstance(data, dict) else None
        self._refusal = payload if isinstance(payload, dict) else None

    async def _on_disconnect(self, *_: Any) -> None:
        if self.rejoin and not self._closing and self._rejoin_task is None:
            self._rejoin_task = asyncio.ensure_future(self._come_back())

    async def _come_back(self) -> None:
        """The connection was lost: connect again (the hearing may be on another node now),
        join, publish the same tracks; try until it works or the client is closed."""
        delay = REJOIN_DELAY_FIRST
        try:
            await self._close_peers()
            while not self._closing:
                await asyncio.sleep(delay)
                delay = min(delay * 2, REJOIN_DELAY_MAX)
                self.sio = socketio.AsyncClient(reconnection=False)
                self._bound = False
                try:
                    await self.connect(self._auth)
                    await self.join()
                    if self._tracks:
                        await self.publish(*self._tracks)
                except (socketio.exceptions.ConnectionError, SignalingRefused, TimeoutError):
                    await self._drop_connection()
                    continue
                self.rejoins += 1
                return
        finally:
            self._rejoin_task = None

    async def _drop_connection(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        await self._close_peers()

    async def _close_peers(self) -> None:
        """Peer connections of a lost connection: the server has forgotten them."""
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()
        self.publish_pc = self.subscribe_pc = None
        self.remote.clear()
        self.participants.clear()

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
        self._tracks = tracks
        if self.rejoin:
            # aiortc stops a sender's track with its peer connection: send a relay's copy,
            # so that the same source can be published again after a rejoin.
            tracks = tuple(self._relay.subscribe(track, buffered=False) for track in tracks)
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
        self._closing = True
        task = self._rejoin_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.sio.connected:
            await self.sio.disconnect()
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
