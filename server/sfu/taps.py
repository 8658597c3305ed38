"""Observers of the media plane: what a recorder may see of a hearing's tracks.

A :class:`TrackTap` sees every RTP packet of one published track (after RTX is
unwrapped) and every RTCP sender report of it. A :class:`HearingSpaceListener`
is told when a track enters or leaves a hearing's own space (``hearing``), so
nothing of the waiting room, a consultation or the deliberation reaches it.

Both are called on the event loop in the packet path: they must only take
note (append to a queue), never parse, wait or write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aiortc.rtp import RtpPacket

    from server.sfu.published import PublishedTrack


class TrackTap(Protocol):
    """Sees one track's packets; must return at once (no parsing, no I/O)."""

    def rtp(self, packet: RtpPacket, arrival_ms: int) -> None:
        """A packet; ``arrival_ms`` is aiortc's wall clock: milliseconds since 1900 (NTP era)."""

    def sender_report(self, rtp_timestamp: int, ntp_timestamp: int) -> None:
        """A sender report of the track's media SSRC: RTP time ↔ 64-bit NTP time."""


class HearingSpaceListener(Protocol):
    """Told when a track enters or leaves the hearing space of a hearing."""

    def track_entered(self, hearing_id: str, track: PublishedTrack) -> None: ...

    def track_left(self, hearing_id: str, track: PublishedTrack) -> None: ...
