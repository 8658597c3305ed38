"""The recorder: follows each hearing's state and its hearing space, and says what happened.

``start`` and ``resume`` start capture, ``recess`` pauses it, ``close`` stops
it (docs/recording.md, "Capture"). Only tracks in the hearing's own SFU space
are tapped; the SFU tells :class:`Recorder` as tracks enter and leave it.
Every marker goes into the protocol (``recording_marker``) once it is in the
capture index; a capture that cannot write tells its listeners (the court's
alert) and the hearing goes on without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from recorder.capture import CapturedTrack, HearingCapture
from server.hearings import Hearing, HearingRegistry
from server.procedure.protocol import EventKind, HearingProtocol
from server.procedure.states import HearingState, StateAct
from server.sfu.room import Sfu

log = structlog.get_logger(__name__)

# (hearing id, participant id) -> {"id", "name", "role"} for the index.
ParticipantInfo = Callable[[str, str], dict[str, Any]]
# (hearing id, alert) -> None; alert = {"code": "recording_failed", "reason": ...}
AlertListener = Callable[[str, dict[str, Any]], Awaitable[None]]
# (hearing id, capture directory) -> None, once a closed hearing's capture is complete.
FinishedListener = Callable[[str, Path], Awaitable[None]]
# hearing id -> whether this node serves it (several nodes: server/placement.py).
Owns = Callable[[str], Awaitable[bool]]

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def capture_directory(recordings_dir: Path, hearing_id: str) -> Path:
    """``<recordings dir>/<hearing id>``; an id that is not a plain name never becomes a path."""
    if _SAFE_ID.match(hearing_id) and ".." not in hearing_id:
        return recordings_dir / hearing_id
    return recordings_dir / ("h-" + hashlib.sha256(hearing_id.encode()).hexdigest()[:32])


def _nobody(hearing_id: str, participant_id: str) -> dict[str, Any]:
    return {"id": participant_id, "name": "", "role": ""}


class Recorder:
    """Captures every hearing in session on this node."""

    def __init__(
        self,
        *,
        recordings_dir: Path,
        segment_seconds: float,
        enabled: bool,
        sfu: Sfu,
        hearings: HearingRegistry,
        protocol: HearingProtocol,
        participant_info: ParticipantInfo = _nobody,
        node_id: str | None = None,
    ) -> None:
        self.recordings_dir = recordings_dir
        # Named in every segment file this node writes (several nodes share the directory).
        self.node_id = node_id
        self.segment_seconds = segment_seconds
        self.enabled = enabled
        self.sfu = sfu
        self.hearings = hearings
        self.protocol = protocol
        self.participant_info = participant_info
        self.listeners: list[AlertListener] = []
        # Told when a closed hearing's capture has written its last byte (archiving).
        self.finished_listeners: list[FinishedListener] = []
        self.captures: dict[str, HearingCapture] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0
        if enabled:
            sfu.hearing_listeners.append(self)
            hearings.state_listeners.append(self._state_changed)

    # -- lifecycle ------------------------------------------------------------

    async def start(self, owns: Owns | None = None) -> None:
        """Go on capturing hearings that were in session when the process last stopped.

        ``owns``: with several nodes, only the hearings placed on this node
        (server/placement.py); the others are captured where they are served.
        """
        if not self.enabled:
            return
        now = datetime.now(UTC)
        for hearing in self.hearings.all():
            if owns is None or await owns(hearing.id):
                self.resume(hearing.id, now)

    def resume(self, hearing_id: str, at: datetime) -> None:
        """Capture ``hearing_id`` on if it is in session (``resumed``, reason ``restart``).

        For a hearing this process begins to serve with nothing failed: its own
        start, or a first placement on this node.
        """
        hearing = self.hearings.get(hearing_id)
        if self.enabled and hearing is not None and hearing.state is HearingState.IN_SESSION:
            self._begin(hearing_id, "resumed", at, reason="restart")

    async def stop(self) -> None:
        """Close every open segment (``paused``: the server stops mid-session)."""
        now = datetime.now(UTC)
        for capture in list(self.captures.values()):
            capture.stop(now, marker="paused", reason="shutdown")
        await asyncio.gather(*(c.closed() for c in self.captures.values()))
        await asyncio.sleep(0)  # let the workers' last reports arrive
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.captures.clear()

    # -- several nodes: a hearing comes here, or goes elsewhere --------------------

    async def take_over(
        self,
        hearing_id: str,
        at: datetime,
        previous_node: str | None,
        previous_seen_at: datetime | None,
    ) -> None:
        """Go on capturing a hearing in session whose node failed (docs/recording.md).

        The same ``segments.jsonl`` chain continues (a torn last line is left as
        a restart leaves it): a ``gap`` marker with its times, then ``resumed``
        (``failover``). A hearing not in session, or already captured here, is
        left as it is.
        """
        if not self.enabled:
            return
        hearing = self.hearings.get(hearing_id) or await self.hearings.fetch(hearing_id)
        if hearing is None or hearing.state is not HearingState.IN_SESSION:
            return
        current = self.captures.get(hearing_id)
        if current is not None and current.recording and not current.finished:
            return
        try:
            capture = self._capture(hearing_id)
            capture.take_over(at, previous_node=previous_node, previous_seen_at=previous_seen_at)
            for track in self.sfu.hearing_tracks(hearing_id):
                self._tap(capture, hearing_id, track)
        except Exception:  # the hearing goes on whatever the recorder does
            log.exception("recorder_take_over_failed", hearing=hearing_id)
            return
        log.info("recording_taken_over", hearing=hearing_id, previous_node=previous_node)

    async def release(self, hearing_id: str) -> None:
        """Stop capturing a hearing now served by another node (``paused``, ``moved``).

        Not archived: the hearing goes on elsewhere, into the same chain.
        """
        capture = self.captures.pop(hearing_id, None)
        if capture is None:
            return
        capture.stop(datetime.now(UTC), marker="paused", reason="moved")
        await capture.closed()
        log.info("recording_released", hearing=hearing_id)

    # -- following the hearing ------------------------------------------------

    async def _state_changed(self, hearing: Hearing, act: StateAct, at: datetime) -> None:
        try:
            if act is StateAct.START:
                self._begin(hearing.id, "started", at)
            elif act is StateAct.RESUME:
                self._begin(hearing.id, "resumed", at)
            elif act is StateAct.RECESS:
                capture = self.captures.get(hearing.id)
                if capture is not None:
                    capture.pause(at)
            elif act is StateAct.CLOSE:
                capture = self.captures.pop(hearing.id, None)
                if capture is not None:
                    if not capture.failed:
                        capture.stop(at)
                    # A failed capture is archived too: what it wrote is kept.
                    self._spawn(self._finished(hearing.id, capture))
                else:
                    # Captured before, but not by this process (closed in a recess after
                    # a restart, or on another node than the one that recorded it).
                    directory = capture_directory(self.recordings_dir, hearing.id)
                    if directory.is_dir():
                        self._spawn(self._tell_finished(hearing.id, directory))
        except Exception:  # the hearing's state changes whatever the recorder does
            log.exception("recorder_state_change_failed", hearing=hearing.id, act=str(act))

    def _begin(self, hearing_id: str, marker: str, at: datetime, **details: Any) -> None:
        capture = self._capture(hearing_id)
        capture.begin(marker, at, **details)
        for track in self.sfu.hearing_tracks(hearing_id):
            self._tap(capture, hearing_id, track)

    def _capture(self, hearing_id: str) -> HearingCapture:
        """The hearing's open capture, or a new one continuing its directory and chain."""
        capture = self.captures.get(hearing_id)
        if capture is None or capture.finished:
            capture = HearingCapture(
                hearing_id,
                capture_directory(self.recordings_dir, hearing_id),
                segment_seconds=self.segment_seconds,
                loop=asyncio.get_running_loop(),
                notify=lambda event, payload: self._reported(hearing_id, event, payload),
                previous=capture,
                node_id=self.node_id,
            )
            self.captures[hearing_id] = capture
        return capture

    def _tap(self, capture: HearingCapture, hearing_id: str, track: CapturedTrack) -> None:
        capture.add_track(track, self.participant_info(hearing_id, track.owner_id))

    # -- the SFU's hearing space (server.sfu.taps.HearingSpaceListener) --------

    def track_entered(self, hearing_id: str, track: CapturedTrack) -> None:
        capture = self.captures.get(hearing_id)
        if capture is not None and capture.recording:
            self._tap(capture, hearing_id, track)

    def track_left(self, hearing_id: str, track: CapturedTrack) -> None:
        capture = self.captures.get(hearing_id)
        if capture is not None:
            capture.remove_track(track.track_id)

    async def _finished(self, hearing_id: str, capture: HearingCapture) -> None:
        await capture.closed()
        await self._tell_finished(hearing_id, capture.directory)

    async def _tell_finished(self, hearing_id: str, directory: Path) -> None:
        for listener in list(self.finished_listeners):
            try:
                await listener(hearing_id, directory)
            except Exception:
                log.exception("capture_finished_listener_failed", hearing=hearing_id)

    # -- what the workers report ------------------------------------------------

    def _reported(self, hearing_id: str, event: str, payload: dict[str, Any]) -> None:
        capture = self.captures.get(hearing_id)
        if event == "keyframe":
            if capture is not None:
                capture.keyframe_wanted(payload["number"])
            return
        if event == "failed" and capture is not None:
            capture.on_failed()
        self._spawn(self._tell(hearing_id, event, payload))

    async def _tell(self, hearing_id: str, event: str, payload: dict[str, Any]) -> None:
        if event == "marker":
            details = {"marker": payload["marker"], **payload["details"]}
            await self._protocol_marker(hearing_id, details, payload["at"])
            return
        # A failure: the protocol says so, and the court is alerted.
        self.failures += 1
        reason = payload["reason"]
        await self._protocol_marker(
            hearing_id, {"marker": "failed", "reason": reason}, datetime.now(UTC)
        )
        alert = {"code": "recording_failed", "reason": reason}
        for listener in list(self.listeners):
            try:
                await listener(hearing_id, alert)
            except Exception:
                log.exception("recording_alert_listener_failed", hearing=hearing_id)

    async def _protocol_marker(
        self, hearing_id: str, details: dict[str, Any], at: datetime
    ) -> None:
        try:
            await self.protocol.append(
                hearing_id, EventKind.RECORDING_MARKER, details=details, at=at
            )
        except Exception:
            log.exception("recording_marker_not_in_protocol", hearing=hearing_id)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
