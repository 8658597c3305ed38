"""One hearing's capture: taps on its tracks, a bounded queue, a writer thread.

On the event loop a tap only appends a tuple of what a packet carries to a
bounded queue (a full queue drops the packet and counts it). A worker thread
per hearing takes the queue, depacketizes (:mod:`recorder.depacketize`),
places frames by their RTP time, writes Matroska segments and the index
(:mod:`recorder.segments`), and reports markers, failures and keyframe needs
back to the event loop. Nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from recorder.depacketize import Frame, TrackDepacketizer
from recorder.segments import (
    CaptureIndex,
    SegmentFile,
    file_sha256,
    iso,
    ntp_ms_to_unix,
    ntp_to_unix,
    segment_name,
)

log = structlog.get_logger(__name__)

# Packets the queue holds before it drops: seconds of a whole hearing's media
# (a stalled disk must not grow memory without bound).
QUEUE_PACKETS = 8192
# How often the worker looks at the queue when nobody wakes it (packets do not).
POLL_SECONDS = 0.05
# At most one keyframe request per track per this many seconds from capture.
KEYFRAME_ASK_SECONDS = 1.0
CAPTURED_CODECS = ("VP8", "H264", "OPUS")

Notify = Callable[[str, dict[str, Any]], None]


class CapturedTrack(Protocol):
    """What capture needs of a published track (server.sfu.published.PublishedTrack)."""

    track_id: str
    owner_id: str
    kind: str
    codec: Any
    taps: list[Any]

    def request_keyframe(self) -> None: ...


class Tap:
    """Sits on one track in the packet path: appends, counts drops, nothing else."""

    __slots__ = ("_items", "dropped", "number")

    def __init__(self, items: collections.deque[tuple[Any, ...]], number: int) -> None:
        self._items = items
        self.number = number
        self.dropped = 0

    def rtp(self, packet: Any, arrival_ms: int) -> None:
        items = self._items
        if len(items) >= QUEUE_PACKETS:
            self.dropped += 1
            return
        items.append(
            (
                self.number,
                packet.sequence_number,
                packet.timestamp,
                packet.marker,
                packet.payload,
                arrival_ms,
            )
        )

    def sender_report(self, rtp_timestamp: int, ntp_timestamp: int) -> None:
        # About one a second: never dropped, they are what places the track in time.
        self._items.append((self.number, rtp_timestamp, ntp_timestamp))


@dataclass
class _Segment:
    """The open segment of a track and what its index line will say."""

    file: SegmentFile
    name: str
    first_pts: int
    first_rtp: int
    started_at: float
    sync: list[list[Any]]
    dropped_at_start: int
    last_rtp: int = 0
    ended_at: float = 0.0
    frames: int = 0
    keyframes: int = 0


@dataclass
class _Track:
    """Worker-side state of one captured track."""

    number: int
    meta: dict[str, Any]
    tap: Tap
    depacketizer: TrackDepacketizer
    clock_rate: int
    video: bool
    raw_last: int | None = None
    ext_last: int = 0
    rtp_base: int | None = None
    # The latest sync point ([rtp, unix seconds, source]): carried into a new segment.
    last_sync: list[Any] | None = None
    segment: _Segment | None = None
    asked_keyframe_at: float = field(default=float("-inf"))

    def unwrap(self, timestamp: int) -> int:
        """The RTP timestamp extended past 32 bits (a 90 kHz clock wraps every 13 h)."""
        if self.raw_last is None:
            self.raw_last = self.ext_last = timestamp
            return timestamp
        delta = (timestamp - self.raw_last) & 0xFFFFFFFF
        if delta >= 0x80000000:
            return self.ext_last - (0x100000000 - delta)  # a little behind: do not move on
        self.raw_last = timestamp
        self.ext_last += delta
        return self.ext_last


class CaptureFailed(Exception):
    """A capture's files could not be written."""


class HearingCapture:
    """Captures one hearing from its first ``start`` to ``close`` (or a failure)."""

    def __init__(
        self,
        hearing_id: str,
        directory: Path,
        *,
        segment_seconds: float,
        loop: asyncio.AbstractEventLoop,
        notify: Notify,
        previous: HearingCapture | None = None,
        node_id: str | None = None,
    ) -> None:
        self.hearing_id = hearing_id
        self.node_id = node_id  # in every segment's name: nodes never share a file
        self.directory = directory
        self.segment_ms = round(segment_seconds * 1000)
        self._loop = loop
        self._notify = notify
        self._items: collections.deque[tuple[Any, ...]] = collections.deque()
        self._wake = threading.Event()
        self._numbers = iter(range(1, 1 << 62))
        # Event-loop side: the tracks tapped now, by track id and by number.
        self._tapped: dict[str, tuple[CapturedTrack, Tap]] = {}
        self._by_number: dict[int, CapturedTrack] = {}
        self.recording = False
        self.failed = False
        self.finished = False  # stopped or failed: this capture takes nothing more
        # Worker side.
        self._tracks: dict[int, _Track] = {}
        self._index: CaptureIndex | None = None
        self._previous = previous
        self._thread = threading.Thread(target=self._run, name=f"capture-{hearing_id}", daemon=True)
        self._thread.start()

    # -- event loop side ------------------------------------------------------

    @property
    def queued(self) -> int:
        """Items waiting for the worker."""
        return len(self._items)

    @property
    def dropped(self) -> int:
        return sum(tap.dropped for _, tap in self._tapped.values())

    def _command(self, *item: Any) -> None:
        self._items.append(item)
        self._wake.set()

    def begin(self, marker: str, at: datetime, **details: Any) -> None:
        """Start (``started``) or go on (``resumed``) recording; tracks are added after."""
        if self.finished:
            return
        self.recording = True
        self._command("begin", marker, at, details)

    def take_over(
        self, at: datetime, *, previous_node: str | None, previous_seen_at: datetime | None
    ) -> None:
        """Go on with a hearing whose node failed mid-session: ``gap``, then ``resumed``.

        The gap runs from the later of the previous node's last heartbeat and the
        index's last whole line (known only to the worker) to ``at``.
        """
        if self.finished:
            return
        self.recording = True
        self._command("gap", at, {"node": previous_node, "seen_at": previous_seen_at})

    def add_track(self, track: CapturedTrack, participant: dict[str, Any]) -> None:
        """Tap ``track`` (it is in the hearing space and the hearing is in session)."""
        if not self.recording or self.finished or track.track_id in self._tapped:
            return
        codec = track.codec.mimeType.split("/")[-1]
        if codec.upper() not in CAPTURED_CODECS:
            log.warning("capture_codec_unsupported", hearing=self.hearing_id, codec=codec)
            return
        number = next(self._numbers)
        meta = {
            "track": track.track_id,
            "participant": participant,
            "kind": track.kind,
            "codec": codec,
            "clock_rate": int(track.codec.clockRate),
        }
        tap = Tap(self._items, number)
        self._command("open", number, meta, tap)  # before the first packet it taps
        self._tapped[track.track_id] = (track, tap)
        self._by_number[number] = track
        track.taps.append(tap)
        track.request_keyframe()  # a segment starts at a keyframe: no need to wait for one

    def remove_track(self, track_id: str) -> None:
        """Stop tapping a track (it left the hearing space or ended); its segment closes."""
        tapped = self._tapped.pop(track_id, None)
        if tapped is None:
            return
        track, tap = tapped
        if tap in track.taps:
            track.taps.remove(tap)
        self._by_number.pop(tap.number, None)
        self._command("close", tap.number)

    def _detach_all(self) -> None:
        for track_id in list(self._tapped):
            self.remove_track(track_id)

    def pause(self, at: datetime, **details: Any) -> None:
        """Close every segment and write ``paused`` (a recess, or the server stopping)."""
        if not self.recording or self.finished:
            return
        self.recording = False
        self._detach_all()
        self._command("end", "paused", at, details)

    def stop(self, at: datetime, marker: str = "stopped", **details: Any) -> None:
        """Close every segment, write ``marker`` and end the worker.

        ``stopped`` when the hearing closed; ``paused`` when the server stops
        mid-session (no marker if the capture was paused already).
        """
        if self.finished:
            return
        if marker == "paused" and not self.recording:
            marker = ""
        self.recording = False
        self.finished = True
        self._detach_all()
        self._command("stop", marker, at, details)

    def on_failed(self) -> None:
        """The worker failed: untap everything (on the event loop)."""
        self.recording = False
        self.failed = self.finished = True
        for track, tap in self._tapped.values():
            if tap in track.taps:
                track.taps.remove(tap)
        self._tapped.clear()

    def keyframe_wanted(self, number: int) -> None:
        track = self._by_number.get(number)
        if track is not None:
            track.request_keyframe()

    async def closed(self) -> None:
        """Wait (without blocking the loop) until the worker has ended."""
        await asyncio.to_thread(self._thread.join)

    # -- worker side ----------------------------------------------------------

    def _tell(self, event: str, **payload: Any) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: the process is ending
            self._loop.call_soon_threadsafe(self._notify, event, payload)

    def _run(self) -> None:
        if self._previous is not None:
            self._previous._thread.join()  # one writer per index at a time
            self._previous = None
        try:
            self._index = CaptureIndex(self.directory, self.hearing_id)
            if self._index.damaged_tail:
                log.warning("capture_index_torn_line", hearing=self.hearing_id)
            while self._work():
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
        except Exception as exc:
            self._fail(exc)

    def _work(self) -> bool:
        """Handle everything queued; False once the capture has stopped."""
        items = self._items
        while items:
            item = items.popleft()
            head = item[0]
            if head.__class__ is int:
                track = self._tracks.get(head)
                if track is None:
                    continue
                if len(item) == 6:
                    self._packet(track, item)
                else:
                    self._sender_report(track, item[1], item[2])
            elif head == "open":
                self._open(item[1], item[2], item[3])
            elif head == "close":
                track = self._tracks.pop(item[1], None)
                if track is not None:
                    self._close_track(track)
            elif head == "begin":
                self._marker(item[1], item[2], item[3])
            elif head == "gap":
                self._gap(item[1], item[2])
            elif head in ("end", "stop"):
                for track in list(self._tracks.values()):
                    self._close_track(track)
                self._tracks.clear()
                if item[1]:
                    self._marker(item[1], item[2], item[3])
                if head == "stop":
                    return False
        return True

    def _marker(self, marker: str, at: datetime, details: dict[str, Any]) -> None:
        assert self._index is not None
        self._index.marker(marker, at, **details)
        self._tell("marker", marker=marker, at=at, details=details)

    def _gap(self, at: datetime, previous: dict[str, Any]) -> None:
        assert self._index is not None
        known = [t for t in (previous["seen_at"], self._index.last_at) if t is not None]
        since = min(max(known), at) if known else at
        gap = {
            "from": since.isoformat(timespec="milliseconds"),
            "to": at.isoformat(timespec="milliseconds"),
            "reason": "node_failed",
        }
        if previous["node"]:
            gap["node"] = previous["node"]
        self._marker("gap", at, gap)
        self._marker("resumed", at, {"reason": "failover"})

    def _open(self, number: int, meta: dict[str, Any], tap: Tap) -> None:
        video = meta["kind"] == "video"
        self._tracks[number] = _Track(
            number=number,
            meta=meta,
            tap=tap,
            depacketizer=TrackDepacketizer(meta["codec"]),
            clock_rate=meta["clock_rate"],
            video=video,
        )

    def _packet(self, track: _Track, item: tuple[Any, ...]) -> None:
        _, seq, timestamp, marker, payload, arrival_ms = item
        depacketizer = track.depacketizer
        for frame in depacketizer.push(seq, timestamp, marker, payload, arrival_ms):
            self._frame(track, frame)
        if depacketizer.wants_keyframe:
            self._ask_keyframe(track)

    def _ask_keyframe(self, track: _Track) -> None:
        now = time.monotonic()
        if now - track.asked_keyframe_at >= KEYFRAME_ASK_SECONDS:
            track.asked_keyframe_at = now
            self._tell("keyframe", number=track.number)

    def _sender_report(self, track: _Track, rtp_timestamp: int, ntp: int) -> None:
        point = [track.unwrap(rtp_timestamp), round(ntp_to_unix(ntp), 6), "sr"]
        track.last_sync = point
        if track.segment is not None:
            track.segment.sync.append(point)

    def _frame(self, track: _Track, frame: Frame) -> None:
        rtp = track.unwrap(frame.timestamp)
        arrival = ntp_ms_to_unix(frame.arrival_ms)
        if track.rtp_base is None:
            track.rtp_base = rtp
            if track.last_sync is None:  # no sender report yet: its first arrival places it
                track.last_sync = [rtp, round(arrival, 6), "arrival"]
        pts = (rtp - track.rtp_base) * 1000 // track.clock_rate
        segment = track.segment
        if segment is not None and pts - segment.first_pts >= self.segment_ms:
            if not track.video or frame.keyframe:
                self._close_segment(track)
                segment = None
            else:
                self._ask_keyframe(track)  # WebRTC senders send keyframes only when asked
        if segment is None:
            if track.video and not frame.keyframe:
                self._ask_keyframe(track)
                return
            segment = self._open_segment(track, frame, pts, rtp, arrival)
        if not segment.file.write(pts, frame.data, frame.keyframe):
            return
        segment.frames += 1
        segment.keyframes += frame.keyframe
        segment.last_rtp = rtp
        segment.ended_at = arrival

    def _open_segment(
        self, track: _Track, frame: Frame, pts: int, rtp: int, arrival: float
    ) -> _Segment:
        assert self._index is not None
        name = segment_name(self._index.next_file_number(), self.node_id)
        segment = _Segment(
            file=SegmentFile(
                self.directory / name,
                track.meta["codec"],
                width=frame.width,
                height=frame.height,
                extradata=frame.extradata,
                tags={
                    "TYNDAU_HEARING": self.hearing_id,
                    "TYNDAU_TRACK": track.meta["track"],
                    "TYNDAU_PARTICIPANT": track.meta["participant"]["id"],
                    "TYNDAU_CLOCK_RATE": str(track.clock_rate),
                    "TYNDAU_RTP_BASE": str(track.rtp_base),
                    "TYNDAU_FIRST_RTP": str(rtp),
                    "TYNDAU_STARTED_AT": iso(arrival),
                    "TYNDAU_SYNC": json.dumps(track.last_sync),
                },
            ),
            name=name,
            first_pts=pts,
            first_rtp=rtp,
            started_at=arrival,
            sync=[list(track.last_sync)] if track.last_sync else [],
            dropped_at_start=track.tap.dropped,
        )
        track.segment = segment
        return segment

    def _close_track(self, track: _Track) -> None:
        for frame in track.depacketizer.flush():
            self._frame(track, frame)
        self._close_segment(track)

    def _close_segment(self, track: _Track) -> None:
        segment = track.segment
        if segment is None:
            return
        track.segment = None
        segment.file.close()
        assert self._index is not None
        size, digest = file_sha256(segment.file.path)
        meta = track.meta
        record: dict[str, Any] = {
            "file": segment.name,
            "track": meta["track"],
            "participant": meta["participant"],
            "kind": meta["kind"],
            "codec": meta["codec"],
            "clock_rate": meta["clock_rate"],
            "rtp_base": track.rtp_base,
            "first_rtp": segment.first_rtp,
            "last_rtp": segment.last_rtp,
            "frames": segment.frames,
            "keyframes": segment.keyframes,
            "started_at": iso(segment.started_at),
            "ended_at": iso(segment.ended_at or segment.started_at),
            "sync": segment.sync,
            "size": size,
            "sha256": digest,
        }
        dropped = track.tap.dropped - segment.dropped_at_start
        if dropped:
            # The queue overflowed (the disk could not keep up): said in the index and the log.
            record["dropped"] = dropped
            log.warning(
                "capture_packets_dropped",
                hearing=self.hearing_id,
                track=meta["track"],
                dropped=dropped,
            )
        self._index.append(record)

    def _fail(self, exc: Exception) -> None:
        """Stop this capture: keep what is written, close what can be, mark ``failed``."""
        reason = _reason(exc)
        log.error("capture_failed", hearing=self.hearing_id, reason=reason)
        self._items.clear()
        for track in self._tracks.values():
            segment = track.segment
            if segment is not None:
                # If even closing fails, the file stays as it is, up to its last cluster.
                with contextlib.suppress(Exception):
                    segment.file.close()
        self._tracks.clear()
        marked = False
        if self._index is not None:
            try:
                self._index.marker("failed", datetime.now(UTC), reason=reason)
                marked = True
            except Exception:  # noqa: S110 - the disk that failed may refuse this too
                pass
        self._tell("failed", reason=reason, marked=marked)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
