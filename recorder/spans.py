"""Wall-clock time onto the mixed file's time: the recorded spans, recesses cut out.

The recording clock of the protocol (``recording_offset``) counts session time
only, so the mixed file does too: each span between a ``started``/``resumed``
marker and the ``paused``/``stopped``/``failed`` one after it follows the
previous span directly. Within a span nothing is cut: a gap in a track stays
a gap in time. A ``gap`` marker (another node took over a hearing in session)
is such a gap too: the hearing stayed in session, so the recording clock ran
on, and the span goes on across it (even across a ``paused`` its node wrote
when it stopped), shown as placeholders and silence. So does a server's
restart mid-session (``paused``/``shutdown`` … ``resumed``/``restart``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STARTS = frozenset({"started", "resumed"})
GAP = "gap"
# Pauses a server wrote as it stopped while the hearing stayed in session (its
# recording clock ran on): the span goes on across them, as across a gap.
IN_SESSION_PAUSES = frozenset({"shutdown", "moved"})
ENDS = frozenset({"paused", "stopped", "failed"})
TAIL = 0.04  # the last frame of a capture that was not stopped is shown this long


@dataclass(frozen=True)
class Marker:
    seq: int
    kind: str
    at: float  # unix seconds
    since: float | None = None  # a ``gap``'s start (its ``from``)
    reason: str | None = None


@dataclass(frozen=True)
class Span:
    start: float  # unix seconds
    end: float
    offset: float  # the mixed file's time at ``start``


class Timeline:
    """Maps wall-clock time to the mixed file's time and back."""

    def __init__(self, spans: Sequence[Span]) -> None:
        if not spans:
            raise ValueError("a timeline needs at least one span")
        self.spans = list(spans)
        self._starts = [s.start for s in self.spans]
        self._offsets = [s.offset for s in self.spans]
        last = self.spans[-1]
        self.duration = last.offset + (last.end - last.start)

    def mix_time(self, unix: float) -> float | None:
        """Where wall-clock ``unix`` lands in the mixed file (negative: before it).

        None for a moment in a recess (after a span's end, before the next).
        """
        i = max(0, bisect.bisect_right(self._starts, unix) - 1)
        span = self.spans[i]
        if unix > span.end and i + 1 < len(self.spans):
            return None
        return span.offset + (unix - span.start)

    def wall_time(self, mix: float) -> float:
        """The wall-clock time shown at ``mix`` seconds into the mixed file."""
        i = max(0, bisect.bisect_right(self._offsets, mix) - 1)
        span = self.spans[i]
        return span.start + (mix - span.offset)


def build_timeline(markers: Iterable[Marker], extents: Iterable[tuple[float, float]]) -> Timeline:
    """Spans from the markers; the last one runs to the last media.

    ``extents`` are the wall-clock (first, last frame) of every piece of media.
    A span that was ended by a marker ends there, so mixed time stays the
    protocol's recording time; the last span runs on to the last frame of any
    track when that is later (the last seconds before a stop or a crash are
    kept). Without markers the whole capture is one span.
    """
    extents = sorted(extents)
    ordered = sorted(markers, key=lambda m: m.seq)
    pairs: list[tuple[float, float | None]] = []
    ended_by: str | None = None  # the reason of the marker that ended the last span
    for marker in ordered:
        if marker.kind in STARTS and (not pairs or pairs[-1][1] is not None):
            if pairs and ended_by in IN_SESSION_PAUSES:
                pairs[-1] = (pairs[-1][0], None)  # never out of session: no cut
            else:
                pairs.append((marker.at, None))
        elif marker.kind in ENDS and pairs and pairs[-1][1] is None:
            pairs[-1] = (pairs[-1][0], marker.at)
            ended_by = marker.reason
        elif marker.kind == GAP:
            # Still in session through a failover: the span was never ended.
            if pairs:
                pairs[-1] = (pairs[-1][0], None)
            else:
                pairs.append((marker.since if marker.since is not None else marker.at, None))
    if not pairs:
        if not extents:
            raise ValueError("nothing was recorded")
        pairs = [(extents[0][0], None)]
    spans: list[Span] = []
    offset = 0.0
    for i, (start, end) in enumerate(pairs):
        final = i + 1 == len(pairs)
        limit = float("inf") if final else pairs[i + 1][0]
        last = max((e for s, e in extents if s < limit and e >= start), default=start)
        if end is not None and not final:
            stop = end
        elif end is not None:
            stop = max(end, last)
        else:
            stop = min(limit, last + TAIL)
        spans.append(Span(start, stop, offset))
        offset += stop - start
    return Timeline(spans)
