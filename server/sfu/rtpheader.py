"""The RTP header of one forwarded stream, packed per packet from parts fixed at negotiation.

A forwarded copy differs from the publisher's packet only in its header: the
subscriber's SSRC and payload type, its own sequence numbers and timestamps,
the subscriber transceiver's MID, the SFU's abs-send-time, and the publisher's
audio level passed through. Everything but those four per-packet values is
known when the subscriber's sender starts, so each copy is one
``struct.pack`` of a precomputed layout followed by the payload bytes, and no
``RtpPacket`` is built.

The layout is aiortc's (``RtpPacket.serialize``): extensions in the order MID,
abs-send-time, audio level, RFC 8285 one-byte header, zero padding to 32 bits.
Extension ids above 14 or a MID over 16 bytes (or empty) need the two-byte header; such a
stream is packed by aiortc itself (:class:`HeaderTemplate` falls back).
"""

from __future__ import annotations

import struct

from aiortc.rtcrtpparameters import RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ONE_BYTE_PROFILE = 0xBEDE


def _extension_ids(parameters: RTCRtpParameters) -> dict[str, int]:
    return {ext.uri: ext.id for ext in parameters.headerExtensions}


class HeaderTemplate:
    """Packs the header of each copy: ``pack(seq, ts, marker, abs_send_time, audio_level)``."""

    def __init__(self, *, payload_type: int, ssrc: int, parameters: RTCRtpParameters) -> None:
        ids = _extension_ids(parameters)
        mid = parameters.muxId.encode() if parameters.muxId else b""
        mid_id = ids.get(MID_URI)
        self._payload_type = payload_type
        self._ssrc = ssrc
        self._abs_id = ids.get(ABS_SEND_TIME_URI)
        self._level_id = ids.get(AUDIO_LEVEL_URI)
        used = [i for i in (mid_id, self._abs_id, self._level_id) if i is not None]
        self._fallback: HeaderExtensionsMap | None = None
        # an empty MID is a zero-length element: two-byte header too (as aiortc writes it)
        if any(not 0 < i <= 14 for i in used) or len(mid) > 16 or (mid_id and not mid):
            self._fallback = HeaderExtensionsMap()
            self._fallback.configure(parameters)
            self._mid = parameters.muxId
            return
        mid_element = bytes([(mid_id << 4) | (len(mid) - 1)]) + mid if mid_id else b""
        self._abs_tag = (((self._abs_id << 4) | 2) << 24) if self._abs_id else None
        self._level_tag = (self._level_id << 12) if self._level_id else None
        self._plain = self._layout(mid_element, with_level=False)
        self._leveled = self._layout(mid_element, with_level=True) if self._level_tag else None

    def _layout(self, mid_element: bytes, *, with_level: bool) -> tuple[int, bytes, struct.Struct]:
        """(first byte, fixed extension bytes, the struct) of one shape of header."""
        length = (
            len(mid_element) + (4 if self._abs_tag is not None else 0) + (2 if with_level else 0)
        )
        if not length:
            return 0x80, b"", struct.Struct("!BBHII0s")
        padding = -length % 4
        fixed = struct.pack("!HH", ONE_BYTE_PROFILE, (length + padding) // 4) + mid_element
        fmt = f"!BBHII{len(fixed)}s"
        if self._abs_tag is not None:
            fmt += "I"
        if with_level:
            fmt += "H"
        return 0x90, fixed, struct.Struct(fmt + "x" * padding)

    def pack(
        self,
        sequence_number: int,
        timestamp: int,
        marker: int,
        abs_send_time: int,
        audio_level: tuple[bool, int] | None,
    ) -> bytes:
        if self._fallback is not None:
            return self._pack_with_aiortc(
                sequence_number, timestamp, marker, abs_send_time, audio_level
            )
        second = (marker << 7) | self._payload_type
        if audio_level is not None and self._leveled is not None:
            first, fixed, layout = self._leveled
            level = self._level_tag | (0x80 if audio_level[0] else 0) | (audio_level[1] & 0x7F)
            if self._abs_tag is not None:
                return layout.pack(
                    first, second, sequence_number, timestamp, self._ssrc, fixed,
                    self._abs_tag | abs_send_time, level,
                )  # fmt: skip
            return layout.pack(first, second, sequence_number, timestamp, self._ssrc, fixed, level)
        first, fixed, layout = self._plain
        if self._abs_tag is not None:
            return layout.pack(
                first, second, sequence_number, timestamp, self._ssrc, fixed,
                self._abs_tag | abs_send_time,
            )  # fmt: skip
        return layout.pack(first, second, sequence_number, timestamp, self._ssrc, fixed)

    def _pack_with_aiortc(
        self,
        sequence_number: int,
        timestamp: int,
        marker: int,
        abs_send_time: int,
        audio_level: tuple[bool, int] | None,
    ) -> bytes:
        packet = RtpPacket(
            payload_type=self._payload_type,
            marker=marker,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=self._ssrc,
        )
        packet.extensions.mid = self._mid
        packet.extensions.abs_send_time = abs_send_time
        packet.extensions.audio_level = audio_level
        assert self._fallback is not None
        return packet.serialize(self._fallback)
