"""The hearing protocol: everything procedural, in order, with its time.

Append-only: entries are added, never changed or removed. It records that
something happened (a state change, who joined, who attested a detainee, a
consultation began), never what was said. Exported as JSON and as a printable
HTML page in the hearing's language.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select

from server.db.database import Database
from server.db.schema import HearingEventRow, as_utc
from server.hearings import Hearing


class EventKind(StrEnum):
    HEARING_OPENED = "hearing_opened"
    SESSION_STARTED = "session_started"
    RECESS = "recess"
    RESUMED = "resumed"
    HEARING_CLOSED = "hearing_closed"
    JOINED = "joined"
    LEFT = "left"
    ADMITTED = "admitted"
    DISMISSED = "dismissed"
    WITNESS_CALLED = "witness_called"
    MUTED = "muted"
    UNMUTED = "unmuted"
    REMOVED = "removed"
    CONSULTATION_STARTED = "consultation_started"
    CONSULTATION_ENDED = "consultation_ended"
    QUALITY_ALERT = "quality_alert"
    RECORDING_MARKER = "recording_marker"
    DETAINEE_ATTESTED = "detainee_attested"


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    role: str


@dataclass(frozen=True)
class ProtocolEvent:
    seq: int
    at: datetime
    kind: EventKind
    actor: Actor | None
    subject_id: str | None
    subject_name: str | None
    details: dict[str, Any] = field(default_factory=dict)
    recording_offset: float | None = None  # seconds into the hearing's recording

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": str(self.kind),
            "actor": None
            if self.actor is None
            else {"id": self.actor.id, "name": self.actor.name, "role": self.actor.role},
            "subject": None
            if self.subject_id is None
            else {"id": self.subject_id, "name": self.subject_name},
            "details": self.details,
            "recording_offset": self.recording_offset,
        }


# Where in its recording a hearing is at a moment (None before the session starts).
OffsetClock = Callable[[str, datetime], float | None]
Listener = Callable[[str, "ProtocolEvent"], Awaitable[None]]


class HearingProtocol:
    """Appends to and reads the protocols of hearings; tells listeners of each entry."""

    def __init__(self, db: Database, offset_clock: OffsetClock | None = None) -> None:
        self.db = db
        self.offset_clock = offset_clock
        self.listeners: list[Listener] = []

    async def append(
        self,
        hearing_id: str,
        kind: EventKind,
        *,
        actor: Actor | None = None,
        subject_id: str | None = None,
        subject_name: str | None = None,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> ProtocolEvent:
        at = at or datetime.now(UTC)
        offset = self.offset_clock(hearing_id, at) if self.offset_clock else None
        row = HearingEventRow(
            hearing_id=hearing_id,
            at=at,
            kind=str(kind),
            actor_id=actor.id if actor else None,
            actor_name=actor.name if actor else None,
            actor_role=actor.role if actor else None,
            subject_id=subject_id,
            subject_name=subject_name,
            details=details or {},
            recording_offset=None if offset is None else round(offset, 3),
        )
        async with self.db.session() as session:
            session.add(row)
            await session.flush()
            event = _event(row)
        for listener in list(self.listeners):
            await listener(hearing_id, event)
        return event

    async def events(self, hearing_id: str) -> list[ProtocolEvent]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(HearingEventRow)
                .where(HearingEventRow.hearing_id == hearing_id)
                .order_by(HearingEventRow.id)
            )
            return [_event(row) for row in rows]

    async def events_of(
        self, hearing_id: str, participant_id: str, kinds: Iterable[EventKind]
    ) -> list[ProtocolEvent]:
        """The entries of ``kinds`` done to ``participant_id`` or by them, in order."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(HearingEventRow)
                .where(
                    HearingEventRow.hearing_id == hearing_id,
                    HearingEventRow.kind.in_([str(kind) for kind in kinds]),
                    or_(
                        HearingEventRow.subject_id == participant_id,
                        HearingEventRow.actor_id == participant_id,
                    ),
                )
                .order_by(HearingEventRow.id)
            )
            return [_event(row) for row in rows]

    async def export_json(self, hearing: Hearing) -> dict[str, Any]:
        return {
            "hearing": hearing.public(),
            "events": [event.as_json() for event in await self.events(hearing.id)],
        }

    async def export_html(self, hearing: Hearing, language: str) -> str:
        return render_html(hearing, await self.events(hearing.id), language)


def _event(row: HearingEventRow) -> ProtocolEvent:
    actor = (
        Actor(row.actor_id, row.actor_name or "", row.actor_role or "")
        if row.actor_id is not None
        else None
    )
    return ProtocolEvent(
        seq=row.id,
        at=as_utc(row.at),
        kind=EventKind(row.kind),
        actor=actor,
        subject_id=row.subject_id,
        subject_name=row.subject_name,
        details=dict(row.details or {}),
        recording_offset=row.recording_offset,
    )


LABELS: dict[str, dict[str, str]] = {
    "kk": {
        "title": "Сот отырысының хаттамасы",
        "case": "Іс",
        "time": "Уақыт (UTC)",
        "offset": "Жазбадағы уақыт",
        "event": "Оқиға",
        "who": "Кім",
        "whom": "Кімге",
        EventKind.HEARING_OPENED: "Күту бөлмесі ашылды",
        EventKind.SESSION_STARTED: "Отырыс басталды",
        EventKind.RECESS: "Сот кеңесу бөлмесіне кетті",
        EventKind.RESUMED: "Отырыс жалғасты",
        EventKind.HEARING_CLOSED: "Отырыс жабылды",
        EventKind.JOINED: "Қосылды",
        EventKind.LEFT: "Шықты",
        EventKind.ADMITTED: "Отырысқа жіберілді",
        EventKind.DISMISSED: "Күту бөлмесіне қайтарылды",
        EventKind.WITNESS_CALLED: "Куә шақырылды",
        EventKind.MUTED: "Сот микрофонды өшірді",
        EventKind.UNMUTED: "Сот микрофонды қосуға рұқсат берді",
        EventKind.REMOVED: "Отырыстан шығарылды",
        EventKind.CONSULTATION_STARTED: "Жеке кеңес басталды",
        EventKind.CONSULTATION_ENDED: "Жеке кеңес аяқталды",
        EventKind.QUALITY_ALERT: "Байланыс сапасы нашар",
        EventKind.RECORDING_MARKER: "Жазба белгісі",
        EventKind.DETAINEE_ATTESTED: "Қамаудағы адамның жеке басын офицер растады",
    },
    "ru": {
        "title": "Протокол судебного заседания",
        "case": "Дело",
        "time": "Время (UTC)",
        "offset": "Время в записи",
        "event": "Событие",
        "who": "Кто",
        "whom": "Кого",
        EventKind.HEARING_OPENED: "Открыт зал ожидания",
        EventKind.SESSION_STARTED: "Заседание открыто",
        EventKind.RECESS: "Суд удалился в совещательную комнату",
        EventKind.RESUMED: "Заседание продолжено",
        EventKind.HEARING_CLOSED: "Заседание закрыто",
        EventKind.JOINED: "Подключился",
        EventKind.LEFT: "Отключился",
        EventKind.ADMITTED: "Допущен в заседание",
        EventKind.DISMISSED: "Возвращён в зал ожидания",
        EventKind.WITNESS_CALLED: "Вызван свидетель",
        EventKind.MUTED: "Суд отключил микрофон",
        EventKind.UNMUTED: "Суд разрешил включить микрофон",
        EventKind.REMOVED: "Удалён из заседания",
        EventKind.CONSULTATION_STARTED: "Начата конфиденциальная консультация",
        EventKind.CONSULTATION_ENDED: "Консультация окончена",
        EventKind.QUALITY_ALERT: "Плохое качество связи",
        EventKind.RECORDING_MARKER: "Отметка записи",
        EventKind.DETAINEE_ATTESTED: "Личность содержащегося под стражей удостоверена сотрудником",
    },
    "en": {
        "title": "Hearing protocol",
        "case": "Case",
        "time": "Time (UTC)",
        "offset": "Recording time",
        "event": "Event",
        "who": "By",
        "whom": "Concerning",
        EventKind.HEARING_OPENED: "Waiting room opened",
        EventKind.SESSION_STARTED: "Session started",
        EventKind.RECESS: "The court retired to deliberate",
        EventKind.RESUMED: "Session resumed",
        EventKind.HEARING_CLOSED: "Hearing closed",
        EventKind.JOINED: "Joined",
        EventKind.LEFT: "Left",
        EventKind.ADMITTED: "Admitted to the hearing",
        EventKind.DISMISSED: "Sent back to the waiting room",
        EventKind.WITNESS_CALLED: "Witness called in",
        EventKind.MUTED: "Muted by the court",
        EventKind.UNMUTED: "The court lifted the mute",
        EventKind.REMOVED: "Removed from the hearing",
        EventKind.CONSULTATION_STARTED: "Private consultation began",
        EventKind.CONSULTATION_ENDED: "Private consultation ended",
        EventKind.QUALITY_ALERT: "Poor connection",
        EventKind.RECORDING_MARKER: "Recording marker",
        EventKind.DETAINEE_ATTESTED: "Detainee's identity attested by the facility officer",
    },
}


# What a recording marker says, per language (details.marker).
MARKERS: dict[str, dict[str, str]] = {
    "kk": {
        "started": "Жазба басталды",
        "paused": "Жазба кідіртілді",
        "resumed": "Жазба жалғасты",
        "stopped": "Жазба аяқталды",
        "failed": "Жазба істен шықты",
        "gap": "Жазба үзілді (сервер істен шықты, отырыс жалғасты)",
        "reason": "себебі",
    },
    "ru": {
        "started": "Запись начата",
        "paused": "Запись приостановлена",
        "resumed": "Запись продолжена",
        "stopped": "Запись окончена",
        "failed": "Сбой записи",
        "gap": "Запись прервана (отказ сервера, заседание продолжалось)",
        "reason": "причина",
    },
    "en": {
        "started": "Recording started",
        "paused": "Recording paused",
        "resumed": "Recording resumed",
        "stopped": "Recording stopped",
        "failed": "Recording failed",
        "gap": "Recording interrupted (a server failed, the hearing went on)",
        "reason": "reason",
    },
}


def _what(event: ProtocolEvent, labels: dict[Any, str], language: str) -> str:
    """The event's words; a recording marker says which, and a failure why."""
    if event.kind is not EventKind.RECORDING_MARKER:
        return labels[event.kind]
    words = MARKERS.get(language, MARKERS["kk"])
    marker = str(event.details.get("marker", ""))
    text = words.get(marker, labels[event.kind]) if marker in words else labels[event.kind]
    reason = event.details.get("reason")
    return f"{text} ({words['reason']}: {reason})" if marker == "failed" and reason else text


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def render_html(hearing: Hearing, events: list[ProtocolEvent], language: str) -> str:
    """A printable page; every value is escaped."""
    labels = LABELS.get(language, LABELS["kk"])
    lang = language if language in LABELS else "kk"
    esc = html.escape

    def person(name: str | None, role: str | None) -> str:
        if not name:
            return ""
        return esc(name) + (f" <small>({esc(role)})</small>" if role else "")

    rows = "\n".join(
        "<tr>"
        f"<td>{esc(event.at.strftime('%Y-%m-%d %H:%M:%S'))}</td>"
        f"<td>{_clock(event.recording_offset)}</td>"
        f"<td>{esc(_what(event, labels, lang))}</td>"
        f"<td>{person(event.actor.name, event.actor.role) if event.actor else ''}</td>"
        f"<td>{person(event.subject_name, None)}</td>"
        "</tr>"
        for event in events
    )
    return (
        f'<!doctype html>\n<html lang="{lang}">\n<head><meta charset="utf-8">'
        f"<title>{esc(labels['title'])} — {esc(hearing.case_number)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #999;padding:.3em .5em;text-align:left}"
        "@media print{body{margin:0}}</style></head>\n<body>\n"
        f"<h1>{esc(labels['title'])}</h1>\n"
        f"<p>{esc(labels['case'])}: <strong>{esc(hearing.case_number)}</strong> — "
        f"{esc(hearing.title)}</p>\n"
        f"<table><thead><tr><th>{esc(labels['time'])}</th><th>{esc(labels['offset'])}</th>"
        f"<th>{esc(labels['event'])}</th>"
        f"<th>{esc(labels['who'])}</th><th>{esc(labels['whom'])}</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody></table>\n</body>\n</html>\n"
    )
