"""A sealed recording for tests: a real short MP4 (PyAV), a protocol, an archive on storage.

The archive is laid out as ``recorder/archive.py`` seals one (``<folder>/manifest.json``,
``mixed.mp4``, ``protocol.json``, ``protocol.html``, ``capture/…``) with a manifest
that lists every file's size and SHA-256; it is not signed (serving does not
verify signatures; ``tyndau archive verify`` does).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from server.context import ServerContext
from server.hearings import Hearing
from server.recordings import Recording


def make_mp4(seconds: float = 4.0, *, fps: int = 25, width: int = 320, height: int = 180) -> bytes:
    """An H.264 + AAC MP4 with the index at the front, like the mixer writes."""
    # faststart rewrites the file to move the index to the front: it needs a real file.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mixed.mp4"
        _write_mp4(path, seconds, fps, width, height)
        return path.read_bytes()


def _write_mp4(path: Path, seconds: float, fps: int, width: int, height: int) -> None:
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "g": str(fps)}
        audio = container.add_stream("aac", rate=48000)
        audio.layout = "mono"
        frames = int(seconds * fps)
        for i in range(frames):
            picture = np.zeros((height, width, 3), dtype=np.uint8)
            picture[:, : int(width * (i + 1) / frames)] = (40, 120, 200)  # a bar that grows
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        samples = 1024
        for n in range(int(seconds * 48000 / samples)):
            t = (np.arange(samples) + n * samples) / 48000
            tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, n * samples
            frame.time_base = Fraction(1, 48000)
            container.mux(audio.encode(frame))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))


def protocol_for(hearing: Hearing, offsets: list[tuple[str, float]]) -> dict[str, Any]:
    """A protocol export (``HearingProtocol.export_json``'s shape) with events at offsets."""
    return {
        "hearing": hearing.public(),
        "events": [
            {
                "seq": n + 1,
                "at": datetime(2026, 12, 1, 9, 0, n, tzinfo=UTC).isoformat(),
                "kind": kind,
                "actor": {"id": "judge", "name": "Серікова Әлия", "role": "judge"},
                "subject": None,
                "details": {},
                "recording_offset": offset,
            }
            for n, (kind, offset) in enumerate(offsets)
        ],
    }


async def seal_test_recording(
    ctx: ServerContext,
    hearing: Hearing,
    *,
    mixed: bytes,
    protocol: dict[str, Any] | None = None,
    duration: float | None = None,
) -> Recording:
    """Put an archive of ``hearing`` on the server's archive storage and register it."""
    protocol = protocol or protocol_for(hearing, [("session_started", 0.0)])
    files = {
        "mixed.mp4": mixed,
        "protocol.json": json.dumps(protocol, ensure_ascii=False).encode(),
        "protocol.html": "<!doctype html><title>Хаттама</title><p>Хаттама</p>".encode(),
        "capture/segments.jsonl": b'{"seq": 1}\n',
        "capture/000001.mkv": b"\x1a\x45\xdf\xa3" + bytes(60),
    }
    folder = f"case-{hearing.case_number.replace('/', '_')}/{hearing.id}"
    for name, data in files.items():
        await ctx.archive.put_bytes(f"{folder}/{name}", data)
    manifest = {
        "format": "tyndau-archive/1",
        "hearing": {"id": hearing.id, "case_number": hearing.case_number, "court": hearing.court},
        "sealed_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "files": {
            name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in sorted(files.items())
        },
    }
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    await ctx.archive.put_bytes(f"{folder}/manifest.json", manifest_bytes, exclusive=True)
    return await ctx.recordings.register(
        hearing_id=hearing.id,
        folder=folder,
        manifest_bytes=manifest_bytes,
        manifest=manifest,
        duration_seconds=duration,
    )
