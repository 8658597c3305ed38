"""One track's frames, decoded segment after segment, each at its time in the mixed file.

Only the mixer decodes (capture writes encoded frames as they came). Frames
are yielded one at a time so a long track is never held in memory. A frame
that does not decode is skipped, a segment that cannot be read further ends
there: what is missing becomes a gap, filled later like any other.
"""

from __future__ import annotations

from collections.abc import Iterator

import av
import numpy as np

from recorder.mixplan import Segment, Track, Warn
from recorder.spans import Timeline

SAMPLE_RATE = 48000


def video_frames(
    track: Track, timeline: Timeline, note: Warn
) -> Iterator[tuple[float, av.VideoFrame]]:
    """(mixed-file seconds, picture) for every decodable frame of a video track."""
    for segment, media_seconds, frame in _decoded(track, note):
        at = timeline.mix_time(track.wall(segment, media_seconds))
        if at is not None:  # None: in a recess
            yield at, frame


def audio_frames(
    track: Track, timeline: Timeline, note: Warn
) -> Iterator[tuple[float, np.ndarray]]:
    """(mixed-file seconds, float32 stereo samples at 48 kHz) for an audio track."""
    resampler: av.AudioResampler | None = None
    for segment, media_seconds, frame in _decoded(track, note):
        start = timeline.mix_time(track.wall(segment, media_seconds))
        if start is None:  # in a recess
            continue
        if frame.sample_rate == SAMPLE_RATE and frame.format.name == "fltp":
            samples = frame.to_ndarray().astype(np.float32, copy=False)
            if samples.shape[0] == 1:
                samples = np.repeat(samples, 2, axis=0)
            elif samples.shape[0] > 2:
                samples = samples[:2]
            yield start, samples
            continue
        # Anything but Opus's own 48 kHz float: convert (rare; keeps the frame's start time).
        resampler = resampler or av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
        offset = 0
        for out in resampler.resample(frame):
            samples = out.to_ndarray().astype(np.float32, copy=False)
            yield start + offset / SAMPLE_RATE, samples
            offset += samples.shape[1]


def _decoded(track: Track, note: Warn) -> Iterator[tuple[Segment, float, av.frame.Frame]]:
    # One decoder for the whole track (a new one only when the codec set-up
    # changes): a segment that does not open on a keyframe still decodes, and
    # Opus keeps its state across segment boundaries.
    decoder: av.CodecContext | None = None
    setup: tuple[str, bytes] | None = None
    current: Segment | None = None
    for segment in track.segments:
        try:
            container = av.open(str(segment.path))
        except (av.FFmpegError, OSError) as exc:
            note(f"{segment.path.name} cannot be opened ({exc}); filled as a gap")
            continue
        with container:
            if not container.streams:
                note(f"{segment.path.name} has no stream; filled as a gap")
                continue
            stream = container.streams[0]
            params = stream.codec_context
            wanted = (params.name, bytes(params.extradata or b""))
            if decoder is None or wanted != setup:
                if decoder is not None and current is not None:
                    yield from _flush(current, decoder)
                decoder, setup = _decoder(stream), wanted
            current = segment
            yield from _segment_frames(segment, container, decoder, note)
    if decoder is not None and current is not None:
        yield from _flush(current, decoder)


def _decoder(stream: av.stream.Stream) -> av.CodecContext:
    params = stream.codec_context
    decoder = av.CodecContext.create(params.name, "r")
    if params.extradata:
        decoder.extradata = params.extradata
    if stream.type == "audio":
        # Opus's pre-skip would drop the first 6.5 ms of every segment (the
        # demuxer marks each file's first packet) and leave its timestamp as it
        # was: a WebRTC receiver plays every decoded sample, so does the mix.
        decoder.options = {"flags2": "+skip_manual"}
    return decoder


def _segment_frames(
    segment: Segment,
    container: av.container.InputContainer,
    decoder: av.CodecContext,
    note: Warn,
) -> Iterator[tuple[Segment, float, av.frame.Frame]]:
    stream = container.streams[0]
    bad = 0
    last = (segment.first_ms or 0.0) / 1000
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.FFmpegError as exc:
            # A file cut short (a killed process) ends here; anything else is damage.
            if not segment.recovered:
                note(
                    f"{segment.path.name} is damaged after {last:.1f} s of its track ({exc});"
                    " the rest is filled as a gap"
                )
            break
        if not packet.size:  # the demuxer's end marker would flush the shared decoder
            continue
        try:
            frames = decoder.decode(packet)
        except av.FFmpegError:
            bad += 1
            continue
        for frame in frames:
            if frame.pts is None or frame.time_base is None:
                continue
            last = float(frame.pts * frame.time_base)
            yield segment, last, frame
    if bad:
        note(f"{segment.path.name}: {bad} frame(s) did not decode; skipped")


def _flush(
    segment: Segment, decoder: av.CodecContext
) -> Iterator[tuple[Segment, float, av.frame.Frame]]:
    try:
        for frame in decoder.decode(None):
            if frame.pts is not None and frame.time_base is not None:
                yield segment, float(frame.pts * frame.time_base), frame
    except av.FFmpegError:
        pass
