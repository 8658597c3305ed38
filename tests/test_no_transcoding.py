"""The forwarding path never decodes or encodes: encoded frames arrive byte for byte."""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import itertools

import aiortc.rtcrtpreceiver
import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.codecs import opus, vpx
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtp import RtpPacket
from support.waiting import wait_until

from signaling.client import HearingClient, RemoteTrack

pytestmark = pytest.mark.integration

VIDEO_CLOCK = 90000


def encode_vp8_clip(frames: int = 90) -> list[bytes]:
    """A VP8 clip of distinct noisy frames, a keyframe every 10 frames."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = 160, 120
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.gop_size = 10
    codec.bit_rate = 300_000
    rng = np.random.default_rng(7)
    packets: list[bytes] = []
    for index in range(frames):
        image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    return packets


class EncodedVideoTrack(MediaStreamTrack):
    """Sends pre-encoded VP8 frames at 30 fps: aiortc packetizes them without encoding."""

    kind = "video"

    def __init__(self, frames: list[bytes]) -> None:
        super().__init__()
        self.frames = frames
        self.index = 0

    async def recv(self) -> av.Packet:
        await asyncio.sleep(1 / 30)
        data = self.frames[self.index % len(self.frames)]
        packet = av.Packet(data)
        packet.pts = self.index * (VIDEO_CLOCK // 30)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.index += 1
        return packet


def capture_rtp(receiver: RTCRtpReceiver, sink: list[RtpPacket]) -> None:
    """Keep the subscriber's raw RTP instead of letting aiortc decode it."""

    async def keep(packet: RtpPacket, arrival_time_ms: int) -> None:
        sink.append(packet)

    receiver._handle_rtp_packet = keep  # type: ignore[method-assign]


def reassemble_vp8(packets: list[RtpPacket], payload_type: int) -> list[bytes]:
    """Whole VP8 frames (descriptor stripped) from RTP packets, in order, complete ones only."""
    by_timestamp: dict[int, list[RtpPacket]] = {}
    order: list[int] = []
    for packet in packets:
        if packet.payload_type != payload_type:
            continue  # retransmissions
        if packet.timestamp not in by_timestamp:
            by_timestamp[packet.timestamp] = []
            order.append(packet.timestamp)
        by_timestamp[packet.timestamp].append(packet)
    frames = []
    for timestamp in order:
        parts = sorted(by_timestamp[timestamp], key=lambda p: p.sequence_number)
        seqs = [p.sequence_number for p in parts]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))) or not parts[-1].marker:
            continue
        first, _ = VpxPayloadDescriptor.parse(parts[0].payload)
        if not first.partition_start:
            continue
        frames.append(b"".join(VpxPayloadDescriptor.parse(p.payload)[1] for p in parts))
    return frames


async def test_encoded_frames_arrive_unchanged_and_nothing_is_transcoded(
    tyndau, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_get_decoder = aiortc.rtcrtpreceiver.get_decoder
    real_vp8_encode = vpx.Vp8Encoder.encode
    real_opus_encode = opus.OpusEncoder.encode

    def spy(name: str, real):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(name)
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", spy("decoder", real_get_decoder))
    monkeypatch.setattr(vpx.Vp8Encoder, "encode", spy("vp8 encode", real_vp8_encode))
    monkeypatch.setattr(opus.OpusEncoder, "encode", spy("opus encode", real_opus_encode))

    clip = encode_vp8_clip()
    received: list[RtpPacket] = []
    payload_types: list[int] = []

    subscriber = HearingClient(tyndau.url, tyndau.token("judge", role="judge"))

    def on_remote(remote: RemoteTrack) -> None:
        assert subscriber.subscribe_pc is not None
        transceiver = next(
            t for t in subscriber.subscribe_pc.getTransceivers() if t.mid == remote.mid
        )
        payload_types.append(transceiver._codecs[0].payloadType)
        capture_rtp(transceiver.receiver, received)

    subscriber.on_remote_track = on_remote
    await subscriber.connect()
    await subscriber.join()
    publisher = HearingClient(tyndau.url, tyndau.token("lawyer"))
    await publisher.connect()
    await publisher.join()
    await publisher.publish(EncodedVideoTrack(clip))
    try:
        await wait_until(lambda: len(received) > 200, 20, "forwarded RTP at the subscriber")
        frames = reassemble_vp8(received, payload_types[0])
        assert len(frames) >= 20, f"only {len(frames)} whole frames arrived"
        sent = {hashlib.sha256(f).hexdigest(): i for i, f in enumerate(clip)}
        positions = [sent.get(hashlib.sha256(f).hexdigest()) for f in frames]
        assert None not in positions, "a frame arrived that the publisher never sent"
        # Frames come in the order they were sent (modulo the clip looping).
        steps = [(b - a) % len(clip) for a, b in itertools.pairwise(positions)]
        assert all(0 < step < len(clip) // 2 for step in steps), steps
        assert calls == [], f"something was transcoded: {calls}"
        assert tyndau.ctx.sfu.counters.packets_forwarded >= len(received)
    finally:
        await asyncio.gather(subscriber.close(), publisher.close())
