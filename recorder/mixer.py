"""The mixer: a capture directory into one MP4 (H.264 + AAC) a judge can play.

Every track is decoded as a stream; each video frame and audio frame is put
at the mixed file's time its own RTP timestamp gives (recorder.timeline,
recorder.spans), never where counting frames or samples would put it. The
output is a fixed 25 fps / 48 kHz grid that pulls from every track what falls
into each of its frames, so memory stays bounded however long the hearing
was. Also ``tyndau archive mix CAPTURE_DIR [-o OUT] [--language kk]``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import av
import numpy as np

from recorder.audiomix import SAMPLE_RATE, AudioMix
from recorder.composite import HEIGHT, WIDTH, Compositor, Person
from recorder.decoding import audio_frames, video_frames
from recorder.labels import LANGUAGES, FontNotFound, TextArt, role_name
from recorder.mixplan import CaptureError, MixPlan, read_plan
from recorder.spans import Timeline, build_timeline
from recorder.speaker import SpeakerDetector

FPS = 25
# A picture older than this is no longer shown: the placeholder takes its place
# (a participant who left, lost their video, or whose camera stopped).
VIDEO_HOLD = 1.0
AUDIO_BITRATE = 128_000
AAC_FRAME = 1024
DEFAULT_TIMEZONE = "Asia/Almaty"

Progress = Callable[[float, float], None]  # (seconds mixed, seconds in all)
T = TypeVar("T")


@dataclass
class MixResult:
    output: Path
    duration: float  # seconds
    participants: int
    warnings: list[str] = field(default_factory=list)


def mix(
    capture_dir: Path,
    output: Path,
    *,
    language: str = "kk",
    timezone: str = DEFAULT_TIMEZONE,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    preset: str = "veryfast",
) -> MixResult:
    """Mix ``capture_dir`` into ``output`` (written whole or not at all).

    Raises CaptureError when there is nothing that can be mixed, FontNotFound
    when no font can draw the labels; damaged pieces are skipped with a
    warning and filled as gaps.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    zone = _zone(timezone)
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        if warn:
            warn(message)

    plan = read_plan(Path(capture_dir), note)
    try:
        timeline = build_timeline(plan.markers, plan.extents())
    except ValueError as exc:
        raise CaptureError(f"{capture_dir}: {exc}") from exc
    art = TextArt()
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    try:
        _render(plan, timeline, art, language, zone, partial, progress, note, preset)
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return MixResult(output, timeline.duration, len(plan.participants), warnings)


class _Feed(Generic[T]):
    """A track's decoded frames in time order, taken as the output reaches them."""

    def __init__(self, who: str, track: str, items: Iterator[tuple[float, T]]) -> None:
        self.who, self.track = who, track
        self._items = items
        self._next = next(items, None)

    def until(self, limit: float) -> Iterator[tuple[float, T]]:
        """Every frame that starts before ``limit`` and was not taken yet."""
        while self._next is not None and self._next[0] < limit:
            item, self._next = self._next, next(self._items, None)
            yield item


@dataclass
class _Picture:
    frame: av.VideoFrame | None = None
    time: float = -math.inf
    serial: int = 0


def _render(
    plan: MixPlan,
    timeline: Timeline,
    art: TextArt,
    language: str,
    zone: ZoneInfo,
    path: Path,
    progress: Progress | None,
    note: Callable[[str], None],
    preset: str,
) -> None:
    people = plan.participants
    slot = {p.id: i for i, p in enumerate(people)}
    compositor = Compositor([Person(p.name, role_name(p.role, language)) for p in people], art)
    video = [
        _Feed(t.participant.id, t.id, video_frames(t, timeline, note))
        for t in plan.tracks
        if t.kind == "video"
    ]
    audio = [
        _Feed(t.participant.id, t.id, audio_frames(t, timeline, note))
        for t in plan.tracks
        if t.kind == "audio"
    ]
    pictures = [_Picture() for _ in people]
    sound = AudioMix()
    speakers = SpeakerDetector()
    serial = 0
    total = max(1, math.ceil(timeline.duration * FPS))
    with av.open(str(path), "w", format="mp4", container_options={"movflags": "+faststart"}) as out:
        vstream = out.add_stream("libx264", rate=FPS, options={"preset": preset, "crf": "23"})
        vstream.width, vstream.height, vstream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        vstream.codec_context.gop_size = 2 * FPS  # a keyframe every 2 s: quick seeking
        astream = out.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
        astream.bit_rate = AUDIO_BITRATE
        pending = np.zeros((2, 0), np.float32)
        written = 0  # audio samples handed to the encoder
        for k in range(total):
            now, horizon = k / FPS, (k + 1) / FPS
            for feed in audio:
                for start, samples in feed.until(horizon):
                    sound.add(feed.track, start, samples)
                    speakers.hear(feed.who, start, samples)
            pending = np.concatenate([pending, sound.take(round(horizon * SAMPLE_RATE))], axis=1)
            while pending.shape[1] >= AAC_FRAME:
                _encode_audio(out, astream, pending[:, :AAC_FRAME], written)
                pending, written = pending[:, AAC_FRAME:], written + AAC_FRAME
            # A frame is shown from the output frame nearest its time on.
            for feed in video:
                for start, frame in feed.until(now + 0.5 / FPS):
                    serial += 1
                    pictures[slot[feed.who]] = _Picture(frame, start, serial)
            speaking = speakers.speaker(now)
            for person, picture in zip(people, pictures, strict=True):
                fresh = now - picture.time <= VIDEO_HOLD
                frame = picture.frame if fresh else None
                compositor.tile(slot[person.id], frame, picture.serial, speaking == person.id)
            compositor.clock(_clock_text(timeline.wall_time(now), zone))
            image = compositor.frame()
            image.pts, image.time_base = k, Fraction(1, FPS)
            out.mux(vstream.encode(image))
            if progress and (k % FPS == FPS - 1 or k == total - 1):
                progress(horizon, total / FPS)
        if pending.shape[1]:
            padded = np.zeros((2, AAC_FRAME), np.float32)
            padded[:, : pending.shape[1]] = pending
            _encode_audio(out, astream, padded, written)
        out.mux(vstream.encode(None))
        out.mux(astream.encode(None))


def _encode_audio(
    out: av.container.OutputContainer, stream: av.AudioStream, samples: np.ndarray, pts: int
) -> None:
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples), format="fltp", layout="stereo"
    )
    frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, pts, Fraction(1, SAMPLE_RATE)
    out.mux(stream.encode(frame))


def _clock_text(unix: float, zone: ZoneInfo) -> str:
    local = datetime.fromtimestamp(unix, zone)
    offset = local.strftime("%z")  # +0500
    return f"{local:%d.%m.%Y %H:%M:%S} (UTC{offset[:3]}:{offset[3:]})"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


# --- tyndau archive mix ------------------------------------------------------


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``tyndau archive mix CAPTURE_DIR [-o OUT] [--language kk] [--timezone TZ]``."""
    parser = commands.add_parser(
        "mix",
        help="mix a capture directory into one MP4 (grid, names, speaker, time)",
        description="Mix a hearing's capture directory into one H.264 + AAC MP4. "
        "Exit status: 0 written, 1 the capture cannot be mixed, 2 no such directory.",
    )
    parser.add_argument("capture_dir", type=Path, help="the hearing's capture directory")
    parser.add_argument(
        "-o", "--output", type=Path, help="the MP4 to write (default: ./<hearing id>.mp4)"
    )
    parser.add_argument(
        "--language", choices=LANGUAGES, default="kk", help="language of the role names"
    )
    parser.add_argument(
        "--timezone",
        default=None,
        help="time zone of the burned-in time (default: TYNDAU_COURT_TIMEZONE, Asia/Almaty)",
    )
    parser.set_defaults(func=run_mix, host=None, port=None)


def run_mix(args: argparse.Namespace) -> int:
    """The ``mix`` command: exit 0 written, 1 cannot be mixed, 2 no such directory."""
    from tqdm import tqdm

    capture = Path(args.capture_dir)
    if not capture.is_dir():
        print(f"tyndau archive mix: {capture}: no such capture directory", file=sys.stderr)
        return 2
    output = args.output or Path.cwd() / f"{capture.resolve().name}.mp4"
    timezone = args.timezone or _court_timezone(args)
    bar: tqdm | None = None  # type: ignore[type-arg]

    def progress(done: float, total: float) -> None:
        nonlocal bar
        if bar is None:
            # disable=None: no bar when stderr is not a terminal (a parent reads errors there).
            bar = tqdm(
                total=round(total, 1), unit="s", desc="mixing", file=sys.stderr, disable=None
            )
        bar.update(round(done - bar.n, 1))

    def warn(message: str) -> None:
        tqdm.write(f"tyndau archive mix: warning: {message}", file=sys.stderr)

    try:
        result = mix(
            capture, output, language=args.language, timezone=timezone, progress=progress, warn=warn
        )
    except (CaptureError, FontNotFound) as exc:
        print(f"tyndau archive mix: {exc}", file=sys.stderr)
        return 1
    except (OSError, av.FFmpegError) as exc:
        print(f"tyndau archive mix: cannot write {output}: {exc}", file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    print(
        f"{result.output}: {result.duration:.1f} s, {result.participants} participant(s)"
        + (f", {len(result.warnings)} warning(s)" if result.warnings else "")
    )
    return 0


def _court_timezone(args: argparse.Namespace) -> str:
    from server.settings import Settings

    return Settings.load(getattr(args, "config", None)).court_timezone
