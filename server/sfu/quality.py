"""A participant's connection quality, graded from what RTCP says about their two legs.

- **publish leg** (participant → SFU): loss and interarrival jitter of the
  participant's incoming RTP, from the per-SSRC statistics aiortc's receiver
  keeps for its receiver reports (the same numbers the participant is told).
- **subscribe leg** (SFU → participant): the RTCP receiver reports the
  participant's client sends about each stream the SFU forwards to it —
  cumulative loss, jitter — and the round-trip time from their LSR/DLSR.

Loss is counted over the interval since the previous sample (differences of
counters, never lifetime totals), so a bad minute an hour ago does not drag a
good connection down, and a participant who just turned bad shows it at once.
The first sample of a stream only sets its baseline. Jitter and round-trip
time are the running estimates RTCP keeps. The grade takes the worse leg.

The grading is pure (:func:`grade`); :class:`QualityTracker` does the reading.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from server.sfu import aiortc_internals
from server.sfu.downstream import Downstream, ReceiverReport

if TYPE_CHECKING:
    from server.sfu.published import PublishedTrack
    from server.sfu.session import MediaSession


class QualityGrade(StrEnum):
    GOOD = "good"
    POOR = "poor"
    BAD = "bad"
    UNKNOWN = "unknown"  # nothing measured yet (or nothing flows)

    @property
    def severity(self) -> int | None:
        """0 good, 1 poor, 2 bad; None for unknown, which is not on that scale."""
        return _SEVERITY.get(self)


_SEVERITY = {QualityGrade.GOOD: 0, QualityGrade.POOR: 1, QualityGrade.BAD: 2}


@dataclass(frozen=True)
class Thresholds:
    loss_percent: float
    jitter_ms: float
    rtt_ms: float


# Good: every known measure below these. Speech stays clear under ~2 % loss
# (Opus concealment) and ~300 ms round trip (ITU-T G.114's conversational limit).
GOOD_BELOW = Thresholds(loss_percent=2.0, jitter_ms=30.0, rtt_ms=300.0)
# Bad: any measure at or above these. Words drop out, people talk over each other.
BAD_FROM = Thresholds(loss_percent=10.0, jitter_ms=100.0, rtt_ms=800.0)

# A receiver report older than this describes a connection that may be gone:
# clients report about every second (aiortc: 0.5-1.5 s).
REPORT_FRESH_SECONDS = 5.0


def grade(
    loss_percent: float | None, jitter_ms: float | None, rtt_ms: float | None
) -> QualityGrade:
    """Good / poor / bad from the measures known (None: not measured)."""
    known = [
        (value, good, bad)
        for value, good, bad in (
            (loss_percent, GOOD_BELOW.loss_percent, BAD_FROM.loss_percent),
            (jitter_ms, GOOD_BELOW.jitter_ms, BAD_FROM.jitter_ms),
            (rtt_ms, GOOD_BELOW.rtt_ms, BAD_FROM.rtt_ms),
        )
        if value is not None and not math.isnan(value)
    ]
    if not known:
        return QualityGrade.UNKNOWN
    if any(value >= bad for value, _, bad in known):
        return QualityGrade.BAD
    if all(value < good for value, good, _ in known):
        return QualityGrade.GOOD
    return QualityGrade.POOR


@dataclass(frozen=True)
class QualitySample:
    """One participant's connection over one sampling interval."""

    loss_percent: float | None
    jitter_ms: float | None
    rtt_ms: float | None
    grade: QualityGrade

    @classmethod
    def measured(
        cls, loss_percent: float | None, jitter_ms: float | None, rtt_ms: float | None
    ) -> QualitySample:
        return cls(loss_percent, jitter_ms, rtt_ms, grade(loss_percent, jitter_ms, rtt_ms))

    def as_json(self) -> dict[str, Any]:
        """The participant's ``quality`` field (docs/signaling.md)."""

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return {
            "grade": str(self.grade),
            "loss_percent": rounded(self.loss_percent),
            "jitter_ms": rounded(self.jitter_ms),
            "rtt_ms": rounded(self.rtt_ms),
        }


UNKNOWN = QualitySample(None, None, None, QualityGrade.UNKNOWN)


@dataclass(frozen=True)
class Loss:
    """Packets lost out of packets expected, over one interval of one stream."""

    lost: int
    expected: int


def interval_loss(previous: tuple[int, int], now: tuple[int, int]) -> Loss | None:
    """Publish leg: loss between two (expected, received) readings of one SSRC.

    None if nothing arrived in between: aiortc advances "expected" only on
    arrival, so silence says nothing about loss.
    """
    expected = now[0] - previous[0]
    if expected <= 0:
        return None
    received = now[1] - previous[1]  # duplicates count as received, hence the clamp
    return Loss(lost=min(expected, max(0, expected - received)), expected=expected)


def reported_loss(previous: ReceiverReport, now: ReceiverReport) -> Loss | None:
    """Subscribe leg: loss between two receiver reports, without the publisher's losses.

    The SFU keeps the publisher's sequence gaps, so the subscriber counts a
    packet the publisher lost as lost on its own leg too; the gaps the SFU
    forwarded over the same range of sequence numbers are taken out.
    """
    span = (now.highest_sequence - previous.highest_sequence) & 0xFFFF
    if span == 0 or span >= 0x8000:  # nothing new, or reports out of order
        return None
    gaps = now.gaps - previous.gaps
    sent = span - gaps
    if sent <= 0:
        return None
    lost = now.packets_lost - previous.packets_lost - gaps
    return Loss(lost=min(sent, max(0, lost)), expected=sent)


def loss_percent(losses: Iterable[Loss]) -> float | None:
    """Loss over several streams, weighted by their packets."""
    lost = expected = 0
    for loss in losses:
        lost += loss.lost
        expected += loss.expected
    return None if expected == 0 else 100.0 * lost / expected


def own_jitter(reported_ms: float, upstream_ms: float | None) -> float:
    """The subscribe leg's share of the jitter a subscriber reports.

    Forwarded packets keep the publisher's timing, so the subscriber's jitter
    includes the publish leg's; independent delays add as variances.
    """
    if upstream_ms is None:
        return reported_ms
    return math.sqrt(max(0.0, reported_ms**2 - upstream_ms**2))


def worst(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _jitter_of(by_kind: dict[str, list[float]]) -> float | None:
    # Audio's jitter when there is audio: video senders pace out large frames
    # in bursts, which shows as jitter that listeners never notice.
    audio = by_kind.get("audio")
    return worst(*audio) if audio else worst(*by_kind.get("video", []))


def _publish_jitter_ms(published: PublishedTrack) -> float | None:
    ssrc = published.media_ssrc
    if ssrc is None:
        return None
    counters = aiortc_internals.receiver_stream_counters(published.receiver, ssrc)
    if counters is None:
        return None
    return counters[2] * 1000.0 / published.codec.clockRate


@dataclass
class _Memory:
    """What one participant's previous sample saw (per stream)."""

    session: MediaSession
    received: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    reports: dict[str, tuple[Downstream, ReceiverReport]] = field(default_factory=dict)
    report_loss: dict[str, Loss | None] = field(default_factory=dict)


class QualityTracker:
    """Samples media sessions; keeps each participant's previous counters for the deltas."""

    def __init__(self) -> None:
        self._memory: dict[Hashable, _Memory] = {}

    def sample(
        self, session: MediaSession, *, key: Hashable | None = None, now: float | None = None
    ) -> QualitySample:
        """The participant's quality since their previous sample.

        ``key`` names the participant across samples; by default the session's
        hearing and participant id (one id may be in several hearings).
        """
        now = time.monotonic() if now is None else now
        key = (session.room.hearing_id, session.participant_id) if key is None else key
        memory = self._memory.get(key)
        if memory is None or memory.session is not session:  # first sample, or rejoined
            memory = self._memory[key] = _Memory(session)
        if session.closed:
            return UNKNOWN
        publish_loss, publish_jitter = self._publish_leg(session, memory)
        subscribe_loss, subscribe_jitter, rtt = self._subscribe_leg(session, memory, now)
        return QualitySample.measured(
            worst(publish_loss, subscribe_loss), worst(publish_jitter, subscribe_jitter), rtt
        )

    def _publish_leg(
        self, session: MediaSession, memory: _Memory
    ) -> tuple[float | None, float | None]:
        losses: list[Loss] = []
        jitter: dict[str, list[float]] = {}
        received: dict[tuple[str, int], tuple[int, int]] = {}
        for published in list(session.published.values()):
            ssrc = published.media_ssrc
            if ssrc is None or published.closed:
                continue
            counters = aiortc_internals.receiver_stream_counters(published.receiver, ssrc)
            if counters is None:
                continue
            expected, got, clock_jitter = counters
            key = (published.track_id, ssrc)
            received[key] = (expected, got)
            previous = memory.received.get(key)
            loss = None if previous is None else interval_loss(previous, (expected, got))
            if loss is not None:
                losses.append(loss)
            if previous is None or loss is not None:  # a silent stream's jitter is stale
                jitter.setdefault(published.kind, []).append(
                    clock_jitter * 1000.0 / published.codec.clockRate
                )
        memory.received = received
        return loss_percent(losses), _jitter_of(jitter)

    def _subscribe_leg(
        self, session: MediaSession, memory: _Memory, now: float
    ) -> tuple[float | None, float | None, float | None]:
        losses: list[Loss] = []
        jitter: dict[str, list[float]] = {}
        rtts: list[float] = []
        reports: dict[str, tuple[Downstream, ReceiverReport]] = {}
        report_loss: dict[str, Loss | None] = {}
        for track_id, info in list(session.forwarded.items()):
            downstream = info.downstream
            report = downstream.report
            if (
                downstream.closed
                or report is None
                or downstream.clock_rate is None
                or now - report.at > REPORT_FRESH_SECONDS
            ):
                continue
            reports[track_id] = (downstream, report)
            previous = memory.reports.get(track_id)
            loss: Loss | None = None
            if previous is not None and previous[0] is downstream:
                if report.number > previous[1].number:
                    loss = reported_loss(previous[1], report)
                else:  # no report since the last sample: the last interval still stands
                    loss = memory.report_loss.get(track_id)
            report_loss[track_id] = loss
            if loss is not None:
                losses.append(loss)
            published = session.room.tracks.get(track_id)
            upstream = None if published is None else _publish_jitter_ms(published)
            jitter.setdefault(info.kind, []).append(
                own_jitter(report.jitter * 1000.0 / downstream.clock_rate, upstream)
            )
            rtt = aiortc_internals.sender_round_trip_time(downstream.sender)
            if rtt is not None:
                rtts.append(max(0.0, rtt * 1000.0))
        memory.reports = reports
        memory.report_loss = report_loss
        return loss_percent(losses), _jitter_of(jitter), worst(*rtts)

    def forget(self, key: Hashable) -> None:
        """Drop a participant's previous counters (they left)."""
        self._memory.pop(key, None)

    def tracked(self) -> set[Hashable]:
        return set(self._memory)
