"""A capture directory written from synthetic media, as docs/recording.md ("Capture") says.

Each participant sends a picture that flashes white and a tone (its own
frequency) that beeps at the same known wall-clock times, so lip sync can be
measured from the mixed file. Tracks get their own RTP clock bases (one near
the 32-bit wrap), sender reports every couple of seconds (from a sender whose
clock may be off), an ``arrival`` point before the first report; people may
join late, leave early, drop out for a while; a recess pauses capture; a
"killed" capture leaves its open segments unindexed and cut short.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

FPS = 30
SAMPLE_RATE = 48000
AUDIO_FRAME = 960  # 20 ms, as WebRTC sends Opus
FLASH = 0.2  # seconds a flash (and its beep) lasts
SIZE = (160, 120)
VIDEO_RATE = 90000
MS = Fraction(1, 1000)
KILL_LOSS = 0.5  # seconds of a killed capture's open segments never flushed
ARRIVAL_DELAY = 0.015  # network delay of the first packet
SR_FIRST, SR_EVERY = 0.7, 1.9  # seconds into a track, and between sender reports
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, SAMPLE_RATE, 0, 0)
WHITE = (255, 255, 255)


@dataclass
class Person:
    """A participant and what they send; times in seconds after capture started."""

    id: str
    name: str
    role: str
    tone: float  # Hz of their beep
    color: tuple[int, int, int]
    present: list[tuple[float, float]]  # when they send (a gap between two entries)
    flashes: list[float]  # onsets of flash + beep
    video_base: int
    audio_base: int
    clock_offset: float = 0.0  # their sender reports' clock minus the true time
    wrapped_rtp: bool = False  # write the index's RTP values modulo 2^32
    moving: bool = False  # a moving bar and noise over the colour (work for the codecs)

    def sending(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.present)

    def flashing(self, t: float) -> bool:
        return any(f <= t < f + FLASH for f in self.flashes)


@dataclass
class Written:
    directory: Path
    start: float  # unix time capture started
    recovered: list[str] = field(default_factory=list)  # unindexed, cut-short files
    files: dict[str, list[str]] = field(default_factory=dict)  # track -> its files
    # track -> capture-relative time of the last frame left in its cut-short file
    readable_until: dict[str, float] = field(default_factory=dict)

    def readable(self, person: str, kind: str, flashes: list[float]) -> list[float]:
        """The flashes (or beeps) of a person's track that start well within what can be read."""
        until = self.readable_until.get(f"{person}:{kind}:{1 if kind == 'video' else 2}")
        return [f for f in flashes if until is None or f + 0.1 < until]


@dataclass
class _Segment:
    track: str
    person: Person
    kind: str
    opened: float  # capture-relative time of its first frame
    closed: float = 0.0
    packets: list[tuple[int, bytes, bool]] = field(default_factory=list)  # (pts ms, data, key)
    rtps: list[int] = field(default_factory=list)
    sync: list[list[Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # capture-relative frame times
    open_at_kill: bool = False


def write_capture(
    directory: Path,
    people: list[Person],
    *,
    start: float,
    duration: float,
    segment_seconds: float = 4.0,
    recess: tuple[float, float] | None = None,
    killed_at: float | None = None,
    hearing_id: str = "fixture-hearing",
    tags: bool = True,
) -> Written:
    """Write the capture of ``duration`` seconds starting at unix ``start``.

    ``tags=False`` leaves out the Matroska tags naming each segment (as an
    older capture did), so an unindexed segment says nothing about itself.
    """
    directory.mkdir(parents=True, exist_ok=True)
    end = killed_at if killed_at is not None else duration

    def recording(t: float) -> bool:
        return t < end and not (recess and recess[0] <= t < recess[1])

    segments: list[_Segment] = []
    for person in people:
        segments += _video_segments(person, recording, segment_seconds, recess, killed_at)
        segments += _audio_segments(person, recording, segment_seconds, recess, killed_at)
    # Files are numbered in the order segments were opened.
    segments.sort(key=lambda s: (s.opened, s.track))
    written = Written(directory, start)
    events: list[tuple[float, int, dict[str, Any]]] = [(0.0, 0, {"marker": "started"})]
    if recess:
        events.append((recess[0], 2, {"marker": "paused"}))
        events.append((recess[1], 0, {"marker": "resumed"}))
    if killed_at is None:
        events.append((duration, 2, {"marker": "stopped"}))
    for number, seg in enumerate(segments, 1):
        name = f"{number:06d}.mkv"
        path = directory / name
        _write_matroska(path, seg, _tags(seg, start, hearing_id) if tags else {})
        written.files.setdefault(seg.track, []).append(name)
        if seg.open_at_kill:
            # What was flushed before the kill: clusters up to about KILL_LOSS
            # before it, the last one torn (no cues, no sizes, half a frame).
            kept = [
                p for p, t in zip(seg.packets, seg.times, strict=True) if t < killed_at - KILL_LOSS
            ]
            _write_matroska(
                path, replace(seg, packets=kept), _tags(seg, start, hearing_id) if tags else {}
            )
            data = path.read_bytes()
            path.write_bytes(data[: len(data) - 100])
            written.recovered.append(name)
            written.readable_until[seg.track] = _last_readable(path, seg)
            continue
        events.append((seg.closed, 1, _record(name, seg, path, start)))
    prev = hashlib.sha256(f"tyndau-capture:{hearing_id}".encode()).hexdigest()
    lines = []
    for seq, (at, _, body) in enumerate(sorted(events, key=lambda e: (e[0], e[1])), 1):
        record = {**body, "seq": seq, "prev": prev}
        if "marker" in record:
            record["at"] = _iso(start + at)
        else:
            record["started_at"] = _iso(start + record.pop("_opened"))
            record["ended_at"] = _iso(start + at)
        record["chain"] = hashlib.sha256(prev.encode() + _canonical(record)).hexdigest()
        prev = record["chain"]
        lines.append(_canonical(record) + b"\n")
    (directory / "segments.jsonl").write_bytes(b"".join(lines))
    return written


def _video_segments(
    person: Person,
    recording: Any,
    segment_seconds: float,
    recess: tuple[float, float] | None,
    killed_at: float | None,
) -> list[_Segment]:
    times = [k / FPS for k in range(int(max(b for _, b in person.present) * FPS) + 1)]
    times = [t for t in times if person.sending(t) and recording(t)]
    if not times:
        return []
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = *SIZE, "yuv420p"
    encoder.time_base = MS
    encoder.framerate = FPS
    encoder.bit_rate = 400_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    plain, white = _yuv(person.color), _yuv(WHITE)
    track = f"{person.id}:video:1"
    segments = _split(track, person, "video", times, segment_seconds, recess, killed_at)
    for seg in segments:
        first = True
        for t in seg.times:
            picture = white if person.flashing(t) else plain
            if person.moving:
                picture = _moving(picture, t)
            frame = av.VideoFrame.from_ndarray(picture, "yuv420p")
            frame.pts = round(t * 1000)
            frame.time_base = MS
            if first:  # each segment opens on a keyframe, as capture cuts them
                frame.pict_type = av.video.frame.PictureType.I
                first = False
            rtp = person.video_base + round((t - times[0]) * VIDEO_RATE)
            for packet in encoder.encode(frame):
                pts = (rtp - person.video_base) * 1000 // VIDEO_RATE
                seg.packets.append((pts, bytes(packet), packet.is_keyframe))
                seg.rtps.append(rtp)
    _add_sync(person, segments, times[0], VIDEO_RATE, person.video_base)
    return segments


def _audio_segments(
    person: Person,
    recording: Any,
    segment_seconds: float,
    recess: tuple[float, float] | None,
    killed_at: float | None,
) -> list[_Segment]:
    step = AUDIO_FRAME / SAMPLE_RATE
    times = [k * step for k in range(int(max(b for _, b in person.present) / step) + 1)]
    times = [t for t in times if person.sending(t) and recording(t)]
    if not times:
        return []
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = SAMPLE_RATE, "stereo", "s16"
    encoder.time_base = Fraction(1, SAMPLE_RATE)
    encoder.bit_rate = 64_000
    track = f"{person.id}:audio:2"
    segments = _split(track, person, "audio", times, segment_seconds, recess, killed_at)
    queue: list[tuple[_Segment, float]] = []  # frames in, packets out one lookahead later
    for seg in segments:
        for t in seg.times:
            samples = _tone(person, t)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = round(t * SAMPLE_RATE)
            frame.time_base = Fraction(1, SAMPLE_RATE)
            queue.append((seg, t))
            for packet in encoder.encode(frame):
                _audio_packet(person, times[0], queue, packet)
    for packet in encoder.encode(None):
        if queue:
            _audio_packet(person, times[0], queue, packet)
    _add_sync(person, segments, times[0], SAMPLE_RATE, person.audio_base)
    return segments


def _audio_packet(person: Person, first: float, queue: list[Any], packet: av.Packet) -> None:
    # The i-th packet carries the i-th input frame (its RTP time is that frame's).
    seg, t = queue.pop(0)
    rtp = person.audio_base + round((t - first) * SAMPLE_RATE)
    seg.packets.append(((rtp - person.audio_base) * 1000 // SAMPLE_RATE, bytes(packet), True))
    seg.rtps.append(rtp)


def _split(
    track: str,
    person: Person,
    kind: str,
    times: list[float],
    segment_seconds: float,
    recess: tuple[float, float] | None,
    killed_at: float | None,
) -> list[_Segment]:
    """Frame times cut into segments: every ``segment_seconds``, and at a recess."""
    segments: list[_Segment] = []
    current: _Segment | None = None
    for t in times:
        # A recess closes every segment; otherwise one is cut after segment_seconds.
        paused = bool(recess and current and current.closed < recess[0] <= t)
        if current is None or t - current.opened >= segment_seconds or paused:
            current = _Segment(track, person, kind, t)
            segments.append(current)
        current.times.append(t)
        current.closed = t
    for seg in segments:
        seg.closed += 0.05  # closed a moment after its last frame came
    if killed_at is not None and segments and person.sending(killed_at - 0.1):
        segments[-1].open_at_kill = True  # still being written when the process died
    return segments


def _add_sync(person: Person, segments: list[_Segment], first: float, rate: int, base: int) -> None:
    """Sender reports into the segment open when each came; the last one carried on."""
    last_t = segments[-1].closed
    reports = []
    t = first + SR_FIRST
    while t < last_t:
        rtp = base + round((t - first) * rate)
        # The sender stamps its reports with its own clock, off by clock_offset.
        reports.append((t, [rtp, t + person.clock_offset, "sr"]))
        t += SR_EVERY
    carried: list[Any] = [base, first + ARRIVAL_DELAY, "arrival"]
    for i, seg in enumerate(segments):
        seg.sync = [list(carried)]
        seg.sync += [list(p) for w, p in reports if seg.opened <= w < seg.closed]
        # The latest report goes on into the next segment (one in between too).
        following = segments[i + 1].opened if i + 1 < len(segments) else float("inf")
        earlier = [p for w, p in reports if w < following]
        if earlier:
            carried = earlier[-1]


def _record(name: str, seg: _Segment, path: Path, start: float) -> dict[str, Any]:
    person = seg.person
    video = seg.kind == "video"
    base = person.video_base if video else person.audio_base
    wrap = (1 << 32) if person.wrapped_rtp else None

    def rtp(value: int) -> int:
        return value % wrap if wrap else value

    data = path.read_bytes()
    return {
        "file": name,
        "track": seg.track,
        "participant": {"id": person.id, "name": person.name, "role": person.role},
        "kind": seg.kind,
        "codec": "VP8" if video else "opus",
        "clock_rate": VIDEO_RATE if video else SAMPLE_RATE,
        "rtp_base": rtp(base),
        "first_rtp": rtp(seg.rtps[0]),
        "last_rtp": rtp(seg.rtps[-1]),
        "frames": len(seg.packets),
        "keyframes": sum(1 for _, _, key in seg.packets if key),
        "_opened": seg.opened,
        "sync": [[rtp(r), round(start + u, 6), source] for r, u, source in seg.sync],
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _tags(seg: _Segment, start: float, hearing_id: str) -> dict[str, str]:
    """What capture writes into each segment's header (docs/recording.md, Files)."""
    video = seg.kind == "video"
    rtp, unix, source = seg.sync[0]
    return {
        "TYNDAU_HEARING": hearing_id,
        "TYNDAU_TRACK": seg.track,
        "TYNDAU_PARTICIPANT": seg.person.id,
        "TYNDAU_CLOCK_RATE": str(VIDEO_RATE if video else SAMPLE_RATE),
        "TYNDAU_RTP_BASE": str(seg.person.video_base if video else seg.person.audio_base),
        "TYNDAU_FIRST_RTP": str(seg.rtps[0]),
        "TYNDAU_STARTED_AT": _iso(start + seg.opened),
        "TYNDAU_SYNC": json.dumps([rtp, round(start + unix, 6), source]),
    }


def _last_readable(path: Path, seg: _Segment) -> float:
    """Capture-relative time of the last frame a reader still finds in a cut file."""
    last = None
    try:
        with av.open(str(path)) as container:
            for packet in container.demux(container.streams[0]):
                if packet.pts is not None and packet.size:
                    last = packet.pts
    except av.FFmpegError:
        pass
    first_pts = seg.packets[0][0]
    return seg.opened + ((last if last is not None else first_pts) - first_pts) / 1000


def _write_matroska(path: Path, seg: _Segment, tags: dict[str, str]) -> None:
    with av.open(str(path), "w", format="matroska", options={"cluster_time_limit": "1000"}) as out:
        for key, value in tags.items():
            out.metadata[key] = value
        if seg.kind == "video":
            stream = out.add_stream("vp8")
            stream.width, stream.height = SIZE
        else:
            stream = out.add_stream("opus", rate=SAMPLE_RATE)
            stream.codec_context.layout = "stereo"
            stream.codec_context.extradata = OPUS_HEAD
        stream.time_base = MS
        for pts, data, key in seg.packets:
            packet = av.Packet(data)
            packet.stream = stream
            packet.pts = packet.dts = pts
            packet.time_base = MS
            packet.is_keyframe = key
            out.mux(packet)


def _yuv(rgb: tuple[int, int, int]) -> np.ndarray:
    """A picture of one colour as PyAV's packed yuv420p array."""
    image = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
    image[:] = rgb
    return av.VideoFrame.from_ndarray(image, "rgb24").reformat(format="yuv420p").to_ndarray()


def _moving(picture: np.ndarray, t: float) -> np.ndarray:
    """The picture with a bar sweeping across it and some sensor noise (luma only)."""
    width, height = SIZE
    out = picture.copy()
    luma = out[:height]
    x = int(t * width / 2) % width
    luma[:, x : x + width // 8] = 235
    noise = _NOISE.integers(-6, 7, luma.shape, dtype=np.int16)
    luma[:] = np.clip(luma.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return out


_NOISE = np.random.default_rng(7)


def _tone(person: Person, t: float) -> np.ndarray:
    """20 ms of stereo s16: the person's beep where a flash is on, else silence."""
    times = t + np.arange(AUDIO_FRAME) / SAMPLE_RATE
    on = np.zeros(AUDIO_FRAME, bool)
    for f in person.flashes:
        on |= (times >= f) & (times < f + FLASH)
    wave = np.where(on, 0.5 * np.sin(2 * np.pi * person.tone * times), 0.0)
    mono = (wave * 32767).astype(np.int16)
    return np.stack([mono, mono], axis=1).reshape(1, -1)


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds")
