"""Depacketizing RTP back into frames: real encoder output, reordering, loss, and fuzzing."""

from __future__ import annotations

import fractions
import random
import struct

import av
import numpy as np
import pytest
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.depacketize import (
    Frame,
    H264Parts,
    MalformedPayload,
    ReorderBuffer,
    TrackDepacketizer,
    h264_sps_size,
)

CODECS = {
    "VP8": RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96),
    "H264": RTCRtpCodecParameters(
        mimeType="video/H264",
        clockRate=90000,
        payloadType=102,
        parameters={"packetization-mode": "1", "profile-level-id": "42e01f"},
    ),
}

Packet = tuple[int, int, bool, bytes]  # seq, timestamp, marker, payload


def encoded_packets(codec: str, frames: int = 20, keyframes: tuple[int, ...] = ()) -> list[Packet]:
    """RTP packets as aiortc's own encoder packetizes a changing picture."""
    encoder = get_encoder(CODECS[codec])
    packets: list[Packet] = []
    seq = 65500  # wraps around during the stream
    for index in range(frames):
        image = np.zeros((240, 320, 3), np.uint8)
        image[:, : (index * 16) % 320] = (200, 40, 90)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = index * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame, force_keyframe=index in keyframes)
        for number, payload in enumerate(payloads):
            packets.append((seq & 0xFFFF, timestamp, number == len(payloads) - 1, payload))
            seq += 1
    return packets


def depacketize(codec: str, packets: list[Packet]) -> tuple[TrackDepacketizer, list[Frame]]:
    track = TrackDepacketizer(codec)
    frames: list[Frame] = []
    for arrival, (seq, timestamp, marker, payload) in enumerate(packets):
        frames += track.push(seq, timestamp, marker, payload, arrival)
    frames += track.flush()
    return track, frames


def decoded(codec: str, frames: list[Frame]) -> int:
    decoder = av.CodecContext.create(codec.lower(), "r")
    return sum(len(decoder.decode(av.Packet(f.data))) for f in frames)


@pytest.mark.parametrize("codec", ["VP8", "H264"])
def test_frames_come_back_whole_and_decode(codec: str) -> None:
    packets = encoded_packets(codec, frames=20, keyframes=(10,))
    track, frames = depacketize(codec, packets)
    assert len(frames) == 20
    assert [f.keyframe for f in frames].count(True) == 2 and frames[0].keyframe
    assert (frames[0].width, frames[0].height) == (320, 240)
    assert decoded(codec, frames) == 20
    assert track.lost == track.malformed == 0
    timestamps = [f.timestamp for f in frames]
    assert timestamps == sorted(timestamps)
    if codec == "H264":
        assert frames[0].extradata.startswith(b"\x00\x00\x00\x01\x67")  # SPS, then PPS


@pytest.mark.parametrize("codec", ["VP8", "H264"])
def test_reordering_within_the_window_is_undone(codec: str) -> None:
    packets = encoded_packets(codec, frames=12)
    shuffled = list(packets)
    rng = random.Random(7)
    # Shuffled within blocks of six; the first packet comes first (it starts the stream).
    for start in range(1, len(shuffled) - 6, 6):
        block = shuffled[start : start + 6]
        rng.shuffle(block)
        shuffled[start : start + 6] = block
    _, in_order = depacketize(codec, packets)
    track, frames = depacketize(codec, shuffled)
    assert [f.data for f in frames] == [f.data for f in in_order]
    assert track.lost == 0 and not track.wants_keyframe


def test_a_lost_packet_drops_frames_until_the_next_keyframe() -> None:
    # Longer than the reorder window, so the loss is declared while packets still come.
    packets = encoded_packets("VP8", frames=80, keyframes=(60,))
    frame_starts = [i for i, p in enumerate(packets) if i == 0 or packets[i - 1][2]]
    lost = frame_starts[5]  # the first packet of frame 5
    track = TrackDepacketizer("VP8")
    frames: list[Frame] = []
    wanted_after_loss = False
    for seq, timestamp, marker, payload in packets[:lost] + packets[lost + 1 :]:
        frames += track.push(seq, timestamp, marker, payload, 0)
        wanted_after_loss |= track.wants_keyframe
    frames += track.flush()
    assert wanted_after_loss  # the capture asks the publisher for a keyframe
    assert track.lost == 1
    # Frames 0-4 whole, 5-59 dropped (lost or referring to what was), 60- from the keyframe.
    assert len(frames) == 5 + 20
    assert frames[5].keyframe and not track.wants_keyframe
    assert decoded("VP8", frames) == 25


def test_audio_loses_only_the_lost_packet() -> None:
    track = TrackDepacketizer("opus")
    out: list[Frame] = []
    for seq in [*range(10), *range(11, 40)]:
        out += track.push(seq, seq * 960, True, bytes([seq]), seq)
    out += track.flush()
    assert [f.data[0] for f in out] == [s for s in range(40) if s != 10]
    assert all(f.keyframe for f in out) and not track.wants_keyframe


def test_the_reorder_buffer_gives_up_after_its_window() -> None:
    buffer: ReorderBuffer[int] = ReorderBuffer(window=4)
    assert buffer.push(1, 1) == [1]
    out = [buffer.push(s, s) for s in (3, 4, 5)]
    assert out == [[], [], []]  # 2 may still come
    assert buffer.push(6, 6) == [None, 3, 4, 5, 6]  # it did not: a gap
    assert buffer.push(2, 2) == []  # too late
    assert buffer.late == 1 and buffer.lost == 1
    assert buffer.push(0xFFFF, 0) == [] and buffer.late == 2  # far behind, not a wrap forward


def test_sequence_numbers_wrap() -> None:
    buffer: ReorderBuffer[int] = ReorderBuffer(window=8)
    got: list[int | None] = []
    for seq in (65534, 0, 65535, 1):
        got += buffer.push(seq, seq)
    assert got == [65534, 65535, 0, 1]


def test_h264_fragments_and_aggregates() -> None:
    parts = H264Parts()
    sps, pps, idr = b"\x67\x42\xc0\x1f\xda", b"\x68\xce\x3c\x80", b"\x65" + bytes(range(1, 40))
    stap = b"\x18" + struct.pack(">H", len(sps)) + sps + struct.pack(">H", len(pps)) + pps
    parts.add(stap)
    fu_indicator = (idr[0] & 0xE0) | 28
    parts.add(bytes([fu_indicator, 0x80 | 5]) + idr[1:20])
    parts.add(bytes([fu_indicator, 0x00 | 5]) + idr[20:30])
    parts.add(bytes([fu_indicator, 0x40 | 5]) + idr[30:])
    data, keyframe, params = parts.frame()
    start = b"\x00\x00\x00\x01"
    assert data == start + sps + start + pps + start + idr
    assert keyframe and params == start + sps + start + pps
    broken = H264Parts()
    with pytest.raises(MalformedPayload):
        broken.add(bytes([fu_indicator, 5]) + idr[20:30])  # a middle without its start


def test_sps_size_with_cropping() -> None:
    encoder = get_encoder(CODECS["H264"])
    frame = av.VideoFrame.from_ndarray(np.zeros((360, 640, 3), np.uint8), format="rgb24")
    frame.pts, frame.time_base = 0, fractions.Fraction(1, 90000)
    payloads, timestamp = encoder.encode(frame)
    track = TrackDepacketizer("H264")
    frames: list[Frame] = []
    for i, payload in enumerate(payloads):
        frames += track.push(i, timestamp, i == len(payloads) - 1, payload, 0)
    assert (frames[0].width, frames[0].height) == (640, 360)  # 368 coded, cropped to 360
    assert h264_sps_size(b"\x67") is None


packet_strategy = st.tuples(
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.booleans(),
    st.binary(max_size=64),
)


@pytest.mark.parametrize("codec", ["VP8", "H264", "opus"])
@settings(max_examples=150, deadline=None)
@given(packets=st.lists(packet_strategy, max_size=80))
def test_garbage_never_raises(codec: str, packets: list[Packet]) -> None:
    track = TrackDepacketizer(codec)
    for seq, timestamp, marker, payload in packets:
        for frame in track.push(seq, timestamp, marker, payload, 0):
            assert isinstance(frame.data, bytes)
    track.flush()


@settings(max_examples=60, deadline=None)
@given(
    drops=st.sets(st.integers(0, 120), max_size=12),
    swaps=st.lists(st.integers(0, 120), max_size=20),
    corrupt=st.dictionaries(st.integers(0, 120), st.binary(min_size=1, max_size=8), max_size=5),
)
def test_damaged_real_streams_never_raise_and_stay_in_order(
    drops: set[int], swaps: list[int], corrupt: dict[int, bytes]
) -> None:
    packets = REAL_H264
    damaged = [
        (s, t, m, corrupt.get(i, p)) for i, (s, t, m, p) in enumerate(packets) if i not in drops
    ]
    for i in swaps:
        if i + 1 < len(damaged):
            damaged[i], damaged[i + 1] = damaged[i + 1], damaged[i]
    _, frames = depacketize("H264", damaged)
    timestamps = [f.timestamp for f in frames]
    assert timestamps == sorted(timestamps)
    if frames:
        assert frames[0].keyframe


REAL_H264 = encoded_packets("H264", frames=8, keyframes=(4,))
