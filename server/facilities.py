"""Detention-facility video units and detainee sessions.

Each unit (kiosk) has an endpoint account: an id and a secret it keeps; only
the secret's hash is stored. A facility officer, signed in with EDS and listed
in the court directory for that facility, starts a detainee's session for one
hearing on one unit. The detainee's identity is what the officer attests, and
the record keeps who attested it and when.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.auth.revocation import RevocationList
from server.auth.tokens import SessionClaims, TokenIssuer
from server.db.database import Database
from server.db.schema import DetaineeSessionRow, FacilityEndpointRow, as_utc
from server.directory import CourtDirectory, StaffRole
from server.errors import CodedError
from server.hearings import HearingRegistry, Seat
from server.procedure.protocol import Actor, EventKind, HearingProtocol
from server.roles import ProceduralRole, grants_for


class FacilityError(CodedError):
    """A facility request was refused."""


@dataclass(frozen=True)
class Endpoint:
    id: str
    facility: str
    unit: str
    active: bool


@dataclass(frozen=True)
class DetaineeSession:
    id: str
    endpoint_id: str
    hearing_id: str
    detainee_name: str
    detainee_iin: str | None
    seat_id: str | None
    attested_by_user: str
    attested_by_name: str
    attested_by_iin: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def participant_id(self) -> str:
        return f"det-{self.id[:16]}"

    @classmethod
    def from_row(cls, row: DetaineeSessionRow) -> DetaineeSession:
        return cls(
            id=row.id,
            endpoint_id=row.endpoint_id,
            hearing_id=row.hearing_id,
            detainee_name=row.detainee_name,
            detainee_iin=row.detainee_iin,
            seat_id=row.seat_id,
            attested_by_user=row.attested_by_user,
            attested_by_name=row.attested_by_name,
            attested_by_iin=row.attested_by_iin,
            started_at=as_utc(row.started_at),
            ended_at=as_utc(row.ended_at) if row.ended_at else None,
        )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class FacilityService:
    def __init__(
        self,
        db: Database,
        directory: CourtDirectory,
        hearings: HearingRegistry,
        issuer: TokenIssuer,
        revocations: RevocationList,
        protocol: HearingProtocol,
    ) -> None:
        self.db = db
        self.protocol = protocol
        self.directory = directory
        self.hearings = hearings
        self.issuer = issuer
        self.revocations = revocations
        # Told (hearing id, participant id) when an officer ends a session: the
        # signaling takes the unit out of the hearing at once.
        self.listeners: list[Callable[[str, str], Awaitable[None]]] = []

    async def register_endpoint(self, facility: str, unit: str) -> tuple[Endpoint, str]:
        """A new unit; returns it and its credential ``<id>.<secret>`` (shown once)."""
        endpoint_id = uuid.uuid4().hex
        secret = secrets.token_urlsafe(32)
        async with self.db.session() as session:
            session.add(
                FacilityEndpointRow(
                    id=endpoint_id, facility=facility, unit=unit, secret_hash=_hash(secret)
                )
            )
        return Endpoint(endpoint_id, facility, unit, True), f"{endpoint_id}.{secret}"

    async def authenticate(self, credential: str) -> Endpoint:
        endpoint_id, _, secret = credential.partition(".")
        async with self.db.session() as session:
            row = await session.get(FacilityEndpointRow, endpoint_id) if endpoint_id else None
            # Compare even when the id is unknown, so timing does not tell ids apart.
            expected = row.secret_hash if row is not None else _hash("")
            if not hmac.compare_digest(expected, _hash(secret)) or row is None or not row.active:
                raise FacilityError("endpoint_unknown", "this video unit is not registered")
            return Endpoint(row.id, row.facility, row.unit, row.active)

    async def start_session(
        self,
        officer: SessionClaims,
        *,
        endpoint_id: str,
        hearing_id: str,
        detainee_name: str,
        detainee_iin: str | None,
        seat_id: str | None = None,
    ) -> DetaineeSession:
        entry = await self.directory.find_by_iin(officer.iin)
        if entry is None or StaffRole.FACILITY_OFFICER not in entry.roles:
            raise FacilityError("forbidden", "only a facility officer may start a session")
        hearing = self.hearings.get(hearing_id)
        if hearing is None:
            raise FacilityError("hearing_not_found", "no such hearing")
        if hearing.closed:
            raise FacilityError("hearing_closed", "the hearing is closed")
        seat = await self._detainee_seat(hearing_id, seat_id, detainee_iin)
        async with self.db.session() as session:
            endpoint = await session.get(FacilityEndpointRow, endpoint_id)
            if endpoint is None or not endpoint.active:
                raise FacilityError("endpoint_unknown", "no such video unit")
            if endpoint.facility != entry.court:
                raise FacilityError("forbidden", "this video unit belongs to another facility")
            busy = await session.scalar(
                select(DetaineeSessionRow).where(
                    DetaineeSessionRow.endpoint_id == endpoint_id,
                    DetaineeSessionRow.ended_at.is_(None),
                )
            )
            if busy is not None:
                raise FacilityError("endpoint_busy", "a session is already running on this unit")
            row = DetaineeSessionRow(
                id=uuid.uuid4().hex,
                endpoint_id=endpoint_id,
                hearing_id=hearing_id,
                detainee_name=detainee_name,
                detainee_iin=detainee_iin,
                seat_id=seat.id if seat else None,
                attested_by_user=officer.sub,
                attested_by_name=entry.full_name,
                attested_by_iin=officer.iin,
                started_at=datetime.now(UTC),
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError as exc:  # another officer started one this very moment
                raise FacilityError(
                    "endpoint_busy", "a session is already running on this unit"
                ) from exc
            started = DetaineeSession.from_row(row)
            facility, unit = endpoint.facility, endpoint.unit
        # The protocol says who vouched for the detainee's identity, and when.
        await self.protocol.append(
            hearing_id,
            EventKind.DETAINEE_ATTESTED,
            actor=Actor(officer.sub, entry.full_name, str(StaffRole.FACILITY_OFFICER)),
            subject_id=started.participant_id,
            subject_name=detainee_name,
            details={
                "facility": facility,
                "unit": unit,
                "officer_iin": officer.iin,
                **({"seat": seat.id} if seat else {}),
            },
            at=started.started_at,
        )
        return started

    async def _detainee_seat(
        self, hearing_id: str, seat_id: str | None, detainee_iin: str | None
    ) -> Seat | None:
        """The detainee seat this session fills: the one named, or the one bound to the IIN."""
        seats = [
            s for s in await self.hearings.seats(hearing_id) if s.role is ProceduralRole.DETAINEE
        ]
        if seat_id is not None:
            for seat in seats:
                if seat.id == seat_id:
                    return seat
            raise FacilityError("seat_not_found", "the hearing has no such detainee seat")
        if detainee_iin is not None:
            for seat in seats:
                if seat.iin == detainee_iin:
                    return seat
        return None

    async def seat_filled_by(self, hearing_id: str, participant_id: str) -> str | None:
        """The seat a detainee session's participant fills, if the session named one."""
        for current in await self.sessions_for(hearing_id):
            if current.participant_id == participant_id:
                return current.seat_id
        return None

    async def end_session(self, officer: SessionClaims, session_id: str) -> DetaineeSession:
        entry = await self.directory.find_by_iin(officer.iin)
        if entry is None or StaffRole.FACILITY_OFFICER not in entry.roles:
            raise FacilityError("forbidden", "only a facility officer may end a session")
        async with self.db.session() as session:
            row = await session.get(DetaineeSessionRow, session_id)
            endpoint = await session.get(FacilityEndpointRow, row.endpoint_id) if row else None
            if row is None or endpoint is None or endpoint.facility != entry.court:
                raise FacilityError("not_found", "no such session at your facility")
            row.ended_at = row.ended_at or datetime.now(UTC)
            ended = DetaineeSession.from_row(row)
        await self.revocations.revoke_participant(ended.hearing_id, ended.participant_id)
        for listener in self.listeners:
            await listener(ended.hearing_id, ended.participant_id)
        return ended

    async def token_for(self, endpoint: Endpoint) -> tuple[DetaineeSession, str]:
        """The hearing token for the detainee now in front of ``endpoint``."""
        async with self.db.session() as session:
            row = await session.scalar(
                select(DetaineeSessionRow).where(
                    DetaineeSessionRow.endpoint_id == endpoint.id,
                    DetaineeSessionRow.ended_at.is_(None),
                )
            )
            if row is None:
                raise FacilityError("no_session", "no session has been started on this unit")
            current = DetaineeSession.from_row(row)
        hearing = self.hearings.get(current.hearing_id)
        if hearing is None or hearing.closed:
            raise FacilityError("hearing_closed", "the hearing is closed")
        token = self.issuer.issue(
            hearing=current.hearing_id,
            participant_id=current.participant_id,
            name=current.detainee_name,
            role=str(ProceduralRole.DETAINEE),
            grants=grants_for(ProceduralRole.DETAINEE),
        )
        return current, token

    async def sessions_for(self, hearing_id: str) -> list[DetaineeSession]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(DetaineeSessionRow)
                .where(DetaineeSessionRow.hearing_id == hearing_id)
                .order_by(DetaineeSessionRow.started_at)
            )
            return [DetaineeSession.from_row(r) for r in rows]
