"""What the mixer mixes: a capture directory read into participants, tracks and segments.

Reads ``segments.jsonl`` (docs/recording.md, "Capture") and the Matroska files
beside it. Closed segments come from the index; a segment file with no index
line was left open by a killed process and is taken as ``recovered``: read up
to where it ends and placed on its track (by the index fields in its Matroska
tags when capture wrote them, else as the continuation of the indexed track
whose last segment it follows). Nothing here decodes media: files are only
opened to read their headers and packet times.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import av

from recorder.spans import Marker
from recorder.timeline import Clock, SyncPoint, align_participant, fit_clock, unwrap

INDEX = "segments.jsonl"
_SEGMENT_FILE = re.compile(r"^(\d+)(?:-[A-Za-z0-9_.-]+)?\.mkv$")  # a node id may follow
# A recovered segment continues its track if it starts within this long after
# the track's last indexed frame (one segment is cut at the next frame).
_CONTINUATION_SECONDS = 2.0
_DEFAULT_RATES = {"video": 90000, "audio": 48000}
# A segment whose own sender reports put it further than this from its track's
# clock is placed by them instead (its sender restarted its RTP clock).
OWN_CLOCK_SECONDS = 0.25
# Grid order: the bench first, then the parties, then everyone else.
ROLE_ORDER = (
    "judge",
    "secretary",
    "prosecutor",
    "investigator",
    "lawyer",
    "representative",
    "defendant",
    "detainee",
    "victim",
    "plaintiff",
    "respondent",
    "witness",
    "expert",
    "interpreter",
    "facility_officer",
    "observer",
)

Warn = Callable[[str], None]


class CaptureError(Exception):
    """The capture directory cannot be mixed (missing, unreadable, nothing in it)."""


@dataclass(frozen=True)
class Participant:
    id: str
    name: str
    role: str


@dataclass
class Segment:
    """One Matroska file: one track's frames, times in ms since ``rtp_base``."""

    number: int  # the file's number: the order segments were opened in
    path: Path
    track: str
    kind: str
    clock_rate: int
    rtp_base: int
    first_rtp: int | None = None
    last_rtp: int | None = None
    sync: list[Any] = field(default_factory=list)
    recovered: bool = False
    line: int | None = None  # the index line's seq: the order segments were closed in
    base: int = 0  # rtp_base unwrapped onto the track's continuous RTP time
    first_ms: float | None = None  # from the file, for recovered segments
    last_ms: float | None = None


@dataclass
class Track:
    id: str
    participant: Participant
    kind: str
    clock_rate: int
    segments: list[Segment] = field(default_factory=list)
    clock: Clock | None = None
    own_clocks: dict[int, Clock] = field(default_factory=dict)  # by segment number

    def wall(self, segment: Segment, media_seconds: float) -> float:
        """Wall-clock time of a frame at ``media_seconds`` in ``segment``."""
        clock = self.own_clocks.get(segment.number, self.clock)
        assert clock is not None
        return clock.wall(segment.base + media_seconds * self.clock_rate)


@dataclass
class MixPlan:
    directory: Path
    participants: list[Participant]
    tracks: list[Track]
    markers: list[Marker]
    warnings: list[str]

    def extents(self) -> list[tuple[float, float]]:
        """Wall-clock (first, last) of every segment's media."""
        out = []
        for track in self.tracks:
            for seg in track.segments:
                if seg.first_ms is None or seg.last_ms is None:
                    continue
                first = track.wall(seg, seg.first_ms / 1000)
                out.append((first, track.wall(seg, seg.last_ms / 1000)))
        return out


def read_plan(directory: Path, warn: Warn | None = None) -> MixPlan:
    """Read a capture directory; problems that leave something to mix are warnings."""
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        if warn:
            warn(message)

    directory = Path(directory)
    if not directory.is_dir():
        raise CaptureError(f"{directory}: no such capture directory")
    records, markers = _read_index(directory, note)
    indexed = {str(r.get("file")) for r in records}
    segments: list[Segment] = []
    people: dict[str, Participant] = {}
    track_people: dict[str, str] = {}
    for record in records:
        segment = _segment_from_record(directory, record, note)
        if segment is None:
            continue
        person = _participant(record.get("participant"), record["track"])
        people[person.id] = person
        track_people[segment.track] = person.id
        segments.append(segment)
    tracks = _tracks(segments, people, track_people)
    for track in tracks.values():
        _unwrap_track(track)
    unindexed = [p for p in directory.glob("*.mkv") if p.name not in indexed]
    _add_recovered(
        sorted(unindexed, key=lambda p: _file_number(p.name, 1 << 30)), tracks, people, note
    )
    tracks = {k: t for k, t in tracks.items() if t.segments}
    if not tracks:
        if not records and not any(directory.glob("*.mkv")):
            raise CaptureError(f"{directory}: not a capture directory (no {INDEX}, no segments)")
        raise CaptureError(f"{directory}: no readable segment to mix")
    for track in tracks.values():
        track.segments.sort(key=lambda s: s.number)
        _unwrap_track(track)  # again, with the recovered segments in place
    _fit_clocks(tracks, note)
    placed = [t for t in tracks.values() if t.clock is not None]
    if not placed:
        raise CaptureError(f"{directory}: no track has sync points to place it in time")
    present = {t.participant.id for t in placed}
    order = {role: i for i, role in enumerate(ROLE_ORDER)}
    first_seen: dict[str, int] = {}
    for t in placed:
        first = min(s.number for s in t.segments)
        first_seen[t.participant.id] = min(first, first_seen.get(t.participant.id, first))
    participants = sorted(
        (p for p in people.values() if p.id in present),
        key=lambda p: (order.get(p.role, len(order)), first_seen[p.id], p.id),
    )
    return MixPlan(directory, participants, placed, markers, warnings)


def _read_index(directory: Path, note: Warn) -> tuple[list[dict[str, Any]], list[Marker]]:
    path = directory / INDEX
    if not path.exists():
        note(f"{INDEX} is missing: every segment is taken as recovered")
        return [], []
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read the index ({exc.strerror})") from exc
    records: list[dict[str, Any]] = []
    markers: list[Marker] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            if not isinstance(record, dict):
                raise TypeError("not an object")
            if "marker" in record:
                since = _unix(record["from"]) if record.get("from") else None
                reason = str(record["reason"]) if record.get("reason") else None
                markers.append(
                    Marker(
                        int(record["seq"]),
                        str(record["marker"]),
                        _unix(record["at"]),
                        since,
                        reason,
                    )
                )
            elif "file" in record:
                records.append(record)
        except (ValueError, TypeError, KeyError) as exc:
            note(f"{INDEX} line {number} is unreadable ({exc}); skipped")
    if lines and not records and not markers:
        raise CaptureError(f"{path}: the index has no readable line")
    return records, markers


def _segment_from_record(directory: Path, record: dict[str, Any], note: Warn) -> Segment | None:
    name = record.get("file")
    try:
        if not isinstance(name, str) or Path(name).name != name or not name.endswith(".mkv"):
            raise ValueError(f"bad file name {name!r}")
        kind = str(record["kind"])
        segment = Segment(
            number=_file_number(name, int(record["seq"])),
            path=directory / name,
            track=str(record["track"]),
            kind=kind,
            clock_rate=int(record.get("clock_rate") or _DEFAULT_RATES[kind]),
            rtp_base=int(record["rtp_base"]),
            first_rtp=_int_or_none(record.get("first_rtp")),
            last_rtp=_int_or_none(record.get("last_rtp")),
            sync=list(record.get("sync") or []),
            line=int(record["seq"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        note(f"index record for {name!r} is incomplete ({exc}); skipped")
        return None
    if not segment.path.is_file():
        note(f"{name} is in the index but missing; its time is filled as a gap")
        return None
    if segment.first_rtp is None or segment.last_rtp is None:
        segment.first_rtp = segment.last_rtp = None
        probe = _probe(segment.path, note)
        if probe is None:
            return None
        segment.first_ms, segment.last_ms = probe.first_ms, probe.last_ms
    return segment


def _tracks(
    segments: list[Segment], people: dict[str, Participant], track_people: dict[str, str]
) -> dict[str, Track]:
    tracks: dict[str, Track] = {}
    for seg in sorted(segments, key=lambda s: s.number):
        track = tracks.get(seg.track)
        if track is None:
            person = people[track_people[seg.track]]
            track = tracks[seg.track] = Track(seg.track, person, seg.kind, seg.clock_rate)
        track.segments.append(seg)
    return tracks


@dataclass(frozen=True)
class _Probe:
    kind: str
    first_ms: float
    last_ms: float
    tags: dict[str, str]


def _probe(path: Path, note: Warn) -> _Probe | None:
    """Kind and first/last frame time of a segment file, read as far as it goes."""
    try:
        with av.open(str(path)) as container:
            if not container.streams:
                raise ValueError("no stream")
            stream = container.streams[0]
            tags = {k.lower(): v for k, v in container.metadata.items()}
            tags.update({k.lower(): v for k, v in stream.metadata.items()})
            first = last = None
            try:
                for packet in container.demux(stream):
                    if packet.pts is None or packet.time_base is None:
                        continue
                    ms = float(packet.pts * packet.time_base) * 1000
                    first = ms if first is None else min(first, ms)
                    last = ms if last is None else max(last, ms)
            except av.FFmpegError:
                pass  # a file cut short by a crash: keep what was read
            kind = stream.type
    except (av.FFmpegError, OSError, ValueError) as exc:
        note(f"{path.name} cannot be read ({exc}); skipped")
        return None
    if first is None or last is None or kind not in _DEFAULT_RATES:
        note(f"{path.name} has no frames; skipped")
        return None
    return _Probe(kind, first, last, tags)


def _add_recovered(
    paths: list[Path], tracks: dict[str, Track], people: dict[str, Participant], note: Warn
) -> None:
    """Put each unindexed segment (in file order) on its track, or skip it saying why."""
    full = _full_lengths(tracks)
    taken: set[str] = set()
    for path in paths:
        probe = _probe(path, note)
        if probe is None:
            continue
        number = _file_number(path.name, 1 << 30)
        tags = _index_tags(probe.tags)
        track = tracks.get(str(tags["track"])) if "track" in tags else None
        if track is None and "track" in tags:
            # A track with no closed segment at all: known by its tags alone.
            pid = str(tags.get("participant") or tags["track"].split(":", 1)[0])
            person = people.setdefault(pid, Participant(pid, pid, ""))
            rate = int(tags.get("clock_rate") or _DEFAULT_RATES[probe.kind])
            track = Track(str(tags["track"]), person, probe.kind, rate)
            tracks[track.id] = track
        if track is None:
            track = _continued_track(tracks, probe, number, full, taken)
        if track is None:
            note(f"{path.name} was left open and nothing says whose track it is; skipped")
            continue
        taken.add(track.id)
        last = track.segments[-1] if track.segments else None
        try:
            rtp_base = int(tags["rtp_base"]) if "rtp_base" in tags else last.rtp_base  # type: ignore[union-attr]
            sync = list(tags.get("sync") or [])
        except (AttributeError, TypeError, ValueError):
            note(f"{path.name} was left open and its tags say nothing usable; skipped")
            continue
        note(f"{path.name} was left open (recovered): mixed as far as it was written")
        track.segments.append(
            Segment(
                number=number,
                path=path,
                track=track.id,
                kind=track.kind,
                clock_rate=track.clock_rate,
                rtp_base=rtp_base,
                sync=sync,
                recovered=True,
                first_ms=probe.first_ms,
                last_ms=probe.last_ms,
            )
        )


def _index_tags(tags: dict[str, str]) -> dict[str, Any]:
    """The index fields a segment's Matroska tags give (``TYNDAU_TRACK`` …, see Capture)."""
    out: dict[str, Any] = {}
    for key, value in tags.items():
        name = key.removeprefix("tyndau_")
        if name in {"track", "rtp_base", "clock_rate", "participant"}:
            out[name] = value
        elif name == "sync":
            try:
                point = json.loads(value)
            except ValueError:
                continue
            # The latest sync point when the segment opened: one [rtp, unix, source].
            if isinstance(point, list) and point and not isinstance(point[0], list):
                point = [point]
            if isinstance(point, list):
                out["sync"] = point
    return out


def _full_lengths(tracks: dict[str, Track]) -> dict[str, float]:
    """Per kind, how long (ms) a segment is that capture cut to start the next one.

    Capture cuts a segment at a fixed length (the next keyframe for video);
    one that ended shorter was closed because its track ended or paused.
    """
    longest: dict[str, float] = {}
    for track in tracks.values():
        for seg in track.segments:
            if seg.first_ms is not None and seg.last_ms is not None:
                length = seg.last_ms - seg.first_ms
                longest[track.kind] = max(length, longest.get(track.kind, 0.0))
    return {kind: 0.9 * length for kind, length in longest.items()}


def _continued_track(
    tracks: dict[str, Track], probe: _Probe, number: int, full: dict[str, float], taken: set[str]
) -> Track | None:
    """The indexed track this unindexed file continues, when the index can tell.

    Its track was cut (a full-length last segment) right before this file was
    opened, and went on without a break in its media time. Tracks in lockstep
    (everyone's segments cut at the same length) are told apart by order:
    capture opens the next file the moment it writes a segment's index line,
    so the track whose line came first got the lower file number.
    """
    candidates = []
    for track in tracks.values():
        if track.kind != probe.kind or track.id in taken or not track.segments:
            continue
        last = track.segments[-1]
        if last.recovered or last.number > number or last.line is None:
            continue
        if last.first_ms is None or last.last_ms is None:
            continue
        if last.last_ms - last.first_ms < full.get(track.kind, 0.0):
            continue  # closed short: the track ended there
        if 0 < (probe.first_ms - last.last_ms) / 1000 <= _CONTINUATION_SECONDS:
            candidates.append((last.line, track))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _unwrap_track(track: Track) -> None:
    """Put the track's RTP values onto one continuous (unwrapped) RTP time.

    Idempotent: values already unwrapped stay as they are.
    """
    ref: int | None = None
    previous_raw: int | None = None
    base = 0
    for seg in track.segments:
        if ref is None:
            base = seg.rtp_base
        elif seg.rtp_base != previous_raw:
            base = unwrap(seg.rtp_base, ref)
        previous_raw = seg.rtp_base
        seg.base = base
        if seg.first_rtp is not None and seg.last_rtp is not None:
            seg.first_rtp = unwrap(seg.first_rtp, base if ref is None else ref)
            seg.last_rtp = unwrap(seg.last_rtp, seg.first_rtp)
            seg.first_ms = (seg.first_rtp - base) * 1000 / track.clock_rate
            seg.last_ms = (seg.last_rtp - base) * 1000 / track.clock_rate
        if seg.last_ms is not None:
            ref = base + round(seg.last_ms * track.clock_rate / 1000)


def _sync_points(track: Track, note: Warn) -> list[SyncPoint]:
    return [p for seg in track.segments for p in _segment_points(track, seg, note)]


def _segment_points(track: Track, seg: Segment, note: Warn) -> list[SyncPoint]:
    # Sync points fall within their segment: unwrap them next to its first frame.
    near = seg.base + round((seg.first_ms or 0.0) * track.clock_rate / 1000)
    points = []
    for entry in seg.sync:
        try:
            rtp, unix = int(entry[0]), float(entry[1])
            source = str(entry[2]) if len(entry) > 2 else "sr"
        except (TypeError, ValueError, IndexError):
            note(f"{seg.path.name}: unreadable sync point {entry!r}; ignored")
            continue
        points.append(SyncPoint(unwrap(rtp, near), unix, source))
    return points


def _fit_clocks(tracks: dict[str, Track], note: Warn) -> None:
    by_person: dict[str, list[Track]] = defaultdict(list)
    for track in tracks.values():
        by_person[track.participant.id].append(track)
    for person_tracks in by_person.values():
        clocks: dict[str, Clock] = {}
        arrivals: dict[str, list[SyncPoint]] = {}
        for track in person_tracks:
            points = _sync_points(track, note)
            clock = fit_clock(track.clock_rate, points)
            if clock is None:
                note(f"track {track.id} has no sync point; it cannot be placed in time: skipped")
                continue
            clocks[track.id] = clock
            arrivals[track.id] = [p for p in points if not p.from_sender]
        for track_id, clock in align_participant(clocks, arrivals).items():
            track = tracks[track_id]
            track.clock = clock
            _own_clocks(track, clock.unix0 - clocks[track_id].unix0, note)


def _own_clocks(track: Track, shift: float, note: Warn) -> None:
    """Segments whose own sender reports disagree with the track's clock keep their own.

    One RTP clock per track is the rule; a sender that restarted its RTP clock
    under the same track would otherwise put a whole segment seconds off.
    """
    assert track.clock is not None
    for seg in track.segments:
        own = [p for p in _segment_points(track, seg, lambda _: None) if p.from_sender]
        if not own:
            continue
        off = statistics.median(p.unix + shift - track.clock.wall(p.rtp) for p in own)
        if abs(off) > OWN_CLOCK_SECONDS:
            clock = fit_clock(track.clock_rate, own)
            if clock is not None:
                track.own_clocks[seg.number] = clock.shifted(shift)
                note(f"{seg.path.name} is {off:+.2f} s off its track's clock: placed by its own")


def _participant(raw: Any, track: str) -> Participant:
    if isinstance(raw, dict) and raw.get("id"):
        return Participant(
            str(raw["id"]), str(raw.get("name") or raw["id"]), str(raw.get("role") or "")
        )
    # No participant object: the track id starts with the participant's id.
    pid = track.split(":", 1)[0]
    return Participant(pid, pid, "")


def _file_number(name: str, default: int) -> int:
    match = _SEGMENT_FILE.match(name)
    return int(match.group(1)) if match else default


def _unix(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
