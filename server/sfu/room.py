"""A hearing's media room and the SFU that holds all rooms of this node.

Rooms are isolated by construction: a track is only ever wired to sessions of
the room it was published in, and a session only exists inside one room. The
SFU's hearing listeners (the recorder) are told when a track enters or leaves
a hearing's own space, and of no other space.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING

import structlog

from server.sfu import aiortc_internals, ice
from server.sfu.counters import MediaCounters
from server.sfu.published import PublishedTrack
from server.sfu.session import MediaSession, OfferSender
from server.sfu.taps import HearingSpaceListener

if TYPE_CHECKING:
    from server.settings import Settings

log = structlog.get_logger(__name__)


class MediaRoom:
    """The media of one hearing: its sessions and the tracks they publish."""

    def __init__(self, sfu: Sfu, hearing_id: str, space: str = "hearing") -> None:
        self.sfu = sfu
        self.hearing_id = hearing_id
        self.space = space  # "hearing", or a consultation room's name
        self.sessions: dict[str, MediaSession] = {}
        self.tracks: dict[str, PublishedTrack] = {}

    @property
    def key(self) -> str:
        return self.hearing_id if self.space == "hearing" else f"{self.hearing_id}/{self.space}"

    @property
    def counters(self) -> MediaCounters:
        return self.sfu.counters

    @property
    def keyframe_interval(self) -> float:
        return self.sfu.keyframe_interval

    def filter_remote_sdp(self, sdp: str) -> str:
        return self.sfu.filter_remote_sdp(sdp)

    def accept_remote_address(self, address: str) -> bool:
        return self.sfu.accept_remote_address(address)

    async def add_session(
        self,
        participant_id: str,
        *,
        can_publish_audio: bool,
        can_publish_video: bool,
        can_subscribe: bool,
        send_offer: OfferSender,
    ) -> MediaSession:
        """Create the participant's session, replacing an older one (a rejoin)."""
        old = self.sessions.get(participant_id)
        if old is not None:
            await self.remove_session(participant_id)
        session = MediaSession(
            room=self,
            participant_id=participant_id,
            can_publish_audio=can_publish_audio,
            can_publish_video=can_publish_video,
            can_subscribe=can_subscribe,
            send_offer=send_offer,
        )
        self.sessions[participant_id] = session
        if can_subscribe:
            others = [t for t in self.tracks.values() if t.owner_id != participant_id]
            for published in others:
                session.add_forwarded(published)
            if others:
                self._spawn(session.renegotiate())
        return session

    async def remove_session(self, participant_id: str) -> None:
        session = self.sessions.pop(participant_id, None)
        if session is not None:
            await session.close()

    async def track_published(self, published: PublishedTrack) -> None:
        self.tracks[published.track_id] = published
        if self.space == "hearing":
            for listener in list(self.sfu.hearing_listeners):
                listener.track_entered(self.hearing_id, published)
        log.info(
            "track_published",
            hearing=self.hearing_id,
            participant=published.owner_id,
            kind=published.kind,
            codec=published.codec.mimeType,
        )
        for session in list(self.sessions.values()):
            if session.participant_id != published.owner_id and session.can_subscribe:
                session.add_forwarded(published)
                self._spawn(session.renegotiate())

    async def withdraw(self, published: PublishedTrack) -> None:
        """Stop forwarding ``published`` to anyone in this room; the track lives on."""
        # Listeners first, before any await: not one packet of a participant who
        # steps out (a consultation) may reach the recorder after this point.
        if self.space == "hearing" and published.track_id in self.tracks:
            for listener in list(self.sfu.hearing_listeners):
                listener.track_left(self.hearing_id, published)
        for session in list(self.sessions.values()):
            if published.track_id in session.forwarded:
                await session.remove_forwarded(published.track_id)
                self._spawn(session.renegotiate())
        self.tracks.pop(published.track_id, None)

    async def track_unpublished(self, published: PublishedTrack) -> None:
        await self.withdraw(published)
        await published.close()
        log.info(
            "track_unpublished",
            hearing=self.hearing_id,
            participant=published.owner_id,
            kind=published.kind,
        )

    async def move_session(self, participant_id: str, target: MediaRoom) -> None:
        """Move a participant's media to another room of the same hearing.

        What they publish stops reaching this room and starts reaching the
        target; what they receive becomes the target's tracks. Their peer
        connections stay up: only the subscribe side renegotiates. This is how
        the waiting room and private consultations separate media.
        """
        session = self.sessions.get(participant_id)
        if session is None or target is self:
            return
        for published in session.published.values():
            await self.withdraw(published)
        for track_id in list(session.forwarded):
            await session.remove_forwarded(track_id)
        del self.sessions[participant_id]
        self.sfu.rooms.setdefault(target.key, target)  # it may have emptied and gone meanwhile
        session.room = target
        target.sessions[participant_id] = session
        for published in session.published.values():
            await target.track_published(published)
        for published in list(target.tracks.values()):
            if published.owner_id != participant_id and session.can_subscribe:
                session.add_forwarded(published)
        self._spawn(session.renegotiate())
        log.info("media_moved", participant=participant_id, source=self.key, target=target.key)
        await self.sfu.drop_room_if_empty(self.key)

    def _spawn(self, coro: object) -> None:
        self.sfu.spawn(coro)  # type: ignore[arg-type]

    async def close(self) -> None:
        for participant_id in list(self.sessions):
            await self.remove_session(participant_id)


class Sfu:
    """All media rooms of this node, their counters and the ICE policy."""

    def __init__(self, settings: Settings) -> None:
        aiortc_internals.check_compatible()
        self.rooms: dict[str, MediaRoom] = {}
        self.counters = MediaCounters()
        self.keyframe_interval = settings.keyframe_interval_seconds
        self._loopback_only = ice.is_loopback_only(settings.ice_host_addresses)
        ice.restrict_host_addresses(settings.ice_host_addresses)
        ice.harden_stun_parsing()
        self._tasks: set[asyncio.Task[None]] = set()
        # Told when a track enters or leaves a hearing's own space (the recorder).
        self.hearing_listeners: list[HearingSpaceListener] = []

    def room(self, hearing_id: str, space: str = "hearing") -> MediaRoom:
        """The media room of a hearing (or of one of its separate spaces)."""
        key = hearing_id if space == "hearing" else f"{hearing_id}/{space}"
        room = self.rooms.get(key)
        if room is None:
            room = self.rooms[key] = MediaRoom(self, hearing_id, space)
        return room

    async def drop_room_if_empty(self, hearing_id: str) -> None:
        room = self.rooms.get(hearing_id)
        if room is not None and not room.sessions:
            del self.rooms[hearing_id]

    def accept_remote_address(self, address: str) -> bool:
        # A loopback-only server cannot reach anything else; it must not even try.
        return ice.loopback_address(address) if self._loopback_only else True

    def filter_remote_sdp(self, sdp: str) -> str:
        if not self._loopback_only:
            return sdp
        return ice.filter_sdp_candidates(sdp, ice.loopback_address)

    def spawn(self, coro: object) -> None:
        """Run a background step (renegotiation) and log, not lose, its failure."""
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("media_task_failed", error=repr(task.exception()))

    def iter_sessions(self) -> Iterator[MediaSession]:
        for room in self.rooms.values():
            yield from room.sessions.values()

    def hearing_tracks(self, hearing_id: str) -> list[PublishedTrack]:
        """The tracks published in the hearing's own space now."""
        room = self.rooms.get(hearing_id)
        return list(room.tracks.values()) if room is not None else []

    def track_count(self) -> int:
        return sum(len(room.tracks) for room in self.rooms.values())

    async def close(self) -> None:
        """Close every peer connection (graceful shutdown)."""
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
