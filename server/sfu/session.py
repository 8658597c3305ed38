"""One participant's media: a publish and a subscribe peer connection.

The client offers on the publish connection; the server offers on the
subscribe connection, one sendonly transceiver per forwarded track, and
renegotiates when tracks come and go. Offers are serialized: a new one is
sent only after the client answered the last (no glare, no lost changes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.sdp import SessionDescription, candidate_from_sdp

from server.errors import CodedError
from server.sfu import ice
from server.sfu.codecs import choose_publish_codecs, subscriber_preferences
from server.sfu.downstream import Downstream, ForwardedTrack
from server.sfu.published import PublishedTrack

if TYPE_CHECKING:
    from server.sfu.room import MediaRoom

log = structlog.get_logger(__name__)

OfferSender = Callable[[dict[str, Any]], Awaitable[None]]


def _media_kinds(sdp: str) -> set[str]:
    """The kinds of the m-lines of ``sdp`` (empty if it does not parse)."""
    try:
        return {media.kind for media in SessionDescription.parse(sdp).media}
    except Exception:  # aiortc's parser raises whatever its input provokes
        return set()


class NegotiationError(CodedError):
    """An SDP or candidate from the client could not be applied."""


@dataclass
class ForwardedTrackInfo:
    track_id: str
    participant_id: str
    kind: str
    downstream: Downstream


class MediaSession:
    """Media state of one participant in one room."""

    def __init__(
        self,
        *,
        room: MediaRoom,
        participant_id: str,
        can_publish_audio: bool,
        can_publish_video: bool,
        can_subscribe: bool,
        send_offer: OfferSender,
    ) -> None:
        self.room = room
        self.participant_id = participant_id
        self.can_publish = {"audio": can_publish_audio, "video": can_publish_video}
        self.can_subscribe = can_subscribe
        self._send_offer = send_offer
        self.publish_pc: RTCPeerConnection | None = None
        self.subscribe_pc: RTCPeerConnection | None = None
        self.published: dict[str, PublishedTrack] = {}
        self.forwarded: dict[str, ForwardedTrackInfo] = {}
        self._by_transceiver: dict[RTCRtpTransceiver, ForwardedTrackInfo] = {}
        self.revision = 0
        self._awaiting_answer = False
        self._changed = False
        self._negotiation_lock = asyncio.Lock()
        self.closed = False
        # Kinds the court has locked muted: held back by the server, new tracks too.
        self.suppressed: set[str] = set()
        # False: sound only (the participant's choice on a poor link), new tracks too.
        self.receive_video = True

    def set_receive_video(self, on: bool) -> None:
        """Forward video to this participant again, or hold it all back (sound only)."""
        self.receive_video = on
        for info in self.forwarded.values():
            if info.kind == "video":
                info.downstream.pause(not on)

    def suppress(self, kind: str, on: bool) -> None:
        """Stop (or resume) forwarding what this participant publishes of ``kind``."""
        if on:
            self.suppressed.add(kind)
        else:
            self.suppressed.discard(kind)
        for published in self.published.values():
            if published.kind == kind:
                published.suppress(on)

    # -- publishing ---------------------------------------------------------

    async def handle_publish_offer(self, sdp: str) -> RTCSessionDescription:
        """Apply the client's publish offer and return the server's answer."""
        media_kinds = _media_kinds(sdp)
        if not media_kinds or not media_kinds <= {"audio", "video"}:
            raise NegotiationError("sdp_rejected", "the offer must carry audio and/or video only")
        if self.publish_pc is None:
            self.publish_pc = self._new_peer_connection("publish")
        pc = self.publish_pc
        new_tracks: list[PublishedTrack] = []

        def on_track(track: Any) -> None:
            transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
            kind = transceiver.kind
            chosen = choose_publish_codecs(transceiver._codecs)
            if not chosen or not self.can_publish.get(kind, False):
                # Not allowed or no codec we can forward: the answer turns the m-line off.
                transceiver.direction = "inactive"
                return
            transceiver._codecs = chosen
            published = PublishedTrack(
                owner_id=self.participant_id,
                receiver=transceiver.receiver,
                codec=chosen[0],
                counters=self.room.counters,
                keyframe_interval=self.room.keyframe_interval,
            )
            new_tracks.append(published)

        pc.on("track", on_track)
        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(sdp=self.room.filter_remote_sdp(sdp), type="offer")
            )
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as exc:  # aiortc raises ValueError, AssertionError, OperationError...
            for published in new_tracks:
                await published.close()
            raise NegotiationError(
                "sdp_rejected", f"the offer could not be applied: {exc}"
            ) from exc
        finally:
            pc.remove_listener("track", on_track)
        for published in new_tracks:
            published.suppress(published.kind in self.suppressed)
            self.published[published.track_id] = published
            await self.room.track_published(published)
        local = pc.localDescription
        return local

    # -- subscribing --------------------------------------------------------

    def add_forwarded(self, published: PublishedTrack) -> None:
        """Add a sendonly transceiver carrying ``published`` (negotiated later)."""
        if self.subscribe_pc is None:
            self.subscribe_pc = self._new_peer_connection("subscribe")
        transceiver = self.subscribe_pc.addTransceiver(
            ForwardedTrack(published.kind), direction="sendonly"
        )
        transceiver.setCodecPreferences(subscriber_preferences(published.codec))
        # The stream id (msid) tells the client whose track this is.
        transceiver.sender._stream_id = published.owner_id
        downstream = Downstream(
            transceiver=transceiver,
            mime_type=published.codec.mimeType,
            counters=self.room.counters,
            request_keyframe=published.request_keyframe,
            on_remb=published.subscriber_estimate,
        )
        if published.kind == "video" and not self.receive_video:
            downstream.pause(True)
        info = ForwardedTrackInfo(
            track_id=published.track_id,
            participant_id=published.owner_id,
            kind=published.kind,
            downstream=downstream,
        )
        self.forwarded[published.track_id] = info
        self._by_transceiver[transceiver] = info
        published.downstreams[self.participant_id] = downstream
        self._changed = True

    async def remove_forwarded(self, track_id: str) -> None:
        info = self.forwarded.pop(track_id, None)
        if info is None:
            return
        published = self.room.tracks.get(track_id)
        if (
            published is not None
            and published.downstreams.get(self.participant_id) is info.downstream
        ):
            del published.downstreams[self.participant_id]
        info.downstream.transceiver.direction = "inactive"
        self._changed = True
        await info.downstream.close()

    def tracks_description(self) -> list[dict[str, Any]]:
        if self.subscribe_pc is None:
            return []
        described = []
        for transceiver in self.subscribe_pc.getTransceivers():
            info = self._by_transceiver.get(transceiver)
            if info is None or transceiver.mid is None:
                continue
            described.append(
                {
                    "mid": transceiver.mid,
                    "participant_id": info.participant_id,
                    "kind": info.kind,
                    "active": not info.downstream.closed,
                }
            )
        return described

    async def renegotiate(self) -> None:
        """Offer the changed set of tracks now, or right after the pending answer arrives."""
        if self.closed or self.subscribe_pc is None:
            return
        async with self._negotiation_lock:
            if self._awaiting_answer or not self._changed:
                return  # the answer handler offers again if anything changed meanwhile
            self._changed = False
            pc = self.subscribe_pc
            offer = await pc.createOffer()
            await pc.setLocalDescription(offer)
            self.revision += 1
            self._awaiting_answer = True
            payload = {
                "type": "offer",
                "sdp": pc.localDescription.sdp,
                "revision": self.revision,
                "tracks": self.tracks_description(),
            }
        await self._send_offer(payload)

    async def handle_subscribe_answer(self, sdp: str, revision: int) -> None:
        async with self._negotiation_lock:
            if self.subscribe_pc is None or not self._awaiting_answer or revision != self.revision:
                raise NegotiationError(
                    "stale_answer", f"no subscribe offer with revision {revision} is pending"
                )
            try:
                await self.subscribe_pc.setRemoteDescription(
                    RTCSessionDescription(sdp=self.room.filter_remote_sdp(sdp), type="answer")
                )
            except Exception as exc:
                raise NegotiationError(
                    "sdp_rejected", f"the answer could not be applied: {exc}"
                ) from exc
            self._awaiting_answer = False
        await self.renegotiate()

    # -- ICE ----------------------------------------------------------------

    async def add_ice_candidate(
        self, target: str, candidate: str | None, sdp_mid: str | None, sdp_mline: int | None
    ) -> None:
        pc = self.publish_pc if target == "publish" else self.subscribe_pc
        if pc is None or pc.remoteDescription is None:
            raise NegotiationError("not_negotiated", f"the {target} connection is not negotiated")
        if not candidate:
            await pc.addIceCandidate(None)
            return
        line = candidate.removeprefix("a=").removeprefix("candidate:")
        address = ice.candidate_address("candidate:" + line)
        if address is None:
            raise NegotiationError("invalid_payload", "the ICE candidate is malformed")
        if not self.room.accept_remote_address(address):
            return  # outside the server's ICE policy: ignored, as a host would ignore it
        try:
            parsed = candidate_from_sdp(line)
        except (AssertionError, ValueError, IndexError) as exc:
            raise NegotiationError("invalid_payload", "the ICE candidate is malformed") from exc
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline if sdp_mline is not None else 0
        await pc.addIceCandidate(parsed)

    # -- lifecycle ----------------------------------------------------------

    def _new_peer_connection(self, purpose: str) -> RTCPeerConnection:
        # max-bundle: aiortc's default (balanced) strands a second transceiver of
        # one kind on a transport that BUNDLE then discards.
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info(
                "peer_connection_state",
                participant=self.participant_id,
                hearing=self.room.hearing_id,
                purpose=purpose,
                state=pc.connectionState,
            )

        return pc

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for track_id in list(self.published):
            published = self.published.pop(track_id)
            await self.room.track_unpublished(published)
        for track_id in list(self.forwarded):
            info = self.forwarded.pop(track_id)
            published = self.room.tracks.get(track_id)
            if published is not None:
                published.downstreams.pop(self.participant_id, None)
            info.downstream.closed = True
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
