"""Keyframe detection in VP8 and H.264 RTP payloads."""

from __future__ import annotations

import fractions

import av
import numpy as np
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from hypothesis import given
from hypothesis import strategies as st

from server.sfu.payload import h264_keyframe_start, keyframe_start, vp8_keyframe_start


def frames(count: int) -> list[av.VideoFrame]:
    rng = np.random.default_rng(1)
    out = []
    for index in range(count):
        image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = index * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        out.append(frame)
    return out


def test_vp8_keyframes_are_found_only_at_their_first_packet() -> None:
    encoder = Vp8Encoder()
    keyframe_flags = []
    for index, frame in enumerate(frames(6)):
        payloads, _ = encoder.encode(frame, force_keyframe=index in (0, 4))
        keyframe_flags.append([vp8_keyframe_start(p) for p in payloads])
    assert keyframe_flags[0][0] and keyframe_flags[4][0]
    assert not any(
        flag for i, flags in enumerate(keyframe_flags) if i not in (0, 4) for flag in flags
    )
    assert not any(keyframe_flags[0][1:]), "continuation packets are not keyframe starts"


def test_h264_keyframes_are_found() -> None:
    encoder = H264Encoder()
    results = []
    for index, frame in enumerate(frames(5)):
        payloads, _ = encoder.encode(frame, force_keyframe=index in (0, 3))
        results.append(any(h264_keyframe_start(p) for p in payloads))
    assert results[0] and results[3]
    assert not results[1] and not results[2] and not results[4]


def test_hand_made_h264_payloads() -> None:
    sps, idr, slice_ = bytes([0x67, 1]), bytes([0x65, 1]), bytes([0x41, 1])
    assert h264_keyframe_start(sps) and h264_keyframe_start(idr)
    assert not h264_keyframe_start(slice_)
    stap = (
        bytes([0x78]) + len(sps).to_bytes(2, "big") + sps + len(slice_).to_bytes(2, "big") + slice_
    )
    assert h264_keyframe_start(stap)
    fu_start_idr = bytes([0x7C, 0x85, 9])
    fu_middle_idr = bytes([0x7C, 0x05, 9])
    assert h264_keyframe_start(fu_start_idr)
    assert not h264_keyframe_start(fu_middle_idr)


def test_audio_never_waits_for_a_keyframe() -> None:
    assert keyframe_start("audio/opus", b"\x01\x02")


@given(st.binary(max_size=64))
def test_random_payloads_never_crash(payload: bytes) -> None:
    assert isinstance(vp8_keyframe_start(payload), bool)
    assert isinstance(h264_keyframe_start(payload), bool)
