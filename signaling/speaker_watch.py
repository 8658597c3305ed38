"""``speaker`` events: who is speaking in the hearing, for the caption and the tile.

A few times a second each hearing's speaker is decided from the audio levels
its publishers send (:mod:`server.sfu.speaker`; nothing is decoded). Only the
hearing's own space counts — a private consultation is never captioned — and a
locked mute silences a voice here too. A change is sent to everyone in the
hearing (and the court), at most once per ``MIN_EVENT_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import structlog

from server.procedure.presence import Place
from server.sfu.speaker import SpeakerDetector, VoiceActivity

if TYPE_CHECKING:
    from signaling.namespace import HearingNamespace

log = structlog.get_logger(__name__)

TICK_SECONDS = 0.25
MIN_EVENT_INTERVAL = 1.0


class SpeakerWatch:
    """Decides each hearing's speaker and tells the hearing when it changes."""

    def __init__(self, namespace: HearingNamespace) -> None:
        self.ns = namespace
        self._detectors: dict[str, SpeakerDetector] = {}
        self._sent: dict[str, tuple[str | None, float]] = {}  # hearing -> (speaker, when)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="speaker-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def current(self, hearing_id: str) -> dict[str, Any] | None:
        """The speaker last announced in the hearing (for a join), or None."""
        speaker, _ = self._sent.get(hearing_id, (None, 0.0))
        return self._describe(hearing_id, speaker)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.tick(time.monotonic())
            except Exception:  # one failed round must not end the watch
                log.exception("speaker_watch_failed")

    async def tick(self, now: float) -> None:
        hearings = {c.hearing_id for c in self.ns.connections.values() if c.joined}
        for gone in set(self._detectors) - hearings:
            del self._detectors[gone]
            self._sent.pop(gone, None)
        for hearing_id in hearings:
            detector = self._detectors.setdefault(hearing_id, SpeakerDetector())
            speaker = detector.decide(self._voices(hearing_id), now)
            last, at = self._sent.get(hearing_id, (None, float("-inf")))
            if speaker != last and now - at >= MIN_EVENT_INTERVAL:
                self._sent[hearing_id] = (speaker, now)
                await self._announce(hearing_id, speaker)

    def _voices(self, hearing_id: str) -> dict[str, VoiceActivity]:
        """Each publisher's voice in the hearing's own space (not held back by the court)."""
        voices: dict[str, VoiceActivity] = {}
        for track in self.ns.ctx.sfu.hearing_tracks(hearing_id):
            if track.voice is None or track.suppressed or track.closed:
                continue
            known = voices.get(track.owner_id)
            if known is None or track.voice.voiced_at > known.voiced_at:
                voices[track.owner_id] = track.voice
        return voices

    def _describe(self, hearing_id: str, speaker: str | None) -> dict[str, Any] | None:
        who = self.ns.presence(hearing_id).get(speaker) if speaker else None
        if who is None:
            return None
        return {"participant_id": who.id, "name": who.name, "role": str(who.role)}

    async def _announce(self, hearing_id: str, speaker: str | None) -> None:
        payload = {"speaker": self._describe(hearing_id, speaker)}
        here = self.ns.presence(hearing_id)
        for conn in self.ns.joined_connections(hearing_id):
            viewer = here.get(conn.participant_id)
            if viewer is not None and (viewer.is_court or viewer.place is Place.HEARING):
                await self.ns.emit("speaker", payload, to=conn.sid)
