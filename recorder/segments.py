"""Capture files: Matroska segments and the hash-chained index ``segments.jsonl``.

Formats: docs/recording.md ("Capture"). A segment holds one track's encoded
frames as they came (muxed by PyAV, never encoded), with a cluster written and
flushed at least every second, so a killed process leaves the open segment
readable up to its last cluster. The index gets one line per closed segment
and per marker, each fsynced, each chained to the one before.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from recorder.chain import canonical, chain_hash, genesis

INDEX_NAME = "segments.jsonl"
# ``000001.mkv``, or ``000001-<node id>.mkv`` when written by a node of several.
SEGMENT_NAME = re.compile(r"^(\d{6,})(?:-[A-Za-z0-9_.-]{1,64})?\.mkv$")
_NOT_IN_NODE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
MILLISECONDS = Fraction(1, 1000)
# Matroska muxer: close a cluster after 1 s of media; write each packet through at once.
MUXER_OPTIONS = {"cluster_time_limit": "1000", "flush_packets": "1"}
# OpusHead (RFC 7845): version 1, 2 channels, 312 samples pre-skip, 48 kHz, no gain, family 0.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, 48000, 0, 0)
CODECS = {"VP8": "vp8", "H264": "h264", "OPUS": "opus"}
NTP_UNIX_OFFSET = 2208988800  # seconds from 1900 (NTP era 0) to 1970


def iso(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).isoformat(timespec="milliseconds")


def ntp_ms_to_unix(ntp_ms: int) -> float:
    """aiortc's arrival clock (ms since 1900) as Unix seconds."""
    return ntp_ms / 1000 - NTP_UNIX_OFFSET


def ntp_to_unix(ntp: int) -> float:
    """A 64-bit NTP timestamp (RTCP sender report) as Unix seconds."""
    return (ntp >> 32) - NTP_UNIX_OFFSET + (ntp & 0xFFFFFFFF) / 2**32


def file_sha256(path: Path) -> tuple[int, str]:
    """(size, sha256) of a file, after making sure it is on disk."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        os.fsync(fh.fileno())
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def segment_name(number: int, node_id: str | None = None) -> str:
    """A segment's file name: its number, then the node that wrote it (if one is named).

    With several nodes writing one hearing's directory in turn (a failover), the
    node id keeps two nodes from ever opening the same file.
    """
    if not node_id:
        return f"{number:06d}.mkv"
    node = _NOT_IN_NODE_NAME.sub("_", node_id)[:64].lstrip(".") or "_"
    return f"{number:06d}-{node}.mkv"


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ChainError(Exception):
    """The index does not verify."""


def read_index(path: Path, hearing_id: str) -> list[dict[str, Any]]:
    """The index's records, their chain checked; raises :class:`ChainError`.

    A line that is not JSON is torn (a process killed while writing it); it is
    skipped, as capture chained its next line to the last whole one.
    """
    records: list[dict[str, Any]] = []
    prev = genesis(hearing_id)
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("prev") != prev or record.get("chain") != chain_hash(prev, record):
            raise ChainError(f"line {number} breaks the chain")
        seq = record.get("seq")
        if not isinstance(seq, int) or (records and seq <= records[-1]["seq"]):
            raise ChainError(f"line {number} has seq {seq!r} out of order")
        prev = record["chain"]
        records.append(record)
    return records


class CaptureIndex:
    """Appends to one hearing's ``segments.jsonl``, continuing its chain across restarts."""

    def __init__(self, directory: Path, hearing_id: str) -> None:
        self.directory = directory
        self.path = directory / INDEX_NAME
        self.hearing_id = hearing_id
        self.prev = genesis(hearing_id)
        self.seq = 0
        self.damaged_tail = False
        # The time the last whole line speaks of (a marker's ``at``, a segment's
        # ``ended_at``): where a failover's gap begins when nothing better is known.
        self.last_at: datetime | None = None
        directory.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._continue()

    def _continue(self) -> None:
        """Go on from the last whole line (a process killed mid-line leaves a torn one)."""
        data = self.path.read_bytes()
        for line in data.splitlines():
            try:
                record = json.loads(line)
                self.prev, self.seq = str(record["chain"]), int(record["seq"])
                self.last_at = _record_time(record) or self.last_at
            except (ValueError, KeyError, TypeError):
                self.damaged_tail = True
        if data and not data.endswith(b"\n"):
            # Start on a fresh line: the torn one stays, as found, for the verifier to see.
            self._write(b"\n")

    def next_file_number(self) -> int:
        """The number of the next segment file: after every file there, indexed or not."""
        numbers = [
            int(m.group(1)) for p in self.directory.iterdir() if (m := SEGMENT_NAME.match(p.name))
        ]
        return max(numbers, default=0) + 1

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Chain, write, flush and fsync one line; return the record as written."""
        record = {**record, "seq": self.seq + 1, "prev": self.prev}
        record["chain"] = chain_hash(self.prev, record)
        self._write(canonical(record) + b"\n")
        self.seq += 1
        self.prev = record["chain"]
        self.last_at = _record_time(record) or self.last_at
        return record

    def marker(self, marker: str, at: datetime, **details: Any) -> dict[str, Any]:
        return self.append(
            {"marker": marker, "at": at.isoformat(timespec="milliseconds"), **details}
        )

    def _write(self, data: bytes) -> None:
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"short write to {self.path}")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_directory(self.directory)


def _record_time(record: dict[str, Any]) -> datetime | None:
    value = record.get("at") or record.get("ended_at")
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


class SegmentFile:
    """One Matroska file of one track's frames, times in ms from the track's ``rtp_base``."""

    def __init__(
        self,
        path: Path,
        codec: str,
        *,
        width: int = 0,
        height: int = 0,
        extradata: bytes = b"",
        tags: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.container = av.open(str(path), "w", format="matroska", options=MUXER_OPTIONS)
        try:
            # Written with the header: a segment a killed process left without its
            # index line still says whose it is and where it starts.
            for key, value in (tags or {}).items():
                self.container.metadata[key] = value
            name = CODECS[codec.upper()]
            if name == "opus":
                stream = self.container.add_stream("opus", rate=48000)
                stream.codec_context.layout = "stereo"
                stream.codec_context.extradata = OPUS_HEAD
            else:
                stream = self.container.add_stream(name)
                if width and height:
                    stream.width, stream.height = width, height
                if extradata:
                    # Annex B SPS/PPS: the muxer writes them as avcC and converts packets.
                    stream.codec_context.extradata = extradata
            stream.time_base = MILLISECONDS
        except BaseException:
            self.container.close()
            raise
        self.stream = stream
        self.last_pts = -1

    def write(self, pts_ms: int, data: bytes, keyframe: bool) -> bool:
        """Mux one frame; False (not written) if it would go back in time."""
        if pts_ms <= self.last_pts:
            return False
        packet = av.Packet(data)
        packet.stream = self.stream
        packet.pts = packet.dts = pts_ms
        packet.time_base = MILLISECONDS
        packet.is_keyframe = keyframe
        self.container.mux(packet)
        self.last_pts = pts_ms
        return True

    def close(self) -> None:
        self.container.close()
