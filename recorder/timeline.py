"""A track's RTP clock mapped to wall-clock time through its sync points.

Capture keeps, per segment, points ``[rtp, unix_seconds, source]``: every RTCP
sender report (``sr``: the sender's RTP clock against the sender's NTP clock)
and the first packet's arrival (``arrival``: the server's clock). The mixer
places every frame by this mapping, never by counting frames or samples, so a
late joiner, a gap or a drifting sound card cannot shift what follows.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

RTP_MODULO = 1 << 32
_HALF = 1 << 31

# Below this span of sender reports the slope (sender clock against RTP clock)
# is dominated by jitter in when the reports were stamped: keep the nominal rate.
SLOPE_SPAN_SECONDS = 60.0
# Real clocks drift by tens of ppm; a fitted slope further off than this means
# the points are inconsistent (a restarted RTP clock), not a slow crystal.
MAX_DRIFT = 1e-3
# A sender report this far from the fit is dropped before fitting again.
OUTLIER_SECONDS = 0.05
# A sender whose NTP clock disagrees with the server's by more than this (the
# arrival of its first packet says so) is moved onto the server's clock;
# smaller offsets are network delay, which sender reports measure better.
SENDER_CLOCK_TOLERANCE = 1.0


def unwrap(value: int, near: int) -> int:
    """The RTP value congruent to ``value`` (mod 2^32) nearest to ``near``."""
    return near + ((value - near + _HALF) % RTP_MODULO) - _HALF


@dataclass(frozen=True)
class SyncPoint:
    """An unwrapped RTP time of one track and the wall-clock time it was at."""

    rtp: int
    unix: float
    source: str  # "sr" (sender's clock) or "arrival" (server's clock)

    @property
    def from_sender(self) -> bool:
        return self.source != "arrival"


@dataclass(frozen=True)
class Clock:
    """``wall = unix0 + (rtp - rtp0) / rate * scale`` for one track."""

    rate: int
    rtp0: int
    unix0: float
    scale: float = 1.0
    from_sender: bool = True

    def wall(self, rtp: float) -> float:
        return self.unix0 + (rtp - self.rtp0) / self.rate * self.scale

    def shifted(self, seconds: float) -> Clock:
        return replace(self, unix0=self.unix0 + seconds)


def fit_clock(rate: int, points: Iterable[SyncPoint]) -> Clock | None:
    """The track's clock from its sync points (None when it has none).

    Sender reports win: least squares over them when they span long enough to
    measure drift, else the nominal rate through their median. A track with
    arrivals only takes the least-delayed arrival.
    """
    points = list(points)
    reports = [p for p in points if p.from_sender]
    if reports:
        return _fit_reports(rate, reports)
    if not points:
        return None
    rtp0 = points[0].rtp
    # Network and queueing delay only ever add: the earliest arrival is closest.
    unix0 = min(p.unix - (p.rtp - rtp0) / rate for p in points)
    return Clock(rate, rtp0, unix0, 1.0, from_sender=False)


def _fit_reports(rate: int, reports: list[SyncPoint]) -> Clock:
    rtp0 = reports[0].rtp
    xs = [(p.rtp - rtp0) / rate for p in reports]
    ys = [p.unix for p in reports]
    clock = _nominal(rate, rtp0, xs, ys)
    if max(xs) - min(xs) < SLOPE_SPAN_SECONDS:
        return clock
    for _ in range(2):
        fitted = _least_squares(rate, rtp0, xs, ys)
        if fitted is None:
            return clock
        clock = fitted
        keep = [
            abs(clock.unix0 + x * clock.scale - y) <= OUTLIER_SECONDS
            for x, y in zip(xs, ys, strict=True)
        ]
        if all(keep):
            break
        xs = [x for x, k in zip(xs, keep, strict=True) if k]
        ys = [y for y, k in zip(ys, keep, strict=True) if k]
        if len(xs) < 2 or max(xs) - min(xs) < SLOPE_SPAN_SECONDS:
            return _nominal(rate, rtp0, xs or [0.0], ys or [clock.unix0])
    return clock


def _nominal(rate: int, rtp0: int, xs: list[float], ys: list[float]) -> Clock:
    return Clock(rate, rtp0, statistics.median(y - x for x, y in zip(xs, ys, strict=True)), 1.0)


def _least_squares(rate: int, rtp0: int, xs: list[float], ys: list[float]) -> Clock | None:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    if abs(slope - 1.0) > MAX_DRIFT:
        return None
    return Clock(rate, rtp0, my - slope * mx, slope)


def align_participant(
    clocks: Mapping[str, Clock], arrivals: Mapping[str, list[SyncPoint]]
) -> dict[str, Clock]:
    """One participant's track clocks brought onto one time base.

    Sender reports of one participant share that sender's clock, so audio and
    video stay in sync with each other whatever it says; but that clock may be
    off from the server's. Arrivals (server time) measure the offset: it is
    applied when it is gross, or when some track has only arrivals to go by
    (mixing the two bases would break lip sync by the offset).
    """
    offsets = [
        point.unix - clocks[track].wall(point.rtp)
        for track, points in arrivals.items()
        if track in clocks and clocks[track].from_sender
        for point in points
    ]
    if not offsets:
        return dict(clocks)
    offset = statistics.median(offsets)
    arrival_only = any(not clock.from_sender for clock in clocks.values())
    if not arrival_only and abs(offset) <= SENDER_CLOCK_TOLERANCE:
        return dict(clocks)
    return {
        track: clock.shifted(offset) if clock.from_sender else clock
        for track, clock in clocks.items()
    }
