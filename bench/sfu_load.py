"""Load benchmark of the Tyndau SFU: R rooms x P participants, all over loopback.

    python bench/sfu_load.py --rooms 4 --participants 4 [--seconds 30] [--pin] [--json out.json]

Starts ``bench/sfu_server.py`` (the real app) as a subprocess, then runs every
participant in this process with :class:`signaling.client.HearingClient`. Each
publishes audio + video and subscribes to the P-1 others of its room.

``--target janus`` points the same load at Janus's VideoRoom (``janus_client.py``,
``apt-get install janus``) and ``--target both`` runs Tyndau then Janus and prints the
ratio Tyndau / Janus per metric. Both then run in a private network namespace.
``--loads 1x4,4x4,8x4`` runs several loads (each target in turn per load) and prints one
markdown table (``--markdown FILE`` writes it). ``--probe`` adds ``delay_probe.py``: one
audio stream through the SFU and back in its own real-time process, timed at the datagram,
so the SFU's delay is measured without the generator's own lag.

Cheap load generation
    One VP8 clip (640x480, 30 fps, ~700 kbit/s, keyframe every 2 s, 4 s) and one
    Opus clip (20 ms frames, a tone plus a little noise so no two frames are equal)
    are encoded once. :class:`ClipTrack` loops their ``av.Packet`` s in real time;
    aiortc's sender packetizes pre-encoded packets without encoding. Subscribers
    never decode: each remote receiver's ``_handle_rtp_packet`` is replaced by
    :meth:`SubscribedStream.on_rtp`, which only counts. Pre-encoded senders ignore
    PLIs, so a new subscriber waits up to 2 s for the clip's next keyframe.

Forwarding delay
    ``RTCDtlsTransport._send_rtp`` is wrapped in this process. For a publisher's
    media SSRC it records, in a ring indexed by RTP sequence number, the
    ``perf_counter()`` time just before SRTP protection and a hash of the payload.
    The SFU forwards the payload bytes unchanged and rewrites the sequence number
    with a constant per-subscriber offset. The first packet a subscriber gets on
    a stream is looked up by payload hash among the publisher's recent packets
    (newest first). That gives the offset. Every later packet is looked up by
    ``seq - offset`` and only counts if its payload hash matches as well. Payloads
    are unique: VP8 ones carry the sender's picture id, and the Opus clip has no
    repeated frame within its 4 s loop. A stream whose lookups keep failing is
    matched again from scratch. Delay = arrival time in the replaced handler
    (after SRTP unprotect and parsing) - send time. Same process, same clock.
    It covers both loopback hops, the SFU, and the generator's own scheduling.
    For video it is split: the SFU stamps abs-send-time (wall clock) on each
    packet just before sending it on, so "after the SFU's send" = arrival wall
    time - that stamp (SRTP, loopback, the generator's receive queue). The rest
    is the publisher's send, the SFU's receive queue and its processing. If the
    part after the SFU's send grows, the generator is the one falling behind.

Loss
    From RTP sequence numbers per subscribed stream (the SFU keeps the
    publisher's gaps): expected = advance of the highest sequence number,
    lost = expected - received. It is cross-checked against packets the
    publishers sent in the same window. Subscribers send no NACKs, so this is raw
    loss; publisher-to-SFU losses the SFU recovers with NACK/RTX do not count.

Warm-up
    The window starts 15 s after every stream flows (``--warmup``). For about 10 s
    after a join, the SFU's per-stream retransmission history (512 packets) fills
    and its heap grows. That triggers full garbage collections, which stop its
    event loop. Those pauses are reported on their own ("during the joins and
    warm-up"), and the window measures the steady state.

The run is bounded: joins, warm-up and the window all have time limits, then
the peers are closed and the server gets SIGTERM (and SIGKILL if it hangs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import gc
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtpPacket, is_rtcp
from janus_client import (
    ICE_ADDRESS,
    NETNS_ENV,
    JanusParticipant,
    JanusProcess,
    JanusSession,
    create_room,
    feed_id,
    in_bench_netns,
    janus_binary,
    netns_command,
    room_id,
)
from sfu_server import GcPauses

from server.sfu.ice import restrict_host_addresses
from signaling.client import HearingClient, RemoteTrack

HOST = "127.0.0.1"
SERVER_SCRIPT = Path(__file__).resolve().with_name("sfu_server.py")

VIDEO_SIZE = (640, 480)
VIDEO_FPS = 30
VIDEO_BITRATE = 700_000
KEYFRAME_EVERY = 2 * VIDEO_FPS  # frames
CLIP_SECONDS = 4
AUDIO_RATE = 48_000
AUDIO_FRAME = 960  # 20 ms
AUDIO_BITRATE = 32_000

RING = 4096  # sent packets remembered per published track; a power of two
RING_MASK = RING - 1
ABS_SEND_TIME_HZ = 1 << 18
REMATCH_AFTER = 8  # consecutive failed lookups before a stream is matched again
STALLED_AFTER = 2.0  # s without a packet: the stream counts as stalled
FIND_WINDOW = 512  # packets searched, newest first: a repeated Opus payload is the newest one

# A load is "sustained" within these limits (see verdict()).
MAX_LOSS_PERCENT = 0.5
MAX_P99_DELAY_MS = 150.0
MAX_CPU_PERCENT = 90.0
MAX_OTHER_CPU_PERCENT = 10.0  # CPU used by other programs during the window (% of one core)
MAX_OTHER_CPU_PEAK_PERCENT = 40.0  # ... and in any 0.5 s of it

# --------------------------------------------------------------------------- media


@dataclass(frozen=True)
class Clip:
    """Pre-encoded packets, played in a loop at ``period`` seconds per packet."""

    kind: str
    payloads: list[bytes]
    ticks: int  # pts step per packet in ``time_base``
    time_base: fractions.Fraction
    period: float

    @property
    def bitrate(self) -> float:
        return sum(len(p) for p in self.payloads) * 8 / (len(self.payloads) * self.period)


def encode_video_clip() -> Clip:
    """A moving pattern with light noise, so the encoder spends its bitrate all the time."""
    width, height = VIDEO_SIZE
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, VIDEO_FPS)
    codec.framerate = fractions.Fraction(VIDEO_FPS, 1)
    codec.bit_rate = VIDEO_BITRATE
    codec.gop_size = KEYFRAME_EVERY
    rate = str(VIDEO_BITRATE)
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": rate,
        "maxrate": rate,
        "bufsize": rate,
        "static-thresh": "0",
    }
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    packets: list[av.Packet] = []
    for i in range(CLIP_SECONDS * VIDEO_FPS):
        ph = i * 0.15
        r = 128 + 100 * np.sin(xx / 37 + ph) * np.cos(yy / 23 - ph * 0.7)
        g = 128 + 100 * np.sin((xx + yy) / 51 - ph * 1.3)
        b = 128 + 100 * np.cos(np.hypot(xx - 320 - 150 * np.sin(ph / 3), yy - 240) / 19 - ph * 2)
        image = np.stack([r, g, b], -1) + rng.normal(0, 6, (height, width, 1))
        frame = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), "rgb24")
        frame.pts = i
        if i % KEYFRAME_EVERY == 0:
            frame.pict_type = av.video.frame.PictureType.I
        packets += codec.encode(frame)
    packets += codec.encode(None)
    keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
    if keyframes != list(range(0, len(packets), KEYFRAME_EVERY)):
        raise RuntimeError(f"unexpected VP8 keyframe positions {keyframes}")
    payloads = [bytes(p) for p in packets]
    return Clip(
        "video", payloads, 90_000 // VIDEO_FPS, fractions.Fraction(1, 90_000), 1 / VIDEO_FPS
    )


def encode_audio_clip() -> Clip:
    """A 440 Hz tone with a little noise: real-looking Opus frames, none repeated."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_RATE
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = AUDIO_BITRATE
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    codec.options = {"application": "voip", "frame_duration": "20"}
    rng = np.random.default_rng(2)
    frames = CLIP_SECONDS * AUDIO_RATE // AUDIO_FRAME
    packets: list[av.Packet] = []
    for i in range(frames):
        t = (np.arange(AUDIO_FRAME) + i * AUDIO_FRAME) / AUDIO_RATE
        wave = 0.3 * 32767 * np.sin(2 * np.pi * 440 * t) + rng.normal(0, 300, AUDIO_FRAME)
        stereo = np.repeat(wave.astype(np.int16), 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = i * AUDIO_FRAME
        frame.time_base = codec.time_base
        packets += codec.encode(frame)
    packets += codec.encode(None)
    payloads = [bytes(p) for p in packets[:frames]]
    if len(set(payloads)) != len(payloads):
        raise RuntimeError("the Opus clip repeats a frame; delay matching needs unique payloads")
    time_base = fractions.Fraction(1, AUDIO_RATE)
    return Clip("audio", payloads, AUDIO_FRAME, time_base, AUDIO_FRAME / AUDIO_RATE)


@dataclass
class PacingStats:
    """How punctually the clip tracks hand packets to aiortc (a generator health sign)."""

    frames: int = 0
    late: int = 0  # handed out more than one period after they were due


class ClipTrack(MediaStreamTrack):
    """Plays a pre-encoded clip in real time as ``av.Packet`` s (aiortc packs, never encodes)."""

    def __init__(self, clip: Clip, pacing: PacingStats) -> None:
        super().__init__()
        self.kind = clip.kind
        self._clip = clip
        self._pacing = pacing
        self._start: float | None = None
        self._index = 0

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        clip = self._clip
        due = self._start + self._index * clip.period
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        elif -wait > clip.period:
            self._pacing.late += 1
        self._pacing.frames += 1
        packet = av.Packet(clip.payloads[self._index % len(clip.payloads)])
        packet.pts = self._index * clip.ticks
        packet.time_base = clip.time_base
        self._index += 1
        return packet


def codec_preferences() -> dict[str, list[Any]]:
    """VP8 (+RTX) and Opus only: the clips are VP8 and Opus bytes."""
    video = RTCRtpSender.getCapabilities("video").codecs
    audio = RTCRtpSender.getCapabilities("audio").codecs
    return {
        "video": [c for c in video if c.mimeType in ("video/VP8", "video/rtx")],
        "audio": [c for c in audio if c.mimeType == "audio/opus"],
    }


# --------------------------------------------------------------------------- send side


def rtp_payload(data: bytes) -> bytes:
    """The payload of a serialized RTP packet (after CSRCs, extensions; without padding)."""
    pos = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        pos += 4 + 4 * int.from_bytes(data[pos + 2 : pos + 4], "big")
    end = len(data) - data[-1] if data[0] & 0x20 else len(data)
    return data[pos:end]


class SendLog:
    """One published track's recently sent packets: send time and payload hash by seq."""

    __slots__ = ("fingerprints", "last_seq", "sent", "seqs", "times")

    def __init__(self) -> None:
        self.seqs = [-1] * RING
        self.times = [0.0] * RING
        self.fingerprints = [0] * RING
        self.last_seq = -1
        self.sent = 0

    def record(self, data: bytes, now: float) -> None:
        seq = (data[2] << 8) | data[3]
        index = seq & RING_MASK
        self.seqs[index] = seq
        self.times[index] = now
        self.fingerprints[index] = hash(rtp_payload(data))
        self.last_seq = seq
        self.sent += 1

    def sent_at(self, seq: int, fingerprint: int) -> float | None:
        index = seq & RING_MASK
        if self.seqs[index] == seq and self.fingerprints[index] == fingerprint:
            return self.times[index]
        return None

    def find(self, fingerprint: int) -> int | None:
        """The newest remembered sequence number whose payload has ``fingerprint``."""
        if self.last_seq < 0:
            return None
        for back in range(min(self.sent, FIND_WINDOW)):
            seq = (self.last_seq - back) & 0xFFFF
            index = seq & RING_MASK
            if self.seqs[index] == seq and self.fingerprints[index] == fingerprint:
                return seq
        return None


SEND_LOGS: dict[int, SendLog] = {}  # publisher media SSRC -> its log


def install_send_hook() -> None:
    """Wrap aiortc's DTLS transport so publishers' RTP send times are recorded."""
    original = RTCDtlsTransport._send_rtp

    async def _send_rtp(self: RTCDtlsTransport, data: bytes) -> None:
        if len(data) >= 12 and not is_rtcp(data):
            log = SEND_LOGS.get(int.from_bytes(data[8:12], "big"))
            if log is not None:
                log.record(data, time.perf_counter())
        await original(self, data)

    RTCDtlsTransport._send_rtp = _send_rtp  # type: ignore[method-assign]


# --------------------------------------------------------------------------- receive side


@dataclass
class Measurement:
    """Samples taken only inside the measurement window."""

    collecting: bool = False
    delays: dict[str, array[float]] = field(
        default_factory=lambda: {"audio": array("d"), "video": array("d")}
    )
    # per video packet: the part of its delay after the SFU stamped abs-send-time on it
    after_sfu: array[float] = field(default_factory=lambda: array("d"))
    # per video packet: the rest, from the generator's send to the SFU's (the SFU's own delay,
    # plus the generator's send path and the kernel)
    up_to_sfu: array[float] = field(default_factory=lambda: array("d"))
    # every matched packet, for --timeline: arrival (CLOCK_MONOTONIC, s) and delay (s)
    arrivals: array[float] = field(default_factory=lambda: array("d"))
    arrival_delays: array[float] = field(default_factory=lambda: array("d"))
    # Tyndau stamps abs-send-time as it forwards; Janus does not, so no split for it
    sfu_stamps: bool = True


class SubscribedStream:
    """One remote track at one subscriber: counts RTP instead of decoding it."""

    def __init__(self, log: SendLog, kind: str, measurement: Measurement) -> None:
        self.log = log
        self.kind = kind
        self._delays = measurement.delays[kind]
        self._after_sfu = measurement.after_sfu
        self._measurement = measurement
        self.packets = 0
        self.bytes = 0
        self.highest = -1  # extended highest sequence number
        self._last_seq = -1
        self.out_of_order = 0
        self._offset: int | None = None
        self._misses = 0
        self.matched = 0
        self.unmatched = 0
        self.last_arrival = 0.0

    async def on_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        self.record(packet, time.perf_counter())

    def record(self, packet: RtpPacket, now: float) -> None:
        """Count ``packet``, arrived at ``now`` (``perf_counter``), and time it."""
        self.last_arrival = now
        seq = packet.sequence_number
        payload = packet.payload
        self.packets += 1
        self.bytes += len(payload)
        if self._last_seq < 0:
            self.highest = self._last_seq = seq
        else:
            step = (seq - self._last_seq) & 0xFFFF
            if 0 < step < 0x8000:
                self.highest += step
                self._last_seq = seq
            else:
                self.out_of_order += 1  # late (e.g. a retransmission) or duplicate
        fingerprint = hash(payload)
        if self._offset is None:
            found = self.log.find(fingerprint)
            if found is None:
                self.unmatched += 1
                return
            self._offset = (seq - found) & 0xFFFF
        sent = self.log.sent_at((seq - self._offset) & 0xFFFF, fingerprint)
        if sent is None:
            self.unmatched += 1
            self._misses += 1
            if self._misses >= REMATCH_AFTER:
                self._offset = None
            return
        self._misses = 0
        self.matched += 1
        if self._measurement.collecting:
            self._delays.append(now - sent)
            self._measurement.arrivals.append(now)
            self._measurement.arrival_delays.append(now - sent)
            stamped = packet.extensions.abs_send_time  # set by the SFU as it forwards (video)
            if stamped is not None and self._measurement.sfu_stamps:
                # 6.18 fixed point seconds, modulo 64 s (NTP and Unix epochs agree mod 64 s)
                ticks = (int(time.time() * ABS_SEND_TIME_HZ) - stamped) & 0xFFFFFF
                self._after_sfu.append(ticks / ABS_SEND_TIME_HZ)
                self._measurement.up_to_sfu.append(now - sent - ticks / ABS_SEND_TIME_HZ)


@dataclass
class Participant:
    hearing: str
    index: int
    client: HearingClient | JanusParticipant  # both: publish_pc, subscribe_pc, close()
    expected_streams: int
    streams: dict[str, SubscribedStream] = field(default_factory=dict)  # by mid

    @property
    def flowing(self) -> bool:
        return len(self.streams) >= self.expected_streams and all(
            s.packets > 0 for s in self.streams.values()
        )


class Generator:
    """All participants of the run, in this process."""

    def __init__(
        self, url: str, participants_per_room: int, client_options: dict[str, Any] | None = None
    ) -> None:
        self.url = url
        self.per_room = participants_per_room
        self.client_options = client_options or {}  # more HearingClient fields (cluster.py)
        self.video = encode_video_clip()
        self.audio = encode_audio_clip()
        self.pacing = PacingStats()
        self.measurement = Measurement()
        self.logs: dict[tuple[str, str, str], SendLog] = {}  # (hearing, participant, kind)
        self.participants: list[Participant] = []
        self.gc_pauses = GcPauses()
        gc.callbacks.append(self.gc_pauses)

    def send_log(self, hearing: str, participant_id: str, kind: str) -> SendLog:
        return self.logs.setdefault((hearing, participant_id, kind), SendLog())

    async def join(self, hearing: str, index: int, token: str) -> Participant:
        client = HearingClient(
            self.url, token, codec_preferences=codec_preferences(), **self.client_options
        )
        participant = Participant(hearing, index, client, 2 * (self.per_room - 1))
        client.on_remote_track = lambda remote: self._hook_remote(participant, remote)
        self.participants.append(participant)
        await client.connect()
        me = (await client.join())["self"]["id"]
        video = ClipTrack(self.video, self.pacing)
        audio = ClipTrack(self.audio, self.pacing)
        await client.publish(video, audio)
        assert client.publish_pc is not None
        for transceiver in client.publish_pc.getTransceivers():
            log = self.send_log(hearing, me, transceiver.kind)
            SEND_LOGS[transceiver.sender._ssrc] = log
        return participant

    async def janus_publish(
        self, session: JanusSession, room: int, index: int
    ) -> tuple[Participant, JanusParticipant]:
        """Janus: join the VideoRoom as a publisher and publish the clips."""
        client = JanusParticipant(session, room, feed_id(room, index))
        participant = Participant(str(room), index, client, 2 * (self.per_room - 1))
        self.participants.append(participant)
        video = ClipTrack(self.video, self.pacing)
        audio = ClipTrack(self.audio, self.pacing)
        pc = await client.publish([video, audio], codec_preferences())
        for transceiver in pc.getTransceivers():
            log = self.send_log(str(room), str(client.feed), transceiver.kind)
            SEND_LOGS[transceiver.sender._ssrc] = log
        return participant, client

    async def janus_subscribe(self, participant: Participant, client: JanusParticipant) -> None:
        """Janus: one subscriber handle for every other publisher of the room."""
        feeds = [feed_id(client.room, i) for i in range(self.per_room) if i != participant.index]

        def hook(transceiver: Any, feed: int, kind: str) -> None:
            log = self.send_log(participant.hearing, str(feed), kind)
            stream = SubscribedStream(log, kind, self.measurement)
            participant.streams[str(transceiver.mid)] = stream
            transceiver.receiver._handle_rtp_packet = stream.on_rtp

        await client.subscribe(feeds, hook)

    def _hook_remote(self, participant: Participant, remote: RemoteTrack) -> None:
        pc = participant.client.subscribe_pc
        assert pc is not None
        transceiver = next(t for t in pc.getTransceivers() if t.mid == remote.mid)
        log = self.send_log(participant.hearing, remote.participant_id, remote.kind)
        stream = SubscribedStream(log, remote.kind, self.measurement)
        participant.streams[remote.mid] = stream
        transceiver.receiver._handle_rtp_packet = stream.on_rtp  # type: ignore[method-assign]

    def flow_summary(self) -> str:
        """Streams expected, announced and flowing, and connection states."""
        streams = self.streams()
        states = [
            pc.connectionState
            for p in self.participants
            for pc in (p.client.publish_pc, p.client.subscribe_pc)
            if pc is not None
        ]
        return (
            f"{sum(p.expected_streams for p in self.participants)} streams expected, "
            f"{len(streams)} announced, {sum(s.packets > 0 for s in streams)} flowing "
            f"({sum(s.packets > 0 for s in streams if s.kind == 'video')} video); "
            f"peer connections: {', '.join(f'{states.count(x)} {x}' for x in set(states))}"
        )

    def all_flowing(self) -> bool:
        return all(p.flowing for p in self.participants)

    def streams(self) -> list[SubscribedStream]:
        return [s for p in self.participants for s in p.streams.values()]

    async def close(self) -> None:
        async def close_one(client: HearingClient) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 15)

        await asyncio.gather(*(close_one(p.client) for p in self.participants))


# --------------------------------------------------------------------------- server side


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / clock_ticks()


def cpu_ticks() -> list[tuple[int, int, int]]:
    """Per CPU: (busy, total, softirq) clock ticks from /proc/stat. Softirq (the kernel
    moving loopback UDP) is mostly also in the processes' own times, which are precise."""
    ticks = []
    with open("/proc/stat") as fh:
        for line in fh:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                user, nice, system, idle, iowait, irq, softirq, steal = map(int, values[:8])
                busy = user + nice + system + irq + softirq + steal
                ticks.append((busy, busy + idle + iowait, softirq))
    return ticks


def process_memory(pid: int) -> dict[str, int]:
    """VmRSS and RssAnon in bytes. RssAnon (heap) is what participants add; the file-backed
    rest (shared libraries) is shared and can be reclaimed by the kernel at any time."""
    memory = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                memory[key] = int(value.split()[0]) * 1024
    return memory


async def server_gc(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    """The bench server's garbage collection pauses so far (see ``bench/sfu_server.py``)."""
    async with session.get(f"{url}/bench/gc", timeout=aiohttp.ClientTimeout(total=10)) as resp:
        data: dict[str, Any] = await resp.json()
    return data


def gc_delta(start: dict[str, Any], end: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Collections, time spent and the longest pause between two :class:`GcPauses` reports."""
    pauses = [ms for _, ms, _ in end["long"][len(start["long"]) :]]
    total = sum(end["total_ms"]) - sum(start["total_ms"])
    return {
        "collections": [e - s for s, e in zip(start["count"], end["count"], strict=True)],
        "percent_of_time": total / 10 / seconds,
        "pauses_over_5ms": len(pauses),
        "max_pause_ms": max(pauses, default=0.0),
    }


async def server_metrics(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """The server's ``tyndau_*`` samples without labels, from GET /metrics."""
    async with session.get(f"{url}/metrics", timeout=aiohttp.ClientTimeout(total=10)) as resp:
        text = await resp.text()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("tyndau_") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    process: asyncio.subprocess.Process
    url: str
    pid: int
    tokens: dict[str, list[str]]
    probe_tokens: list[str] = field(default_factory=list)  # with probe=True (delay_probe.py)

    @classmethod
    async def start(
        cls, rooms: int, participants: int, pin: bool, log_path: Path | None, probe: bool = False
    ) -> ServerProcess:
        command = [sys.executable, str(SERVER_SCRIPT), "--port", str(free_port())]
        command += ["--rooms", str(rooms), "--participants", str(participants)]
        if probe:
            command.append("--probe")
        if pin:
            command = ["taskset", "-c", "0", *command]
        stderr = log_path.open("ab") if log_path else None
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=stderr
        )
        if stderr is not None:
            stderr.close()
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            info = json.loads(line)
        except (TimeoutError, json.JSONDecodeError):
            process.kill()
            await process.wait()
            raise RuntimeError(f"the server did not start: {shlex.join(command)}") from None
        return cls(
            process, info["url"], int(info["pid"]), info["tokens"], info.get("probe_tokens", [])
        )

    async def stop(self) -> int:
        """SIGTERM, wait for the graceful shutdown; SIGKILL after 30 s."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode if self.process.returncode is not None else -1


NO_GC: dict[str, Any] = {"count": [0, 0, 0], "total_ms": [0.0, 0.0, 0.0], "long": []}


class TyndauTarget:
    """The Tyndau server (``sfu_server.py``) as the SFU under load."""

    name = "tyndau"

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.pid = server.pid

    @classmethod
    async def start(cls, args: argparse.Namespace) -> TyndauTarget:
        server = await ServerProcess.start(
            args.rooms, args.participants, args.pin, args.server_log, probe=args.probe
        )
        return cls(server)

    def probe_args(self) -> list[str]:
        return ["--url", self.server.url, "--tokens", ",".join(self.server.probe_tokens)]

    async def metrics(self, session: aiohttp.ClientSession) -> dict[str, float]:
        return await server_metrics(session, self.server.url)

    async def gc(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        return await server_gc(session, self.server.url)

    async def join_all(self, gen: Generator, args: argparse.Namespace) -> None:
        joins = [  # round-robin over rooms, so every room fills up at the same pace
            gen.join(hearing, index, tokens[index])
            for index in range(args.participants)
            for hearing, tokens in self.server.tokens.items()
        ]
        await bounded(joins, args.join_concurrency)

    async def stop(self) -> int:
        return await self.server.stop()


class JanusTarget:
    """Janus's VideoRoom (Debian's ``janus``) as the SFU under load; one HTTP session
    per participant, like separate browsers. Janus has no forwarded-packet counter, so
    its forwarded packets are the packets the subscribers received."""

    name = "janus"

    def __init__(self, janus: JanusProcess) -> None:
        self.janus = janus
        self.pid = janus.pid
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.sessions: list[JanusSession] = []

    @classmethod
    async def start(cls, args: argparse.Namespace) -> JanusTarget:
        return cls(await JanusProcess.start(args.pin, args.server_log))

    async def metrics(self, session: aiohttp.ClientSession) -> dict[str, float]:
        return {}

    async def gc(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        return NO_GC

    def probe_args(self) -> list[str]:
        return ["--url", self.janus.url]

    async def _session(self) -> JanusSession:
        session = JanusSession(self.http, self.janus.url)
        await session.create()
        self.sessions.append(session)
        return session

    async def join_all(self, gen: Generator, args: argparse.Namespace) -> None:
        admin = await self._session()
        for r in range(args.rooms):
            await create_room(admin, room_id(r), args.participants)

        async def publish(r: int, index: int) -> tuple[Participant, JanusParticipant]:
            return await gen.janus_publish(await self._session(), room_id(r), index)

        published = await bounded(
            [publish(r, i) for i in range(args.participants) for r in range(args.rooms)],
            args.join_concurrency,
        )
        # Janus refuses a subscription to a feed until its WebRTC is up ("No such feed")
        await wait_for(
            lambda: all(
                c.publish_pc is not None and c.publish_pc.connectionState == "connected"
                for _, c in published
            ),
            args.join_timeout,
            "the publishers' connections to Janus",
        )
        await asyncio.sleep(0.5)
        await bounded(
            [gen.janus_subscribe(participant, client) for participant, client in published],
            args.join_concurrency,
        )

    async def stop(self) -> int:
        for session in self.sessions:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.destroy(), 5)
        await self.http.close()
        return await asyncio.to_thread(self.janus.stop)


Target = TyndauTarget | JanusTarget
TARGETS: dict[str, type[TyndauTarget] | type[JanusTarget]] = {
    "tyndau": TyndauTarget,
    "janus": JanusTarget,
}


# --------------------------------------------------------------------------- delay probe

PROBE_SCRIPT = Path(__file__).resolve().with_name("delay_probe.py")


def probe_priority() -> list[str]:
    """``chrt -f 50`` (real-time FIFO) if allowed here, else ``nice -n -20``, else nothing."""
    for prefix in (["chrt", "-f", "50"], ["nice", "-n", "-20"]):
        with contextlib.suppress(OSError):
            check = subprocess.run([*prefix, "true"], capture_output=True, check=False)
            if check.returncode == 0 and not check.stderr:
                return prefix
    return []


class DelayProbe:
    """``delay_probe.py`` in its own process: one audio stream through the SFU and back,
    timed at the datagram; on CPU 1 with ``--pin``, at real-time priority if allowed."""

    def __init__(self, process: asyncio.subprocess.Process, priority: list[str]) -> None:
        self.process = process
        self.pid = process.pid
        self.priority = shlex.join(priority) if priority else "normal (no chrt or nice -20)"

    @classmethod
    async def start(cls, target: Target, args: argparse.Namespace) -> DelayProbe:
        priority = probe_priority()
        if priority[:1] != ["chrt"]:
            print(f"warning: delay probe not real-time, runs as: {priority}", file=sys.stderr)
        command = [sys.executable, str(PROBE_SCRIPT), "--target", target.name]
        command += [*target.probe_args(), "--timeout", str(args.join_timeout)]
        if args.pin:
            command = ["taskset", "-c", "1", *command]
        process = await asyncio.create_subprocess_exec(
            *priority,
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,  # the samples come as one JSON line (~50 kB per minute)
        )
        probe = cls(process, priority)
        try:
            line = await asyncio.wait_for(probe._line(), args.join_timeout + 30)
        except BaseException:
            await probe.kill()
            raise
        if not line.get("flowing"):
            await probe.kill()
            raise RuntimeError("the delay probe did not start")
        return probe

    async def _line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await self.process.stdout.readline()
        if not raw:
            raise RuntimeError(f"the delay probe exited ({await self.process.wait()})")
        data: dict[str, Any] = json.loads(raw)
        return data

    async def stop(self) -> dict[str, Any]:
        """Its samples (arrival, delay), then it closes its peers and exits."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        data = await asyncio.wait_for(self._line(), 30)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 20)
        await self.kill()
        return data

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def probe_result(data: dict[str, Any], start: Snapshot, end: Snapshot) -> dict[str, Any]:
    """The probe's samples that arrived inside the window."""
    window = array(
        "d",
        (
            d
            for t, d in zip(data["arrivals"], data["delays"], strict=True)
            if start.wall <= t < end.wall
        ),
    )
    return {
        "probe_delay_ms": percentiles_ms(window),
        "probe_samples": len(window),
        "probe_unmatched_packets": data["unmatched"],
        "probe_loss_packets": data["loss_seq"],
        "probe_not_stamped_at_datagram": data["not_stamped_at_datagram"],
    }


# --------------------------------------------------------------------------- the run


@dataclass
class Snapshot:
    """Everything the report takes deltas of."""

    wall: float
    generator_cpu: float
    server_cpu: float
    cpus: list[tuple[int, int, int]]
    metrics: dict[str, float]
    server_gc: dict[str, Any]
    generator_gc: dict[str, Any]
    streams: list[tuple[int, int, int]]  # (packets, bytes, highest seq) per stream
    publisher_sent: list[int]  # per stream: its publisher's packets sent
    late_frames: int
    stalled_streams: int  # no packet for STALLED_AFTER s
    failed_connections: int  # peer connections not "connected"
    frames: int

    @classmethod
    async def take(cls, gen: Generator, server: Target, session: aiohttp.ClientSession) -> Snapshot:
        metrics = await server.metrics(session)
        collections = await server.gc(session)
        streams = gen.streams()
        return cls(
            wall=time.perf_counter(),
            generator_cpu=time.process_time(),
            server_cpu=process_cpu_seconds(server.pid),
            cpus=cpu_ticks(),
            metrics=metrics,
            server_gc=collections,
            generator_gc=json.loads(json.dumps(gen.gc_pauses.as_json())),  # a copy
            streams=[(s.packets, s.bytes, s.highest) for s in streams],
            publisher_sent=[s.log.sent for s in streams],
            late_frames=gen.pacing.late,
            stalled_streams=sum(
                time.perf_counter() - s.last_arrival > STALLED_AFTER for s in streams
            ),
            failed_connections=sum(
                pc is not None and pc.connectionState != "connected"
                for p in gen.participants
                for pc in (p.client.publish_pc, p.client.subscribe_pc)
            ),
            frames=gen.pacing.frames,
        )


class LoopLag:
    """How late the generator's event loop wakes up from a 20 ms sleep."""

    def __init__(self) -> None:
        self.samples = array("d")
        self.collecting = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.02)
            if self.collecting:
                self.samples.append(loop.time() - before - 0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class CpuSampler:
    """Every ``interval`` s: CPU used by other programs, in cores (the machine's busy time
    minus the SFU's and the generator's). Shows whether something else ran, and when."""

    def __init__(
        self, server_pid: int, interval: float = 0.5, extra_pids: tuple[int, ...] = ()
    ) -> None:
        self.server_pid = server_pid
        self.extra_pids = extra_pids  # ours too (the delay probe)
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (time since start, other cores)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def _read(self) -> tuple[float, float]:
        ticks = cpu_ticks()
        busy = sum(busy for busy, _, _ in ticks) / clock_ticks()
        ours = process_cpu_seconds(self.server_pid) + time.process_time()
        ours += sum(process_cpu_seconds(pid) for pid in self.extra_pids)
        return time.perf_counter(), busy - ours

    async def _run(self) -> None:
        began, other = self._read()
        last_t = began
        while True:
            await asyncio.sleep(self.interval)
            now, total = self._read()
            self.samples.append((now - began, (total - other) / (now - last_t)))
            last_t, other = now, total

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def percentiles_ms(values: array[float] | list[float]) -> dict[str, float | None]:
    if len(values) == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    data = np.frombuffer(values, dtype=np.float64) if isinstance(values, array) else values
    p50, p95, p99 = np.percentile(data, [50, 95, 99]) * 1000
    return {"p50": p50, "p95": p95, "p99": p99, "max": float(np.max(data)) * 1000}


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    available = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_available_gib": round(available / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def report(
    target: str,
    args: argparse.Namespace,
    gen: Generator,
    start: Snapshot,
    end: Snapshot,
    memory_idle: dict[str, int],
    memory_loaded: dict[str, int],
    lag: LoopLag,
    join_seconds: float,
) -> dict[str, Any]:
    seconds = end.wall - start.wall
    received = sum(e[0] - s[0] for s, e in zip(start.streams, end.streams, strict=True))
    received_bytes = sum(e[1] - s[1] for s, e in zip(start.streams, end.streams, strict=True))
    expected_seq = sum(e[2] - s[2] for s, e in zip(start.streams, end.streams, strict=True))
    expected_sent = sum(
        e - s for s, e in zip(start.publisher_sent, end.publisher_sent, strict=True)
    )

    def delta(name: str) -> float:
        return end.metrics.get(name, 0.0) - start.metrics.get(name, 0.0)

    # Janus counts nothing we can read: what the subscribers received is what it forwarded
    counted = "tyndau_packets_forwarded_total" in end.metrics
    forwarded = delta("tyndau_packets_forwarded_total") if counted else received
    server_cpu = end.server_cpu - start.server_cpu
    generator_cpu = end.generator_cpu - start.generator_cpu
    tick = clock_ticks()
    busy = sum(e[0] - s[0] for s, e in zip(start.cpus, end.cpus, strict=True)) / tick
    softirq = sum(e[2] - s[2] for s, e in zip(start.cpus, end.cpus, strict=True)) / tick
    total = args.rooms * args.participants
    delays = gen.measurement.delays
    frames = end.frames - start.frames
    return {
        "target": target,
        "forwarded_counted_by": "server" if counted else "subscribers",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "pinned": args.pin,
        "rooms": args.rooms,
        "participants_per_room": args.participants,
        "participants": total,
        "subscribed_streams": len(end.streams),
        "seconds_measured": seconds,
        "join_seconds": join_seconds,
        "clip_video_kbps": gen.video.bitrate / 1000,
        "clip_audio_kbps": gen.audio.bitrate / 1000,
        "received_packets_per_s": received / seconds,
        "received_mbit_per_s": received_bytes * 8 / seconds / 1e6,
        "server_forwarded_packets_per_s": forwarded / seconds,
        "server_received_packets_per_s": delta("tyndau_packets_received_total") / seconds,
        "server_cpu_percent": 100 * server_cpu / seconds,
        "server_cpu_us_per_forwarded_packet": ratio(1e6 * server_cpu, forwarded),
        "loss_percent_seq": ratio(100 * (expected_seq - received), expected_seq),
        "loss_percent_vs_sent": ratio(100 * (expected_sent - received), expected_sent),
        "delay_ms": percentiles_ms(delays["audio"] + delays["video"]),
        "delay_ms_audio": percentiles_ms(delays["audio"]),
        "delay_ms_video": percentiles_ms(delays["video"]),
        "delay_ms_video_after_sfu_send": percentiles_ms(gen.measurement.after_sfu),
        "delay_ms_video_up_to_sfu_send": percentiles_ms(gen.measurement.up_to_sfu),
        "delay_samples": len(delays["audio"]) + len(delays["video"]),
        "delay_unmatched_packets": sum(s.unmatched for s in gen.streams()),
        "stalled_streams_at_end": end.stalled_streams,
        "failed_connections_at_end": end.failed_connections,
        "server_rss_loaded_mib": memory_loaded["VmRSS"] / 2**20,
        "server_anon_idle_mib": memory_idle["RssAnon"] / 2**20,
        "server_anon_loaded_mib": memory_loaded["RssAnon"] / 2**20,
        "server_mib_per_participant": (memory_loaded["RssAnon"] - memory_idle["RssAnon"])
        / 2**20
        / total,
        "server_gc": gc_delta(start.server_gc, end.server_gc, seconds),
        "generator_cpu_percent": 100 * generator_cpu / seconds,
        "cpu_busy_percent": [
            ratio(100 * (e[0] - s[0]), e[1] - s[1])
            for s, e in zip(start.cpus, end.cpus, strict=True)
        ],
        "softirq_cpu_percent": 100 * softirq / seconds,
        # anything else on the machine (other programs): the numbers are only good near 0
        "other_cpu_percent": 100 * (busy - server_cpu - generator_cpu) / seconds,
        "generator_gc": gc_delta(start.generator_gc, end.generator_gc, seconds),
        "generator_loop_lag_ms": percentiles_ms(lag.samples),
        "generator_late_frames_percent": ratio(100 * (end.late_frames - start.late_frames), frames),
        "server_counters_delta": {
            name.removeprefix("tyndau_").removesuffix("_total"): delta(name)
            for name in (
                "tyndau_nacks_sent_total",
                "tyndau_retransmissions_total",
                "tyndau_plis_sent_total",
                "tyndau_packets_dropped_waiting_keyframe_total",
            )
        },
    }


def verdict(result: dict[str, Any]) -> list[str]:
    """Why this load is not sustained (empty: it is), and which side was short."""
    reasons = []
    loss = result["loss_percent_seq"]
    if loss is None or loss > MAX_LOSS_PERCENT:
        reasons.append(
            "no packets" if loss is None else f"loss {loss:.2f} % > {MAX_LOSS_PERCENT} %"
        )
    p99 = result["delay_ms"]["p99"]
    if result["stalled_streams_at_end"] or result["failed_connections_at_end"]:
        reasons.append(
            f"{result['stalled_streams_at_end']} streams stalled, "
            f"{result['failed_connections_at_end']} peer connections down"
        )
    if p99 is None:
        reasons.append("no delay samples")
    elif p99 > MAX_P99_DELAY_MS:
        after = result["delay_ms_video_after_sfu_send"]["p99"]
        where = f" (after the SFU's send: {after:.0f} ms)" if after is not None else ""
        reasons.append(f"p99 delay {p99:.0f} ms > {MAX_P99_DELAY_MS:.0f} ms{where}")
    for side, key in (("SFU", "server_cpu_percent"), ("generator", "generator_cpu_percent")):
        if result[key] > MAX_CPU_PERCENT:
            reasons.append(f"{side} CPU {result[key]:.0f} % > {MAX_CPU_PERCENT:.0f} %")
    for cpu, busy in enumerate(result["cpu_busy_percent"]):
        if busy is not None and busy > MAX_CPU_PERCENT:
            reasons.append(f"CPU {cpu} {busy:.0f} % busy")
    return reasons


def quiet(result: dict[str, Any]) -> bool:
    """Whether other programs left the two CPUs to the SFU and the generator."""
    return (
        result["other_cpu_percent"] < MAX_OTHER_CPU_PERCENT
        and result["other_cpu_peak_percent"] < MAX_OTHER_CPU_PEAK_PERCENT
    )


def render(result: dict[str, Any]) -> str:
    def num(value: float | None, fmt: str = ".1f") -> str:
        return "n/a" if value is None else format(value, fmt)

    def delay(d: dict[str, float | None]) -> str:
        return " / ".join(num(d[k]) for k in ("p50", "p95", "p99"))

    def gc_row(stats: dict[str, Any]) -> str:
        return f"{stats['collections'][2]} / {stats['max_pause_ms']:.0f}"

    m = result["machine"]
    counters = result["server_counters_delta"]
    anon_idle = num(result["server_anon_idle_mib"])
    anon_loaded = num(result["server_anon_loaded_mib"])
    rows = [
        ("rooms x participants", f"{result['rooms']} x {result['participants_per_room']}"),
        ("subscribed streams", str(result["subscribed_streams"])),
        ("seconds measured", num(result["seconds_measured"])),
        ("received packets/s (subscribers)", num(result["received_packets_per_s"], ".0f")),
        ("forwarded packets/s (server)", num(result["server_forwarded_packets_per_s"], ".0f")),
        ("received Mbit/s (payload)", num(result["received_mbit_per_s"])),
        ("SFU CPU % of one core", num(result["server_cpu_percent"])),
        ("SFU CPU us / forwarded packet", num(result["server_cpu_us_per_forwarded_packet"])),
        ("loss % (seq gaps)", num(result["loss_percent_seq"], ".3f")),
        (
            "stalled streams / peer connections down",
            f"{result['stalled_streams_at_end']} / {result['failed_connections_at_end']}",
        ),
        ("loss % (vs publishers' sent)", num(result["loss_percent_vs_sent"], ".3f")),
        ("delay ms p50/p95/p99 (all)", delay(result["delay_ms"])),
        ("delay ms p50/p95/p99 (audio)", delay(result["delay_ms_audio"])),
        ("delay ms p50/p95/p99 (video)", delay(result["delay_ms_video"])),
        ("  of which after the SFU's send", delay(result["delay_ms_video_after_sfu_send"])),
        ("  and up to the SFU's send", delay(result["delay_ms_video_up_to_sfu_send"])),
        (
            "probe delay ms p50/p95/p99 (max)",
            f"{delay(result['probe_delay_ms'])} ({num(result['probe_delay_ms']['max'])})"
            if "probe_delay_ms" in result
            else "n/a (no --probe)",
        ),
        (
            "probe samples / unmatched / lost, CPU %",
            f"{result['probe_samples']} / {result['probe_unmatched_packets']} / "
            f"{result['probe_loss_packets']}, {num(result['probe_cpu_percent'])}"
            if "probe_delay_ms" in result
            else "n/a",
        ),
        (
            "delay samples / unmatched packets",
            f"{result['delay_samples']} / {result['delay_unmatched_packets']}",
        ),
        ("SFU anon RSS idle -> loaded MiB", f"{anon_idle} -> {anon_loaded}"),
        ("SFU MiB per participant", num(result["server_mib_per_participant"], ".2f")),
        ("SFU GC gen2 runs / max pause ms", gc_row(result["server_gc"])),
        ("  ... during the joins and warm-up", gc_row(result["server_gc_joins_and_warmup"])),
        ("generator CPU % of one core", num(result["generator_cpu_percent"])),
        ("generator GC gen2 runs / max pause ms", gc_row(result["generator_gc"])),
        ("generator loop lag ms p50/p95/p99", delay(result["generator_loop_lag_ms"])),
        ("generator late frames %", num(result["generator_late_frames_percent"], ".2f")),
        (
            "server NACKs sent / RTX",
            f"{counters['nacks_sent']:.0f} / {counters['retransmissions']:.0f}"
            if result["target"] == "tyndau"
            else "n/a",
        ),
        ("machine CPU busy % (per CPU)", " / ".join(num(b) for b in result["cpu_busy_percent"])),
        (
            "softirq / other programs CPU %",
            f"{num(result['softirq_cpu_percent'])} / {num(result['other_cpu_percent'])} "
            f"(peak {num(result['other_cpu_peak_percent'], '.0f')} in 0.5 s)",
        ),
        ("join time s", num(result["join_seconds"])),
        ("sustained", "; ".join(result["not_sustained_because"]) or "yes"),
        ("quiet machine", "yes" if quiet(result) else "NO: other programs ran, unreliable"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [
        f"{result['target'].capitalize()} SFU load - {result['date']} - "
        f"{m['nproc']} x {m['cpu_model']}, "
        f"{m['mem_available_gib']} GiB available, pinned={result['pinned']}"
    ]
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


async def bounded(coros: list[Awaitable[Any]], limit: int) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[Any]) -> Any:
        async with semaphore:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


def timeline(
    gen: Generator, start: Snapshot, end: Snapshot, sampler: CpuSampler, bucket: float = 0.25
) -> dict[str, Any]:
    """Delay over the window in ``bucket`` s steps, and the GC pauses of both processes.

    All times are seconds since the window began; ``perf_counter`` and the server's
    ``monotonic`` are both CLOCK_MONOTONIC on Linux, so the two processes line up.
    """
    arrivals = np.frombuffer(gen.measurement.arrivals, dtype=np.float64) - start.wall
    delays = np.frombuffer(gen.measurement.arrival_delays, dtype=np.float64) * 1000
    slots = (arrivals // bucket).astype(np.int64)
    rows = []
    for slot in range(int((end.wall - start.wall) // bucket) + 1):
        chosen = delays[slots == slot]
        if len(chosen):
            p50, p99 = np.percentile(chosen, [50, 99])
            rows.append([round(slot * bucket, 3), len(chosen), p50, p99, float(chosen.max())])

    def pauses(gc_start: dict[str, Any], gc_end: dict[str, Any]) -> list[list[float]]:
        new = gc_end["long"][len(gc_start["long"]) :]
        return [[round(at - start.wall, 3), generation, ms] for generation, ms, at in new]

    return {
        "columns": ["t_s", "packets", "p50_ms", "p99_ms", "max_ms"],
        "buckets": rows,
        "gc_pause_columns": ["t_end_s", "generation", "ms"],
        "server_gc_pauses": pauses(start.server_gc, end.server_gc),
        "generator_gc_pauses": pauses(start.generator_gc, end.generator_gc),
        "other_programs_columns": ["t_end_s", "cores"],
        "other_programs": [[round(t, 3), round(c, 3)] for t, c in sampler.samples],
    }


async def wait_until_quiet(limit: float) -> None:
    """Wait (at most ``limit`` s) for 2 s in which the machine is under 10 % busy."""
    deadline = time.monotonic() + limit
    while True:
        before = cpu_ticks()
        await asyncio.sleep(2)
        after = cpu_ticks()
        busy = sum(a[0] - b[0] for b, a in zip(before, after, strict=True))
        total = sum(a[1] - b[1] for b, a in zip(before, after, strict=True))
        if total and busy / total < 0.1:
            return
        if time.monotonic() > deadline:
            print("warning: the machine is busy with other work", file=sys.stderr)
            return
        print(f"waiting for a quiet machine ({100 * busy / total:.0f} % busy)", file=sys.stderr)


async def run_target(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One bounded run of the load against ``name`` (tyndau or janus)."""
    # libnice (Janus) answers no ICE checks from 127.0.0.1 to its 127.0.0.2: for Janus the
    # generator gathers on 127.0.0.2 as well. Both are local delivery over lo.
    restrict_host_addresses([HOST if name == "tyndau" else ICE_ADDRESS])
    server = await TARGETS[name].start(args)
    gen: Generator | None = None
    probe: DelayProbe | None = None
    lag = LoopLag()
    session = aiohttp.ClientSession()
    try:
        await asyncio.sleep(1)
        memory_idle = process_memory(server.pid)
        gc_before_joins = await server.gc(session)
        url = server.server.url if isinstance(server, TyndauTarget) else server.janus.url
        gen = Generator(url, args.participants)
        gen.measurement.sfu_stamps = name == "tyndau"
        print(
            f"{name}: clips: video {gen.video.bitrate / 1000:.0f} kbit/s, "
            f"audio {gen.audio.bitrate / 1000:.0f} kbit/s; joining "
            f"{args.rooms * args.participants} participants...",
            file=sys.stderr,
        )
        lag.start()
        began = time.perf_counter()
        try:
            await asyncio.wait_for(server.join_all(gen, args), args.join_timeout)
        except TimeoutError:
            raise TimeoutError(f"{name}: the joins took over {args.join_timeout:.0f} s") from None
        try:
            await wait_for(gen.all_flowing, args.join_timeout, "every subscribed stream to flow")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc} ({gen.flow_summary()})") from None
        join_seconds = time.perf_counter() - began
        print(f"{name}: all flowing after {join_seconds:.1f} s; warm-up...", file=sys.stderr)
        if args.probe:
            probe = await DelayProbe.start(server, args)
        gc.collect()
        gc.freeze()  # the set-up's objects: no full collection of them during the window
        await asyncio.sleep(args.warmup)
        start = await Snapshot.take(gen, server, session)
        sampler = CpuSampler(server.pid, extra_pids=(probe.pid,) if probe else ())
        probe_cpu = process_cpu_seconds(probe.pid) if probe else 0.0
        sampler.start()
        gen.measurement.collecting = lag.collecting = True
        await asyncio.sleep(args.seconds)
        gen.measurement.collecting = lag.collecting = False
        await sampler.stop()
        end = await Snapshot.take(gen, server, session)
        if probe is not None:
            probe_cpu = process_cpu_seconds(probe.pid) - probe_cpu
        memory_loaded = process_memory(server.pid)
        if args.timeline:
            path = args.timeline
            if args.target == "both":
                path = path.with_name(f"{path.stem}-{name}{path.suffix}")
            path.write_text(json.dumps(timeline(gen, start, end, sampler)) + "\n")
        result = report(name, args, gen, start, end, memory_idle, memory_loaded, lag, join_seconds)
        result["other_cpu_peak_percent"] = 100 * max((c for _, c in sampler.samples), default=0)
        if probe is not None:
            result.update(probe_result(await probe.stop(), start, end))
            result["probe_priority"] = probe.priority
            result["probe_cpu_percent"] = 100 * probe_cpu / result["seconds_measured"]
            result["other_cpu_percent"] -= result["probe_cpu_percent"]
            if result["forwarded_counted_by"] == "subscribers":  # Janus forwarded these too
                result["forwarded_counted_by"] = "subscribers and the delay probe"
                forwarded = result["server_forwarded_packets_per_s"]
                forwarded += result["probe_samples"] / result["seconds_measured"]
                result["server_forwarded_packets_per_s"] = forwarded
                result["server_cpu_us_per_forwarded_packet"] = ratio(
                    1e4 * result["server_cpu_percent"], forwarded
                )
        ramp_seconds = time.perf_counter() - began - args.seconds
        result["server_gc_joins_and_warmup"] = gc_delta(
            gc_before_joins, start.server_gc, ramp_seconds
        )
        result["not_sustained_because"] = verdict(result)
        return result
    finally:
        await session.close()
        await lag.stop()
        if probe is not None:
            await probe.kill()
        if gen is not None:
            await gen.close()
        code = await server.stop()
        if code != 0:
            print(f"warning: {name} exited with {code}", file=sys.stderr)


def join_timeout(args: argparse.Namespace, rooms: int, participants: int) -> float:
    """``--join-timeout``, or 30 s + 2 s per participant of the load."""
    return args.join_timeout_arg or 30 + 2 * rooms * participants


def run_budget(args: argparse.Namespace) -> float:
    """An upper bound for the whole run: every load, every target."""
    names = 2 if args.target == "both" else 1
    return sum(
        names * (args.wait_quiet + 2 * join_timeout(args, r, p) + args.warmup + args.seconds + 90)
        for r, p in args.loads
    )


def failed_run(name: str, args: argparse.Namespace, exc: BaseException) -> dict[str, Any]:
    """A run of ``--loads`` that did not finish: a row saying why."""
    return {
        "target": name,
        "rooms": args.rooms,
        "participants_per_room": args.participants,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "pinned": args.pin,
        "error": str(exc) or type(exc).__name__,
    }


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every load, and for each the chosen targets one after the other, each from a quiet
    machine if asked. With ``--loads`` a run that fails is a row, and the next one runs."""
    install_send_hook()
    names = ["tyndau", "janus"] if args.target == "both" else [args.target]
    results = []
    for rooms, participants in args.loads:
        load = argparse.Namespace(**vars(args))
        load.rooms, load.participants = rooms, participants
        load.join_timeout = join_timeout(args, rooms, participants)
        if args.timeline and len(args.loads) > 1:
            load.timeline = args.timeline.with_name(
                f"{args.timeline.stem}-{rooms}x{participants}{args.timeline.suffix}"
            )
        for name in names:
            if args.wait_quiet:
                await wait_until_quiet(args.wait_quiet)
            if not args.loads_given:
                results.append(await run_target(name, load))
                continue
            try:
                results.append(await run_target(name, load))
            except (TimeoutError, RuntimeError, OSError) as exc:
                print(f"error: {name} {rooms}x{participants}: {exc}", file=sys.stderr)
                results.append(failed_run(name, load, exc))
    return results


COMPARED = [  # (row, key path, format); ratio Tyndau / Janus for each
    ("forwarded packets/s", ("server_forwarded_packets_per_s",), ".0f"),
    ("SFU CPU % of one core", ("server_cpu_percent",), ".1f"),
    ("SFU CPU us / forwarded packet", ("server_cpu_us_per_forwarded_packet",), ".1f"),
    ("delay p50 ms", ("delay_ms", "p50"), ".2f"),
    ("delay p99 ms", ("delay_ms", "p99"), ".2f"),
    ("probe delay p50 ms", ("probe_delay_ms", "p50"), ".2f"),
    ("probe delay p99 ms", ("probe_delay_ms", "p99"), ".2f"),
    ("loss % (seq gaps)", ("loss_percent_seq",), ".3f"),
    ("SFU MiB per participant", ("server_mib_per_participant",), ".2f"),
    ("SFU anon RSS loaded MiB", ("server_anon_loaded_mib",), ".1f"),
    ("generator CPU %", ("generator_cpu_percent",), ".1f"),
    ("other programs CPU %", ("other_cpu_percent",), ".1f"),
]


def metric(result: dict[str, Any], path: tuple[str, ...]) -> float | None:
    """A number of a result by its key path, or None."""
    value: Any = result
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, int | float) else None


def num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def render_comparison(tyndau: dict[str, Any], janus: dict[str, Any]) -> str:
    """One table: Tyndau, Janus and Tyndau / Janus per metric."""
    get = metric

    width = max(len(row) for row, _, _ in COMPARED)
    lines = [
        f"Tyndau vs Janus - {tyndau['rooms']} x {tyndau['participants_per_room']}, "
        f"pinned={tyndau['pinned']}",
        f"  {'':<{width}}  {'tyndau':>10}  {'janus':>10}  {'tyndau/janus':>12}",
    ]
    for row, path, fmt in COMPARED:
        t, j = get(tyndau, path), get(janus, path)
        r = t / j if t is not None and j else None
        lines.append(f"  {row:<{width}}  {num(t, fmt):>10}  {num(j, fmt):>10}  {num(r, '.2f'):>12}")
    for name, result in (("tyndau", tyndau), ("janus", janus)):
        lines.append(
            f"  {name}: sustained: {'; '.join(result['not_sustained_because']) or 'yes'}; "
            f"quiet machine: {'yes' if quiet(result) else 'NO'}"
        )
    return "\n".join(lines)


TABLE = [  # --loads: (column, [(key path, format)]); a ratio row Tyndau / Janus per load
    ("fwd pkt/s", [(("server_forwarded_packets_per_s",), ".0f")]),
    ("SFU CPU %", [(("server_cpu_percent",), ".1f")]),
    ("µs CPU / fwd pkt", [(("server_cpu_us_per_forwarded_packet",), ".1f")]),
    ("loss %", [(("loss_percent_seq",), ".3f")]),
    (
        "probe delay p50 / p95 / p99 / max ms",
        [(("probe_delay_ms", k), ".2f") for k in ("p50", "p95", "p99", "max")],
    ),
    ("generator delay p50 / p99 ms", [(("delay_ms", k), ".2f") for k in ("p50", "p99")]),
    ("MiB / participant", [(("server_mib_per_participant",), ".2f")]),
    ("generator CPU %", [(("generator_cpu_percent",), ".0f")]),
    (
        "other programs % (peak)",
        [(("other_cpu_percent",), ".0f"), (("other_cpu_peak_percent",), ".0f")],
    ),
]


NO_RATIO = {"other programs % (peak)"}


def render_markdown(results: list[dict[str, Any]], command: str, load_before: str) -> str:
    """The ``--loads`` table: per load and SFU one row, then Tyndau / Janus."""
    first = results[0]
    m = first["machine"]
    lines = [
        f"{first['date']} – {results[-1]['date']}; {m['nproc']} × {m['cpu_model']}, "
        f"Linux {m['kernel']}, Python {m['python']}, pinned={first['pinned']}; "
        f"load average before: {load_before}",
        "",
        f"`{command}`",
        "",
        "| load | SFU | " + " | ".join(c for c, _ in TABLE) + " | sustained; quiet |",
        "|---|---|" + "---|" * len(TABLE) + "---|",
    ]

    def cells(values: list[str]) -> str:
        return values[0] if len(values) == 1 else " / ".join(values)

    def row(result: dict[str, Any]) -> str:
        load = f"{result['rooms']} × {result['participants_per_room']}"
        name = result["target"].capitalize()
        if "error" in result:
            return f"| {load} | {name} | failed: {result['error']} |"
        values = [cells([num(metric(result, p), f) for p, f in paths]) for _, paths in TABLE]
        verdict = "; ".join(result["not_sustained_because"]) or "yes"
        verdict += f"; {'yes' if quiet(result) else 'NO'}"
        return f"| {load} | {name} | " + " | ".join(values) + f" | {verdict} |"

    by_load: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for result in results:
        by_load.setdefault((result["rooms"], result["participants_per_room"]), {})[
            result["target"]
        ] = result
    for (rooms, participants), runs in by_load.items():
        lines += [row(r) for r in runs.values()]
        tyndau, janus = runs.get("tyndau"), runs.get("janus")
        if tyndau and janus and "error" not in tyndau and "error" not in janus:
            ratios = []
            for column, paths in TABLE:
                if column in NO_RATIO:
                    ratios.append("")
                    continue
                parts = []
                for p, _ in paths:
                    t, j = metric(tyndau, p), metric(janus, p)
                    parts.append("–" if t is None or not j else f"{t / j:.2f}")
                ratios.append(cells(parts))
            lines.append(
                f"| {rooms} × {participants} | **Tyndau / Janus** | " + " | ".join(ratios) + " | |"
            )
    probe = next((r.get("probe_priority") for r in results if r.get("probe_priority")), None)
    if probe:
        lines += ["", f"Delay probe priority: `{probe}`."]
    return "\n".join(lines)


def parse_loads(text: str) -> list[tuple[int, int]]:
    """``1x4,4x4,8x4`` -> [(1, 4), (4, 4), (8, 4)]."""
    loads = []
    for item in text.split(","):
        rooms, _, participants = item.strip().lower().partition("x")
        loads.append((int(rooms), int(participants)))
    return loads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load benchmark of the Tyndau SFU (loopback).")
    parser.add_argument(
        "--target", choices=("tyndau", "janus", "both"), default="tyndau", help="the SFU(s)"
    )
    parser.add_argument("--rooms", type=int, default=1)
    parser.add_argument("--participants", type=int, default=4, help="per room, at least 2")
    parser.add_argument("--seconds", type=float, default=30, help="measurement window")
    parser.add_argument(
        "--warmup", type=float, default=15, help="after all streams flow (SFU histories fill)"
    )
    parser.add_argument("--join-timeout", type=float, default=None, help="default: 30 + 2 s/peer")
    parser.add_argument("--join-concurrency", type=int, default=4)
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, generator on CPU 1")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--timeline", type=Path, help="write delay per 250 ms and GC pauses here")
    parser.add_argument(
        "--wait-quiet", type=float, default=0, help="wait up to this many s for an idle machine"
    )
    parser.add_argument("--server-log", type=Path, help="server stderr (default: inherited)")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="also run bench/delay_probe.py (one audio stream, its own process, real-time)",
    )
    parser.add_argument(
        "--loads",
        type=parse_loads,
        help="several loads in one run, e.g. 1x4,4x4,8x4 (instead of --rooms/--participants); "
        "prints one markdown table",
    )
    parser.add_argument("--markdown", type=Path, help="write the markdown table here")
    args = parser.parse_args(argv)
    args.loads_given = args.loads is not None
    if not args.loads_given:
        args.loads = [(args.rooms, args.participants)]
    if any(p < 2 or r < 1 for r, p in args.loads):
        parser.error("need at least 1 room of 2 participants")
    args.join_timeout_arg = args.join_timeout
    args.join_timeout = join_timeout(args, args.rooms, args.participants)
    if args.pin:
        if (os.cpu_count() or 1) < 2:
            parser.error("--pin needs two CPUs")
        os.sched_setaffinity(0, {1})
    if args.target in ("janus", "both"):
        try:
            janus_binary()
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if os.environ.get(NETNS_ENV) and not in_bench_netns():
            print("error: the bench's network namespace could not be set up", file=sys.stderr)
            return 2
        if not in_bench_netns():  # both SFUs in the same private namespace, fair and closed
            command = netns_command([sys.executable, *sys.argv])
            os.execvp(command[0], command)  # noqa: S606 - a fixed command, no shell
    command = shlex.join(["python", *sys.argv])
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        results = asyncio.run(asyncio.wait_for(run(args), run_budget(args)))
    except (TimeoutError, RuntimeError) as exc:
        print(f"error: {exc or 'the run went over its time budget'}", file=sys.stderr)
        return 1
    for result in results:
        if "error" not in result:
            print(render(result))
    if len(results) == 2 and not args.loads_given:
        print(render_comparison(*results))
    if args.loads_given or args.markdown:
        table = render_markdown(results, command, load_before)
        print(table)
        if args.markdown:
            args.markdown.write_text(table + "\n")
    if args.json:
        data: Any = results[0] if len(results) == 1 else {r["target"]: r for r in results}
        if args.loads_given:
            data = {"command": command, "load_average_before": load_before, "runs": results}
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
