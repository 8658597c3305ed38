"""RTP payloads back into encoded frames: VP8, H.264 (packetization-mode 1), Opus.

Runs on the capture worker thread, never on the event loop. Packets are put
back in order within a small window (:class:`ReorderBuffer`); a packet that
does not come within it is taken as lost. A video frame with a lost or
malformed packet is dropped whole, and so is every frame after it until the
next keyframe (they refer to what was lost): :attr:`TrackDepacketizer.wants_keyframe`
tells the capture to ask the publisher for one. Nothing here raises on bad
input: a malformed payload only breaks its frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

ANNEX_B = b"\x00\x00\x00\x01"
H264_IDR, H264_SPS, H264_PPS = 5, 7, 8
H264_STAP_A, H264_FU_A = 24, 28
# Packets a reordered one may come late by: ~0.5 s of 700 kbps video, ~0.3 s of Opus.
VIDEO_WINDOW = 48
AUDIO_WINDOW = 16


class MalformedPayload(ValueError):
    """A payload that does not follow its RTP payload format."""


@dataclass(slots=True)
class Frame:
    """One encoded frame, as its encoder made it."""

    timestamp: int  # RTP timestamp (32 bits, as sent)
    data: bytes
    keyframe: bool
    arrival_ms: int  # arrival of its first packet, aiortc's clock (ms since 1900)
    width: int = 0  # from a keyframe's header, when the codec says
    height: int = 0
    extradata: bytes = b""  # H.264: the SPS and PPS (Annex B) that go with a keyframe


class ReorderBuffer(Generic[T]):
    """Puts packets back in sequence order; yields ``None`` where packets were lost.

    A missing packet is waited for until ``window`` later packets have come;
    then it is given up and the buffer goes on from the next one it holds.
    Duplicates and packets older than what was already given out are dropped.
    """

    def __init__(self, window: int) -> None:
        self.window = window
        self._next: int | None = None  # extended sequence number expected next
        self._highest = 0
        self._pending: dict[int, T] = {}
        self.late = 0  # duplicates and packets that came after they were given up
        self.lost = 0

    def _extend(self, seq: int) -> int:
        if self._next is None:
            self._highest = seq
            return seq
        delta = (seq - self._highest) & 0xFFFF
        if delta >= 0x8000:
            delta -= 0x10000
        extended = self._highest + delta
        self._highest = max(self._highest, extended)
        return extended

    def push(self, seq: int, item: T) -> list[T | None]:
        """Add a packet; return what is now ready, in order (``None``: a gap)."""
        extended = self._extend(seq & 0xFFFF)
        if self._next is None:
            self._next = extended
        if extended < self._next or extended in self._pending:
            self.late += 1
            return []
        self._pending[extended] = item
        out: list[T | None] = []
        self._drain(out)
        while self._pending and self._highest - self._next >= self.window:
            resume = min(self._pending)
            self.lost += resume - self._next
            self._next = resume
            out.append(None)
            self._drain(out)
        return out

    def _drain(self, out: list[T | None]) -> None:
        assert self._next is not None
        while self._next in self._pending:
            out.append(self._pending.pop(self._next))
            self._next += 1

    def flush(self) -> list[T | None]:
        """Everything still held, in order, with its gaps (the stream ends)."""
        out: list[T | None] = []
        while self._pending:
            assert self._next is not None
            resume = min(self._pending)
            if resume != self._next:
                self.lost += resume - self._next
                out.append(None)
                self._next = resume
            self._drain(out)
        return out


# -- VP8 (RFC 7741) -------------------------------------------------------------


def vp8_descriptor(payload: bytes) -> tuple[bool, int]:
    """(starts a frame, descriptor length) of a VP8 payload."""
    if len(payload) < 2:
        raise MalformedPayload("VP8 payload too short")
    first = payload[0]
    pos = 1
    if first & 0x80:  # X: an extension byte follows
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= pos:
                raise MalformedPayload("VP8 picture id cut off")
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/KEYIDX
            pos += 1
    if pos >= len(payload):
        raise MalformedPayload("VP8 payload has no data")
    start = bool(first & 0x10) and (first & 0x07) == 0
    return start, pos


def vp8_keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) if ``frame`` is a VP8 keyframe (RFC 6386, 9.1), else None."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height


# -- H.264 (RFC 6184, packetization-mode 1) -------------------------------------


@dataclass
class H264Parts:
    """NAL units of one access unit being reassembled from its packets."""

    nals: list[bytearray] = field(default_factory=list)
    in_fragment: bool = False

    def add(self, payload: bytes) -> None:
        if not payload:
            raise MalformedPayload("empty H.264 payload")
        nal_type = payload[0] & 0x1F
        if 1 <= nal_type <= 23:
            self._whole(payload)
        elif nal_type == H264_STAP_A:
            pos = 1
            while pos < len(payload):
                if pos + 2 > len(payload):
                    raise MalformedPayload("STAP-A size cut off")
                size = int.from_bytes(payload[pos : pos + 2], "big")
                pos += 2
                if size == 0 or pos + size > len(payload):
                    raise MalformedPayload("STAP-A unit out of bounds")
                self._whole(payload[pos : pos + size])
                pos += size
        elif nal_type == H264_FU_A:
            if len(payload) < 3:
                raise MalformedPayload("FU-A too short")
            header = payload[1]
            if header & 0x80:  # start
                if self.in_fragment:
                    raise MalformedPayload("FU-A started twice")
                self.nals.append(bytearray([(payload[0] & 0xE0) | (header & 0x1F)]))
                self.in_fragment = True
            elif not self.in_fragment:
                raise MalformedPayload("FU-A continues a unit that never started")
            self.nals[-1] += payload[2:]
            if header & 0x40:  # end
                self.in_fragment = False
        else:
            raise MalformedPayload(f"H.264 NAL type {nal_type} is not in packetization-mode 1")

    def _whole(self, nal: bytes) -> None:
        if self.in_fragment:
            raise MalformedPayload("a NAL unit inside an unfinished FU-A")
        if not nal or nal[0] & 0x80:  # forbidden_zero_bit
            raise MalformedPayload("bad NAL unit header")
        self.nals.append(bytearray(nal))

    def frame(self) -> tuple[bytes, bool, bytes]:
        """(Annex B access unit, is a keyframe, its SPS+PPS in Annex B)."""
        if self.in_fragment or not self.nals:
            raise MalformedPayload("the access unit is incomplete")
        types = [nal[0] & 0x1F for nal in self.nals]
        data = b"".join(ANNEX_B + bytes(nal) for nal in self.nals)
        params = b"".join(
            ANNEX_B + bytes(nal) for nal, t in zip(self.nals, types, strict=True) if t in (7, 8)
        )
        return data, H264_IDR in types, params


def h264_starts_frame(payload: bytes) -> bool:
    """Whether a packet can be the first of an access unit (not an FU-A continuation)."""
    if not payload:
        return False
    if payload[0] & 0x1F == H264_FU_A:
        return len(payload) > 1 and bool(payload[1] & 0x80)
    return True


class _Bits:
    """Exp-Golomb reader over an RBSP (emulation prevention bytes removed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise MalformedPayload("SPS cut off")
            value = (value << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise MalformedPayload("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def h264_sps_size(sps: bytes) -> tuple[int, int] | None:
    """(width, height) from an SPS NAL unit (with its header), or None if it does not parse."""
    rbsp = sps.replace(b"\x00\x00\x03", b"\x00\x00")
    try:
        bits = _Bits(rbsp[1:])
        profile = bits.u(8)
        bits.u(16)  # constraint flags, level
        bits.ue()  # seq_parameter_set_id
        chroma = 1
        if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma = bits.ue()
            if chroma == 3:
                bits.u(1)
            bits.ue()
            bits.ue()
            bits.u(1)
            if bits.u(1):  # scaling matrices: skipped, they do not change the size
                for index in range(12 if chroma == 3 else 8):
                    if bits.u(1):
                        last = following = 8
                        for _ in range(16 if index < 6 else 64):
                            if following:
                                following = (last + bits.se() + 256) % 256
                            last = following or last
        bits.ue()  # log2_max_frame_num_minus4
        poc_type = bits.ue()
        if poc_type == 0:
            bits.ue()
        elif poc_type == 1:
            bits.u(1)
            bits.se()
            bits.se()
            for _ in range(bits.ue()):
                bits.se()
        bits.ue()  # max_num_ref_frames
        bits.u(1)
        width_mbs = bits.ue() + 1
        height_units = bits.ue() + 1
        frame_mbs_only = bits.u(1)
        if not frame_mbs_only:
            bits.u(1)
        bits.u(1)
        crop = (bits.ue(), bits.ue(), bits.ue(), bits.ue()) if bits.u(1) else (0, 0, 0, 0)
    except MalformedPayload:
        return None
    unit_x = 2 if chroma in (1, 2) else 1
    unit_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
    width = width_mbs * 16 - (crop[0] + crop[1]) * unit_x
    height = (2 - frame_mbs_only) * height_units * 16 - (crop[2] + crop[3]) * unit_y
    return (width, height) if width > 0 and height > 0 else None


def _sps_in(params: bytes) -> bytes | None:
    for unit in params.split(ANNEX_B):
        if unit and unit[0] & 0x1F == H264_SPS:
            return unit
    return None


# -- a track ---------------------------------------------------------------------


class TrackDepacketizer:
    """Turns one track's packets (in any order) into whole frames, in order.

    ``codec`` is the RTP encoding name: ``VP8``, ``H264`` or ``opus``.
    """

    def __init__(self, codec: str) -> None:
        self.codec = codec.upper()
        if self.codec not in ("VP8", "H264", "OPUS"):
            raise ValueError(f"cannot depacketize {codec}")
        self.video = self.codec != "OPUS"
        self.reorder: ReorderBuffer[tuple[int, bool, bytes, int]] = ReorderBuffer(
            VIDEO_WINDOW if self.video else AUDIO_WINDOW
        )
        # Until a keyframe comes, delta frames cannot be decoded: the first one is awaited.
        self.wants_keyframe = self.video
        self.frames = 0
        self.dropped_frames = 0
        self.malformed = 0
        self._parameters = b""  # the last SPS+PPS seen (H.264)
        self._timestamp: int | None = None
        self._arrival = 0
        self._broken = False
        self._vp8: list[bytes] = []
        self._h264 = H264Parts()

    @property
    def lost(self) -> int:
        return self.reorder.lost

    def push(
        self, seq: int, timestamp: int, marker: bool, payload: bytes, arrival_ms: int
    ) -> list[Frame]:
        """Add one packet; return the frames it completes. Never raises on bad input."""
        return list(self._feed(self.reorder.push(seq, (timestamp, marker, payload, arrival_ms))))

    def flush(self) -> list[Frame]:
        """The frames still completable from what is held (the track ends)."""
        frames = list(self._feed(self.reorder.flush()))
        self._abandon()
        return frames

    def _feed(self, ready: list[tuple[int, bool, bytes, int] | None]) -> Iterator[Frame]:
        for item in ready:
            if item is None:
                self._gap()
                continue
            frame = self._packet(*item)
            if frame is not None:
                yield frame

    def _gap(self) -> None:
        if self.video:
            # Inside a frame, the frame is broken; between frames, a lost frame is
            # only seen as such by the next one's start (``_broken_start``).
            if self._timestamp is not None:
                self._broken = True
            self.wants_keyframe = True

    def _abandon(self) -> None:
        """Drop the frame being assembled (incomplete)."""
        if self._timestamp is not None:
            self.dropped_frames += 1
        self._timestamp = None
        self._vp8 = []
        self._h264 = H264Parts()

    def _packet(self, timestamp: int, marker: bool, payload: bytes, arrival: int) -> Frame | None:
        if not self.video:
            if not payload:
                return None
            self.frames += 1
            return Frame(timestamp, payload, True, arrival)
        if self._timestamp is not None and timestamp != self._timestamp:
            # The previous frame never saw its last packet (marker): it is incomplete.
            self._abandon()
            self.wants_keyframe = True
            self._broken = False
        if self._timestamp is None:
            self._timestamp = timestamp
            self._arrival = arrival
            self._broken = self._broken_start(payload)
        if not self._broken:
            try:
                self._add(payload)
            except (MalformedPayload, IndexError, ValueError):
                self.malformed += 1
                self._broken = True
                self.wants_keyframe = True
        if not marker:
            return None
        frame = None if self._broken else self._finish(timestamp)
        if frame is None:
            self.dropped_frames += 1
        self._timestamp = None
        self._broken = False
        self._vp8 = []
        self._h264 = H264Parts()
        return frame

    def _broken_start(self, payload: bytes) -> bool:
        """Whether a frame that begins with this packet is already broken (its start lost)."""
        if self._broken:
            return True
        try:
            if self.codec == "VP8":
                return not vp8_descriptor(payload)[0]
            return not h264_starts_frame(payload)
        except MalformedPayload:
            self.malformed += 1
            return True

    def _add(self, payload: bytes) -> None:
        if self.codec == "VP8":
            _, header = vp8_descriptor(payload)
            self._vp8.append(payload[header:])
        else:
            self._h264.add(payload)

    def _finish(self, timestamp: int) -> Frame | None:
        width = height = 0
        extradata = b""
        try:
            if self.codec == "VP8":
                data = b"".join(self._vp8)
                size = vp8_keyframe_size(data)
                keyframe = size is not None
                if size is not None:
                    width, height = size
            else:
                data, keyframe, params = self._h264.frame()
                if params:
                    self._parameters = params
                if keyframe:
                    extradata = self._parameters
                    sps = _sps_in(extradata)
                    size = h264_sps_size(sps) if sps else None
                    if size is not None:
                        width, height = size
        except MalformedPayload:
            self.malformed += 1
            self.wants_keyframe = True
            return None
        if not data:
            return None
        if self.wants_keyframe and not keyframe:
            return None  # refers to a frame that was lost: useless until a keyframe
        self.wants_keyframe = False
        self.frames += 1
        return Frame(timestamp, data, keyframe, self._arrival, width, height, extradata)
