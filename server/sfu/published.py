"""A track a participant publishes, taken off aiortc's receive path before decoding.

aiortc's receiver would reassemble frames and decode them in a thread. Here
its packet handler is replaced: each RTP packet is counted for receiver
reports, losses are NACKed, retransmissions (RTX) unwrapped, and the packet is
handed to every subscriber's :class:`Downstream` as it is, and to every tap
(:mod:`server.sfu.taps`: the recorder) with its arrival time. Nothing is decoded.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Coroutine
from typing import Any

import structlog
from aiortc import RTCRtpReceiver
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci, unwrap_rtx

from server.sfu import aiortc_internals
from server.sfu.counters import MediaCounters
from server.sfu.downstream import Downstream, ntp_now
from server.sfu.keyframes import KeyframeRequester, ignore_connection_errors
from server.sfu.speaker import VoiceActivity
from server.sfu.taps import TrackTap

log = structlog.get_logger(__name__)
_track_numbers = itertools.count(1)

# However poor one subscriber's link, the publisher is not asked below this:
# everyone else (and the recording) would pay for one person's bad connection.
REMB_FLOOR_BPS = 150_000
# A subscriber's lower estimate reaches the publisher at most this often (the
# SFU's own estimator sends on its own schedule, about once a second).
SUBSCRIBER_REMB_INTERVAL = 1.0


class PublishedTrack:
    """One published audio or video track and the subscribers it is forwarded to."""

    def __init__(
        self,
        *,
        owner_id: str,
        receiver: RTCRtpReceiver,
        codec: RTCRtpCodecParameters,
        counters: MediaCounters,
        keyframe_interval: float,
    ) -> None:
        self.owner_id = owner_id
        self.codec = codec
        self.kind = "video" if codec.mimeType.lower().startswith("video/") else "audio"
        self.track_id = f"{owner_id}:{self.kind}:{next(_track_numbers)}"
        self.receiver = receiver
        self.downstreams: dict[str, Downstream] = {}
        self._counters = counters
        self._codecs: dict[int, RTCRtpCodecParameters] = {}
        self._rtx_payload_types: set[int] = set()
        self._rtx_to_media_ssrc: dict[int, int] = {}
        self._media_ssrc: int | None = None
        self._nacks = NackGenerator() if self.kind == "video" else None
        # The receiver's own estimator: its packet handler, which fed it, is replaced.
        self._bitrate = (
            aiortc_internals.receiver_bitrate_estimator(receiver) if self.kind == "video" else None
        )
        if self._bitrate is not None:
            aiortc_internals.lighten_bitrate_estimator(self._bitrate)
        self._keyframes = KeyframeRequester(self._send_pli, interval=keyframe_interval)
        # The SFU's own estimate of the publisher's uplink (bps), and the last REMB sent.
        self._own_estimate: int | None = None
        self.remb_sent: int | None = None
        self._remb_sent_at = float("-inf")
        # Who speaks: the audio level each packet carries (server/sfu/speaker.py).
        self.voice = VoiceActivity() if self.kind == "audio" else None
        self.packets = 0
        self.closed = False
        # A court's locked mute: the server itself stops forwarding (and recording) it.
        self.suppressed = False
        # Observers (the recorder) of every packet and sender report; see server/sfu/taps.py.
        self.taps: list[TrackTap] = []
        aiortc_internals.observe_sender_reports(receiver, self._on_sender_report)

        original_receive = receiver.receive

        async def receive(parameters: RTCRtpReceiveParameters) -> None:
            for c in parameters.codecs:
                self._codecs[c.payloadType] = c
                if c.mimeType.lower().endswith("/rtx"):  # decided once, not per packet
                    self._rtx_payload_types.add(c.payloadType)
            for encoding in parameters.encodings:
                if encoding.rtx:
                    self._rtx_to_media_ssrc[encoding.rtx.ssrc] = encoding.ssrc
            await original_receive(parameters)
            # From now on packets come straight from the socket's callback, not a queue.
            aiortc_internals.receive_rtp_synchronously(receiver, self.on_rtp)

        receiver.receive = receive  # type: ignore[method-assign]
        receiver._handle_rtp_packet = self._on_rtp  # type: ignore[method-assign]

    @property
    def media_ssrc(self) -> int | None:
        """The SSRC the publisher's media arrives on (its retransmissions have another)."""
        return self._media_ssrc

    def suppress(self, on: bool) -> None:
        """Hold back (or let through again) everything this track sends, whatever the client does.

        Statistics and loss repair go on, so the participant's quality stays
        known; when it is let through again every subscriber continues its own
        sequence, video from a keyframe.
        """
        if on == self.suppressed:
            return
        self.suppressed = on
        if not on:
            for downstream in self.downstreams.values():
                downstream.resync()
            self.request_keyframe()

    def request_keyframe(self) -> None:
        if self.kind == "video" and not self.closed:
            self._keyframes.request()

    async def _send_pli(self) -> None:
        if self._media_ssrc is None or self.closed:
            return
        self._counters.plis_sent += 1
        await self.receiver._send_rtcp_pli(self._media_ssrc)

    async def _on_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """aiortc's receive path (its queue and task), until the direct one is installed."""
        self.on_rtp(packet, arrival_time_ms)

    def on_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """One packet from the publisher: count, repair, forward. Never waits.

        Called from the ICE connection's datagram callback
        (:func:`aiortc_internals.receive_rtp_synchronously`); feedback to the
        publisher (NACK, REMB) goes out in a task of its own.
        """
        codec = self._codecs.get(packet.payload_type)
        if codec is None or self.closed:
            return
        counters = self._counters
        counters.packets_received += 1
        counters.bytes_received += len(packet.payload)
        self._account(packet, codec, arrival_time_ms)
        if packet.payload_type in self._rtx_payload_types:
            media_ssrc = self._rtx_to_media_ssrc.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if media_ssrc is None or not isinstance(apt, int) or len(packet.payload) < 2:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=media_ssrc)
        else:
            self._media_ssrc = packet.ssrc
        if self._nacks is not None and self._nacks.add(packet):
            counters.nacks_sent += 1
            self._background(
                self.receiver._send_rtcp_nack(packet.ssrc, sorted(self._nacks.missing))
            )
        self.packets += 1
        if self.suppressed:
            return
        level = packet.extensions.audio_level
        if level is not None and self.voice is not None:
            self.voice.heard(level[1], time.monotonic())
        for tap in self.taps:
            tap.rtp(packet, arrival_time_ms)
        if self.downstreams:
            now_ntp = ntp_now()  # one clock reading for every copy of this packet
            # Nothing here awaits, so the dict cannot change while it is walked.
            for downstream in self.downstreams.values():
                downstream.forward(packet, now_ntp)

    @staticmethod
    def _background(feedback: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(feedback)
        task.add_done_callback(ignore_connection_errors)

    def _on_sender_report(self, ssrc: int, rtp_timestamp: int, ntp_timestamp: int) -> None:
        # Reports about the RTX stream use its own SSRC; only the media's map RTP time.
        if self.closed or ssrc in self._rtx_to_media_ssrc:
            return
        if self._media_ssrc is not None and ssrc != self._media_ssrc:
            return
        for tap in self.taps:
            tap.sender_report(rtp_timestamp, ntp_timestamp)

    def _account(self, packet: RtpPacket, codec: RTCRtpCodecParameters, arrival_ms: int) -> None:
        """Feed receiver reports (loss, jitter) and the REMB bandwidth estimate."""
        streams = aiortc_internals.receiver_stream_statistics(self.receiver)
        stats = streams.get(packet.ssrc)
        if stats is None:
            stats = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)
        if self._bitrate is not None and packet.extensions.abs_send_time is not None:
            remb = self._bitrate.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            if remb is not None:
                self._own_estimate = remb[0]
                self._background(self._send_remb())

    def subscriber_limit(self) -> int | None:
        """The lowest recent estimate of this track's subscribers (bps), not below the floor."""
        now = time.monotonic()
        limits = [
            limit for d in self.downstreams.values() if (limit := d.remb_limit(now)) is not None
        ]
        return max(REMB_FLOOR_BPS, int(min(limits))) if limits else None

    def remb_target(self) -> int | None:
        """What the publisher is told it may send: its uplink and its poorest subscriber's link."""
        limits = [x for x in (self._own_estimate, self.subscriber_limit()) if x is not None]
        return min(limits) if limits else None

    async def _send_remb(self) -> None:
        target = self.remb_target()
        rtcp_ssrc = aiortc_internals.receiver_rtcp_ssrc(self.receiver)
        if target is None or rtcp_ssrc is None or self._media_ssrc is None or self.closed:
            return
        fci = pack_remb_fci(target, [self._media_ssrc])
        feedback = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=fci)
        self.remb_sent, self._remb_sent_at = target, time.monotonic()
        self._counters.rembs_sent += 1
        await self.receiver._send_rtcp(feedback)

    def subscriber_estimate(self) -> None:
        """A subscriber sent REMB: pass a lower limit on now, not at the next own estimate."""
        target = self.remb_target()
        if target is None or self.closed:
            return
        lower = self.remb_sent is None or target < self.remb_sent
        if lower and time.monotonic() - self._remb_sent_at >= SUBSCRIBER_REMB_INTERVAL:
            task = asyncio.ensure_future(self._send_remb())
            task.add_done_callback(ignore_connection_errors)

    def loss_stats(self) -> tuple[int, int, float]:
        """(packets received, packets lost, jitter in clock units) over all SSRCs."""
        received = lost = 0
        jitter = 0.0
        for stats in aiortc_internals.receiver_stream_statistics(self.receiver).values():
            received += stats.packets_received
            lost += max(stats.packets_lost, 0)
            jitter = max(jitter, float(stats.jitter))
        return received, lost, jitter

    async def close(self) -> None:
        self.closed = True
        aiortc_internals.stop_receiving_synchronously(self.receiver)
        self.taps.clear()
        self._keyframes.close()
        downstreams = list(self.downstreams.values())
        self.downstreams.clear()
        await asyncio.gather(*(d.close() for d in downstreams), return_exceptions=True)
