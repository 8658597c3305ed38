"""Capture directories for the archive's tests, written from docs/recording.md.

Real Matroska segments (a few VP8 frames, a few Opus frames, encoded with
PyAV), a chained ``segments.jsonl`` with markers, a dummy mixed MP4 and the
protocol files. Built from the documented format, not by the capture code, so
the archive is tested against the contract.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

HEARING_ID = "h-2026-0042"
COURT = "Астана қаласының № 2 аудандық соты"
CASE_NUMBER = "7199-26-00-1/345"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def write_vp8(path: Path, shade: int, frames: int = 6) -> None:
    """A few VP8 frames (a flat picture of ``shade``) in Matroska."""
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("libvpx", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            picture = np.full((48, 64, 3), (shade + 7 * i) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def write_opus(path: Path, pitch: float, frames: int = 10) -> None:
    """A few 20 ms Opus frames (a tone at ``pitch`` Hz) in Matroska."""
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "stereo"
        t = np.arange(960) / 48000
        for i in range(frames):
            tone = (np.sin(2 * np.pi * pitch * (t + i * 0.02)) * 8000).astype(np.int16)
            samples = np.repeat(tone[None, :], 2, axis=0).reshape(1, -1, order="F")
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
            frame.sample_rate = 48000
            frame.pts = i * 960
            frame.time_base = Fraction(1, 48000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


class IndexWriter:
    """Appends chained lines to ``segments.jsonl`` exactly as docs/recording.md says."""

    def __init__(self, directory: Path, hearing_id: str) -> None:
        self.path = directory / "segments.jsonl"
        self.prev = hashlib.sha256(f"tyndau-capture:{hearing_id}".encode()).hexdigest()
        self.seq = 0

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        record = {**record, "seq": self.seq, "prev": self.prev}
        record["chain"] = hashlib.sha256(self.prev.encode() + canonical(record)).hexdigest()
        with self.path.open("ab") as fh:
            fh.write(canonical(record) + b"\n")
        self.prev = record["chain"]
        return record

    def marker(self, marker: str, at: str) -> dict[str, Any]:
        return self.append({"marker": marker, "at": at})

    def segment(self, directory: Path, file: str, kind: str, started: str, ended: str) -> None:
        data = (directory / file).read_bytes()
        self.append(
            {
                "file": file,
                "track": f"p1:{kind}:1",
                "participant": {"id": "p1", "name": "Серікова Әлия", "role": "judge"},
                "kind": kind,
                "codec": "VP8" if kind == "video" else "opus",
                "clock_rate": 90000 if kind == "video" else 48000,
                "rtp_base": 1000,
                "first_rtp": 1000,
                "last_rtp": 2000,
                "frames": 6,
                "keyframes": 1,
                "started_at": started,
                "ended_at": ended,
                "sync": [[1000, 1796027600.123, "sr"]],
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )


@dataclass
class HearingFiles:
    capture: Path
    mixed: Path
    protocol_json: Path
    protocol_html: Path


def build_capture(
    root: Path,
    hearing_id: str = HEARING_ID,
    *,
    recovered: bool = False,
    torn_line: bool = False,
) -> HearingFiles:
    """A whole hearing's files: capture (4 segments, a recess), mixed MP4, protocol."""
    capture = root / "recordings" / hearing_id
    capture.mkdir(parents=True)
    index = IndexWriter(capture, hearing_id)
    index.marker("started", "2026-11-30T09:00:00.000+00:00")
    write_vp8(capture / "000001.mkv", shade=40)
    index.segment(
        capture,
        "000001.mkv",
        "video",
        "2026-11-30T09:00:00.000+00:00",
        "2026-11-30T09:00:10.000+00:00",
    )
    write_opus(capture / "000002.mkv", pitch=440)
    index.segment(
        capture,
        "000002.mkv",
        "audio",
        "2026-11-30T09:00:00.000+00:00",
        "2026-11-30T09:00:10.000+00:00",
    )
    index.marker("paused", "2026-11-30T09:00:10.000+00:00")
    if torn_line:
        # A process killed mid-line; capture went on on a fresh line (docs/recording.md).
        with index.path.open("ab") as fh:
            fh.write(b'{"seq": 5, "file": "0000\n')
    index.marker("resumed", "2026-11-30T09:20:00.000+00:00")
    write_vp8(capture / "000003.mkv", shade=160)
    index.segment(
        capture,
        "000003.mkv",
        "video",
        "2026-11-30T09:20:00.000+00:00",
        "2026-11-30T09:20:10.000+00:00",
    )
    write_opus(capture / "000004.mkv", pitch=660)
    index.segment(
        capture,
        "000004.mkv",
        "audio",
        "2026-11-30T09:20:00.000+00:00",
        "2026-11-30T09:20:10.000+00:00",
    )
    index.marker("stopped", "2026-11-30T09:20:10.000+00:00")
    if recovered:
        write_vp8(capture / "000005.mkv", shade=220, frames=3)  # open when the process died
    other = root / "other"
    other.mkdir()
    mixed = other / "mixed.mp4"
    # A dummy MP4: an ftyp box and some payload (the archive never decodes it).
    mixed.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 64)
    protocol = {
        "hearing": {
            "id": hearing_id,
            "case_number": CASE_NUMBER,
            "title": "Талап арыз",
            "kind": "court_hearing",
            "court": COURT,
            "scheduled_at": "2026-11-30T09:00:00+00:00",
            "language": "kk",
        },
        "events": [{"kind": "session_started", "at": "2026-11-30T09:00:00+00:00"}],
    }
    protocol_json = other / "protocol.json"
    protocol_json.write_text(json.dumps(protocol, ensure_ascii=False), encoding="utf-8")
    protocol_html = other / "protocol.html"
    protocol_html.write_text("<!doctype html><title>Хаттама</title><p>…</p>", encoding="utf-8")
    return HearingFiles(capture, mixed, protocol_json, protocol_html)
