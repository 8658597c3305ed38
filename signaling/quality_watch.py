"""Every participant's connection quality, shown live to the court.

Every few seconds (``quality_interval_seconds``) each joined participant's
media session is sampled (:mod:`server.sfu.quality`). The grades go to the
judge's and secretary's consoles as one ``quality`` event per hearing; a
changed grade also updates the participant's record (``participant_updated``,
whose ``quality`` field only the court sees); a fall to Bad goes into the
protocol, at most once a minute per person.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import structlog

from server.procedure.presence import Presence
from server.procedure.protocol import EventKind
from server.sfu.quality import UNKNOWN, QualityGrade, QualityTracker

if TYPE_CHECKING:
    from signaling.namespace import Connection, HearingNamespace

log = structlog.get_logger(__name__)

ALERT_EVERY_SECONDS = 60.0

Key = tuple[str, str]  # (hearing id, participant id)


class QualityWatch:
    """Samples every joined participant's connection and tells the court."""

    def __init__(self, namespace: HearingNamespace, interval: float) -> None:
        self.ns = namespace
        self.interval = interval
        self.tracker = QualityTracker()
        self._graded: dict[Key, Presence] = {}
        self._alerted_at: dict[Key, float] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="quality-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sample_all()
            except Exception:  # one failed round must not end the watch
                log.exception("quality_sampling_failed")

    async def sample_all(self) -> None:
        """One round: sample, tell the court, update changed records, alert."""
        by_hearing: dict[str, list[Connection]] = {}
        for conn in list(self.ns.connections.values()):
            if conn.joined and conn.media is not None:
                by_hearing.setdefault(conn.hearing_id, []).append(conn)
        graded: dict[Key, Presence] = {}
        for hearing_id, connections in by_hearing.items():
            here = self.ns.presence(hearing_id)
            report: dict[str, dict[str, Any]] = {}
            for conn in connections:
                presence = here.get(conn.participant_id)
                if presence is None or conn.media is None or not conn.joined:
                    continue  # left while this round awaited
                sample = self.tracker.sample(conn.media, key=(hearing_id, presence.id))
                quality = sample.as_json()
                report[presence.id] = quality
                graded[(hearing_id, presence.id)] = presence
                changed = quality["grade"] != presence.quality.get("grade")
                presence.quality = quality
                if changed:
                    await self.ns.broadcast(presence, hearing_id)
                    if sample.grade is QualityGrade.BAD:
                        await self._alert(hearing_id, presence, quality)
            if report:
                # Imported here: namespace.py imports this module.
                from signaling.namespace import court_room

                await self.ns.emit("quality", {"participants": report}, room=court_room(hearing_id))
        await self._forget_gone(graded)

    async def _forget_gone(self, graded: dict[Key, Presence]) -> None:
        """Whoever was graded last round and is not now (dropped, left) is unknown again."""
        gone = {key: p for key, p in self._graded.items() if key not in graded}
        self._graded = graded
        for (hearing_id, participant_id), presence in gone.items():
            self.tracker.forget((hearing_id, participant_id))
            if presence.quality.get("grade") == str(QualityGrade.UNKNOWN):
                continue
            presence.quality = UNKNOWN.as_json()
            # Still listed (a dropped connection stays on the court's list)?
            if (
                self.ns.joined_connections(hearing_id)
                and self.ns.presence(hearing_id).get(participant_id) is presence
            ):
                await self.ns.broadcast(presence, hearing_id)

    async def _alert(self, hearing_id: str, presence: Presence, quality: dict[str, Any]) -> None:
        key = (hearing_id, presence.id)
        now = time.monotonic()
        last = self._alerted_at.get(key)
        if last is not None and now - last < ALERT_EVERY_SECONDS:
            return
        self._alerted_at[key] = now
        log.info("quality_alert", hearing=hearing_id, participant=presence.id, **quality)
        await self.ns.ctx.protocol.append(
            hearing_id,
            EventKind.QUALITY_ALERT,
            subject_id=presence.id,
            subject_name=presence.name,
            details=quality,
        )
