"""One forwarded stream: a publisher's track as sent to one subscriber.

Packets are rewritten, never re-encoded: the subscriber's sender has its own
SSRC, payload type, sequence numbers and timestamp origin. Sequence numbers
keep the publisher's gaps, so the subscriber's NACKs name real losses; NACKs
are answered from this stream's own history.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import MediaStreamTrack, RTCRtpSender, RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    HeaderExtensionsMap,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    RtpPacket,
    unpack_remb_fci,
    wrap_rtx,
)
from aiortc.utils import uint16_add

from server.sfu import aiortc_internals
from server.sfu.counters import MediaCounters
from server.sfu.payload import keyframe_start
from server.sfu.rtpheader import HeaderTemplate

# Video packets kept for retransmission: ~3 s of 640x480 video (~80 packets/s),
# far longer than any NACK round trip. Audio keeps none: Opus is not NACKed.
HISTORY_SIZE = 256

# A subscriber's REMB older than this no longer limits the publisher (it left, or
# its browser stopped estimating).
REMB_FRESH_SECONDS = 5.0
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)


def ntp_now() -> int:
    """The wall clock as NTP 32.32 fixed point, like aiortc's ``current_ntp_time`` but
    without building and subtracting ``datetime`` objects (it ran twice per forwarded
    packet and was ~8 % of the SFU's busy time at 4 x 4)."""
    now = time.time()
    seconds = int(now)
    return ((seconds + NTP_UNIX_OFFSET) << 32) | int((now - seconds) * 4_294_967_296)


# (sequence number, timestamp, marker, payload): a tuple of atoms, so the
# garbage collector does not track it; RtpPacket objects would cost full
# collections long enough to stall every hearing while people join.
Sent = tuple[int, int, int, bytes]


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """The subscriber's latest RTCP report block about this stream, as it arrived.

    ``gaps`` is this stream's :attr:`Downstream.forward_gaps` when the report
    arrived: the subscriber counts the sequence numbers the publisher lost as
    lost too, and the quality tracker takes them out to see this leg alone.
    """

    number: int  # 1, 2, ...: a new number is a new report
    highest_sequence: int  # low 16 bits only: aiortc clients send no cycle count
    packets_lost: int  # cumulative, as the subscriber counts it
    jitter: int  # RTP clock units
    gaps: int
    at: float  # time.monotonic() on arrival


class ForwardedTrack(MediaStreamTrack):
    """A placeholder track for a forwarding sender.

    aiortc's sender pulls frames from its track to encode them; a forwarding
    sender must never do that, so this track's ``recv`` only waits for the end.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._ended = asyncio.Event()

    async def recv(self) -> None:  # type: ignore[override]
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self._ended.set()
        super().stop()


class Downstream:
    """Rewrites and sends one published track's packets to one subscriber."""

    def __init__(
        self,
        *,
        transceiver: RTCRtpTransceiver,
        mime_type: str,
        counters: MediaCounters,
        request_keyframe: Callable[[], None],
        on_remb: Callable[[], None] | None = None,
    ) -> None:
        self.transceiver = transceiver
        self.sender: RTCRtpSender = transceiver.sender
        self.mime_type = mime_type
        self.is_video = mime_type.lower().startswith("video/")
        self._counters = counters
        self._request_keyframe = request_keyframe
        self._payload_type: int | None = None
        self._rtx_payload_type: int | None = None
        self._mid: str | None = None
        self._extensions = HeaderExtensionsMap()
        self._header: HeaderTemplate | None = None
        self._seq_offset: int | None = None
        self._ts_offset = random.getrandbits(32)
        self._rtx_seq = random.getrandbits(16)
        self._history: list[Sent | None] | None = [None] * HISTORY_SIZE if self.is_video else None
        aiortc_internals.release_receive_state(transceiver.receiver)
        self.closed = False
        # After the publisher's media was held back (a court's locked mute), the
        # next packet continues this subscriber's sequence where it stopped.
        self._resync = False
        self.clock_rate: int | None = None
        # Sequence numbers skipped because the publisher's packet never came
        # (a late one fills one back in); the subscriber counts them as lost.
        self.forward_gaps = 0
        self._highest_seq: int | None = None
        self.report: ReceiverReport | None = None
        # Sound only (the subscriber's choice): video is held back until they want it again.
        self.paused = False
        # The subscriber's bandwidth estimate for this stream (bps) and when it came.
        self.remb_bps: float | None = None
        self._remb_at = float("-inf")
        self._on_remb = on_remb
        # aiortc calls these on the sender; a forwarding sender answers them itself.
        original_send = self.sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            await original_send(parameters)
            self._started(parameters)

        self.sender.send = send  # type: ignore[method-assign]
        self.sender._send_keyframe = self._on_keyframe_request  # type: ignore[method-assign]
        self.sender._retransmit = self._retransmit  # type: ignore[method-assign]
        original_rtcp = self.sender._handle_rtcp_packet

        async def handle_rtcp(packet: AnyRtcpPacket) -> None:
            if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
                self._note_reports(packet)
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                self._note_remb(packet)
            await original_rtcp(packet)  # aiortc updates its round-trip time there

        self.sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]

    @property
    def ready(self) -> bool:
        return self._payload_type is not None and not self.closed

    def _started(self, parameters: RTCRtpSendParameters) -> None:
        codec = parameters.codecs[0]
        self._payload_type = codec.payloadType
        self.clock_rate = codec.clockRate
        for candidate in parameters.codecs:
            if (
                candidate.mimeType.lower().endswith("/rtx")
                and candidate.parameters.get("apt") == codec.payloadType
            ):
                self._rtx_payload_type = candidate.payloadType
        self._mid = parameters.muxId
        self._extensions.configure(parameters)
        self._header = HeaderTemplate(
            payload_type=codec.payloadType, ssrc=self.sender._ssrc, parameters=parameters
        )
        if self.is_video:
            self._request_keyframe()

    def _note_reports(self, packet: RtcpRrPacket | RtcpSrPacket) -> None:
        for block in packet.reports:
            if block.ssrc == self.sender._ssrc:
                self.report = ReceiverReport(
                    number=1 if self.report is None else self.report.number + 1,
                    highest_sequence=block.highest_sequence & 0xFFFF,
                    packets_lost=block.packets_lost,
                    jitter=block.jitter,
                    gaps=self.forward_gaps,
                    at=time.monotonic(),
                )

    def _note_remb(self, packet: RtcpPsfbPacket) -> None:
        try:
            bitrate, ssrcs = unpack_remb_fci(packet.fci)
        except ValueError:
            return  # another application-layer feedback, not REMB
        if self.sender._ssrc not in ssrcs:
            return
        # A browser's REMB is one estimate for its whole connection, naming every
        # stream it covers: this stream's share is an even part of it.
        self.remb_bps = bitrate / len(ssrcs)
        self._remb_at = time.monotonic()
        if self._on_remb is not None:
            self._on_remb()

    def remb_limit(self, now: float) -> float | None:
        """The subscriber's recent estimate for this stream, if it counts now."""
        if self.paused or self.closed or now - self._remb_at > REMB_FRESH_SECONDS:
            return None
        return self.remb_bps

    def pause(self, on: bool) -> None:
        """Hold video back (sound only), or send it again from the next keyframe."""
        if on == self.paused:
            return
        self.paused = on
        if not on:
            self.resync()
            self._request_keyframe()

    def _on_keyframe_request(self) -> None:
        self._counters.plis_received += 1
        self._request_keyframe()

    def forward(self, packet: RtpPacket, now_ntp: int | None = None) -> None:
        """Send ``packet`` (the publisher's, with RTX already unwrapped) to this subscriber.

        Never waits: the header is packed from this stream's template, the
        payload appended as it came, and the result encrypted and handed to the
        socket (:func:`aiortc_internals.send_rtp_now`). ``now_ntp`` is the send
        time (NTP 32.32), read once for all copies of one incoming packet.
        """
        header = self._header
        if header is None or self.closed or self.paused:
            return
        if self._seq_offset is None or self._resync:
            if self.is_video and not keyframe_start(self.mime_type, packet.payload):
                self._counters.packets_dropped_waiting_keyframe += 1
                return
            start = (
                random.getrandbits(16)
                if self._highest_seq is None
                else (self._highest_seq + 1) & 0xFFFF  # no gap the subscriber would count as loss
            )
            self._seq_offset = (start - packet.sequence_number) & 0xFFFF
            self._resync = False
        if now_ntp is None:
            now_ntp = ntp_now()
        sequence_number = (packet.sequence_number + self._seq_offset) & 0xFFFF
        timestamp = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        payload = packet.payload
        self._count_gaps(sequence_number)
        if self._history is not None:
            self._history[sequence_number % HISTORY_SIZE] = (
                sequence_number,
                timestamp,
                packet.marker,
                payload,
            )
        data = header.pack(
            sequence_number,
            timestamp,
            packet.marker,
            (now_ntp >> 14) & 0x00FFFFFF,
            packet.extensions.audio_level,
        )
        if not aiortc_internals.send_rtp_now(self.sender.transport, data + payload):
            return
        aiortc_internals.record_sent_packet(self.sender, now_ntp, timestamp, len(payload))
        counters = self._counters
        counters.packets_forwarded += 1
        counters.bytes_forwarded += len(data) + len(payload)

    def resync(self) -> None:
        """Media was held back: go on from the next packet (from a keyframe for video)."""
        self._resync = True

    def _count_gaps(self, sequence_number: int) -> None:
        if self._highest_seq is None:
            self._highest_seq = sequence_number
            return
        ahead = (sequence_number - self._highest_seq) & 0xFFFF
        if 0 < ahead < 0x8000:
            self.forward_gaps += ahead - 1
            self._highest_seq = sequence_number
        elif ahead and self.forward_gaps:
            self.forward_gaps -= 1  # a late packet (the SFU's NACK repaired it) fills a gap

    async def _retransmit(self, sequence_number: int) -> None:
        self._counters.nacks_received += 1
        if self._history is None or self.closed or self._payload_type is None:
            return
        sent = self._history[sequence_number % HISTORY_SIZE]
        if sent is None or sent[0] != sequence_number:
            return
        packet = RtpPacket(
            payload_type=self._payload_type,
            marker=sent[2],
            sequence_number=sent[0],
            timestamp=sent[1],
            ssrc=self.sender._ssrc,
            payload=sent[3],
        )
        packet.extensions.mid = self._mid
        if self._rtx_payload_type is not None:
            packet = wrap_rtx(
                packet,
                payload_type=self._rtx_payload_type,
                sequence_number=self._rtx_seq,
                ssrc=self.sender._rtx_ssrc,
            )
            self._rtx_seq = uint16_add(self._rtx_seq, 1)
        try:
            await self.sender.transport._send_rtp(packet.serialize(self._extensions))
        except ConnectionError:
            return
        self._counters.retransmissions += 1

    async def close(self) -> None:
        """Stop forwarding; the sender's RTCP BYE tells the subscriber the track ended."""
        if self.closed:
            return
        self.closed = True
        self._history = None
        await self.sender.stop()
