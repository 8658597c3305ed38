"""What recording costs per captured track: the tap on the event loop and the writer thread.

Feeds a :class:`recorder.capture.HearingCapture` the RTP packets of one
publisher (VP8 640×480 30 fps ~700 kbit/s + Opus 32 kbit/s, the clips of
``bench/sfu_load.py``, packetized by aiortc) for ``--seconds`` of media, as
fast as it takes them, into real Matroska segments on disk, and reports:

- the tap: CPU per packet on the event loop (appending to the queue);
- the writer: CPU per packet for depacketizing, muxing, hashing and the index;
- both as % of one core for that publisher in real time.

Run by hand (not in the suite): ``python bench/capture_cpu.py [--seconds 120]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from sfu_load import encode_audio_clip, encode_video_clip

from recorder.capture import QUEUE_PACKETS, HearingCapture

NTP_MS_1970 = 2208988800 * 1000


@dataclass
class FakeTrack:
    """Just what capture uses of a PublishedTrack."""

    track_id: str
    owner_id: str
    kind: str
    codec: Any
    taps: list[Any] = field(default_factory=list)

    def request_keyframe(self) -> None:
        pass


def rtp_packets(seconds: float) -> list[tuple[int, RtpPacket, int]]:
    """(track index, packet, arrival ms) for both tracks, in arrival order."""
    video, audio = encode_video_clip(), encode_audio_clip()
    vp8 = get_encoder(RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96))
    opus = get_encoder(
        RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
    )
    start_ms = int(time.time() * 1000) + NTP_MS_1970
    out: list[tuple[float, int, RtpPacket]] = []
    for index, (clip, encoder, clock) in enumerate(((video, vp8, 90000), (audio, opus, 48000))):
        seq = 0
        count = int(seconds / clip.period)
        for n in range(count):
            payload = clip.payloads[n % len(clip.payloads)]
            packet = av.Packet(payload)
            packet.pts = n * clip.ticks
            packet.time_base = clip.time_base
            packet.is_keyframe = clip.kind == "audio" or (n % len(clip.payloads)) % 60 == 0
            payloads, _ = encoder.pack(packet)
            timestamp = (n * clip.ticks) & 0xFFFFFFFF
            for i, part in enumerate(payloads):
                rtp = RtpPacket(
                    payload_type=96,
                    sequence_number=seq & 0xFFFF,
                    timestamp=timestamp,
                    marker=int(i == len(payloads) - 1),
                    payload=part,
                )
                seq += 1
                out.append((n * clip.period, index, rtp))
        del clock
    out.sort(key=lambda item: item[0])
    return [(index, rtp, start_ms + int(at * 1000)) for at, index, rtp in out]


async def measure(seconds: float, directory: Path) -> dict[str, Any]:
    packets = rtp_packets(seconds)
    loop = asyncio.get_running_loop()
    capture = HearingCapture(
        "bench",
        directory,
        segment_seconds=10,
        loop=loop,
        notify=lambda event, payload: None,
    )
    tracks = [
        FakeTrack(
            "p:video:1", "p", "video", SimpleNamespace(mimeType="video/VP8", clockRate=90000)
        ),
        FakeTrack(
            "p:audio:2", "p", "audio", SimpleNamespace(mimeType="audio/opus", clockRate=48000)
        ),
    ]
    capture.begin("started", datetime.now(UTC))
    for track in tracks:
        capture.add_track(track, {"id": "p", "name": "Bench", "role": "lawyer"})
    taps = [track.taps[0] for track in tracks]

    # The tap alone, as the event loop pays it (the worker drains meanwhile).
    process_start = time.process_time()
    tap_cpu = 0.0
    for index, packet, arrival in packets:
        t0 = time.thread_time()
        taps[index].rtp(packet, arrival)
        tap_cpu += time.thread_time() - t0
        if index == 0 and packet.sequence_number % 64 == 0:
            # Faster than real time, but never so fast that the bounded queue overflows.
            while capture.queued > QUEUE_PACKETS // 4:  # noqa: ASYNC110 - a thread drains it
                await asyncio.sleep(0.005)
    capture.stop(datetime.now(UTC))
    await capture.closed()
    total_cpu = time.process_time() - process_start
    dropped = sum(tap.dropped for tap in taps)
    count = len(packets)
    video = sum(1 for index, _, _ in packets if index == 0)
    writer_cpu = total_cpu - tap_cpu
    return {
        "media_seconds": seconds,
        "packets": count,
        "video_packets": video,
        "audio_packets": count - video,
        "packets_per_second": count / seconds,
        "dropped": dropped,
        "tap_us_per_packet": tap_cpu / count * 1e6,
        "writer_us_per_packet": writer_cpu / count * 1e6,
        "tap_core_percent": tap_cpu / seconds * 100,
        "writer_core_percent": writer_cpu / seconds * 100,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120, help="media captured (default 120)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write (default: a temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp)
        result = asyncio.run(measure(args.seconds, directory))
        result["segments"] = len(list(directory.glob("*.mkv")))
        result["bytes"] = sum(p.stat().st_size for p in directory.glob("*.mkv"))
    for key, value in result.items():
        print(f"{key:>22}: {value:.2f}" if isinstance(value, float) else f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
