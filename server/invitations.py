"""Invitations: a link bound to one hearing and one role, optionally to one IIN.

The link carries a random code; only its SHA-256 is stored, so a database
read does not hand out working links. An invitation works inside its time
window, until it is revoked, and never once the hearing is closed. One bound
to an IIN is redeemed only by that person after an EDS login.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from server.auth.revocation import RevocationList
from server.auth.tokens import SessionClaims, TokenIssuer
from server.db.database import Database
from server.db.schema import InvitationRow, as_utc
from server.errors import CodedError
from server.hearings import HearingRegistry
from server.roles import INVITABLE, ProceduralRole, grants_for

MAX_WINDOW = timedelta(days=7)


class InvitationError(CodedError):
    """An invitation could not be made or used."""


@dataclass(frozen=True)
class Invitation:
    id: str
    hearing_id: str
    role: ProceduralRole
    name: str
    iin: str | None
    valid_from: datetime
    valid_until: datetime
    revoked: bool

    @property
    def participant_id(self) -> str:
        return f"inv-{self.id[:16]}"

    @classmethod
    def from_row(cls, row: InvitationRow) -> Invitation:
        return cls(
            id=row.id,
            hearing_id=row.hearing_id,
            role=ProceduralRole(row.role),
            name=row.name,
            iin=row.iin,
            valid_from=as_utc(row.valid_from),
            valid_until=as_utc(row.valid_until),
            revoked=row.revoked_at is not None,
        )


@dataclass(frozen=True)
class Redeemed:
    invitation: Invitation
    token: str


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


class InvitationService:
    def __init__(
        self,
        db: Database,
        hearings: HearingRegistry,
        issuer: TokenIssuer,
        revocations: RevocationList,
    ) -> None:
        self.db = db
        self.hearings = hearings
        self.issuer = issuer
        self.revocations = revocations

    async def create(
        self,
        *,
        hearing_id: str,
        role: ProceduralRole,
        name: str,
        created_by: str,
        iin: str | None = None,
        contact: str | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> tuple[Invitation, str]:
        """Make an invitation; returns it and the secret code (shown once, put in the link)."""
        hearing = self.hearings.get(hearing_id)
        if hearing is None:
            raise InvitationError("hearing_not_found", "no such hearing")
        if hearing.closed:
            raise InvitationError("hearing_closed", "the hearing is closed")
        if role not in INVITABLE:
            raise InvitationError("role_not_invitable", f"{role} joins by EDS login, not a link")
        if role is ProceduralRole.OBSERVER and not hearing.is_open:
            raise InvitationError("hearing_not_public", "a closed hearing has no observers")
        now = datetime.now(UTC)
        start = valid_from or now
        end = valid_until or start + timedelta(days=1)
        if end <= start or end - start > MAX_WINDOW:
            raise InvitationError(
                "invalid_window", "the window must be positive and at most 7 days"
            )
        code = secrets.token_urlsafe(32)
        row = InvitationRow(
            id=uuid.uuid4().hex,
            code_hash=_hash(code),
            hearing_id=hearing_id,
            role=str(role),
            name=name,
            iin=iin,
            contact=contact,
            valid_from=start,
            valid_until=end,
            created_by=created_by,
            redeemed_count=0,
        )
        async with self.db.session() as session:
            session.add(row)
        return Invitation.from_row(row), code

    async def redeem(self, code: str, session: SessionClaims | None) -> Redeemed:
        """A hearing token for the invited person, or a coded refusal."""
        async with self.db.session() as db_session:
            row = await db_session.scalar(
                select(InvitationRow).where(InvitationRow.code_hash == _hash(code))
            )
            if row is None:
                raise InvitationError("invitation_unknown", "this invitation link is not valid")
            invitation = Invitation.from_row(row)
            now = datetime.now(UTC)
            if invitation.revoked:
                raise InvitationError("invitation_revoked", "this invitation was withdrawn")
            if now < invitation.valid_from:
                raise InvitationError("invitation_not_yet_valid", "this invitation is not open yet")
            if now > invitation.valid_until:
                raise InvitationError("invitation_expired", "this invitation has expired")
            hearing = self.hearings.get(invitation.hearing_id)
            if hearing is None or hearing.closed:
                raise InvitationError("hearing_closed", "the hearing is closed")
            if invitation.iin is not None:
                if session is None:
                    raise InvitationError("eds_required", "sign in with your EDS to use this link")
                if session.iin != invitation.iin:
                    raise InvitationError("wrong_person", "this invitation is for someone else")
            # Counted in SQL: concurrent redeems must not overwrite each other's count.
            await db_session.execute(
                update(InvitationRow)
                .where(InvitationRow.id == row.id)
                .values(redeemed_count=InvitationRow.redeemed_count + 1)
            )
        ttl = int(
            min(self.issuer.default_ttl_seconds, (invitation.valid_until - now).total_seconds())
        )
        token = self.issuer.issue(
            hearing=invitation.hearing_id,
            participant_id=invitation.participant_id,
            name=invitation.name,
            role=str(invitation.role),
            grants=grants_for(invitation.role),
            ttl_seconds=max(ttl, 60),
        )
        return Redeemed(invitation=invitation, token=token)

    async def revoke(self, invitation_id: str) -> Invitation:
        """Withdraw the link and cut off anyone who already came in with it."""
        async with self.db.session() as session:
            row = await session.get(InvitationRow, invitation_id)
            if row is None:
                raise InvitationError("invitation_unknown", "no such invitation")
            row.revoked_at = row.revoked_at or datetime.now(UTC)
            invitation = Invitation.from_row(row)
        await self.revocations.revoke_participant(invitation.hearing_id, invitation.participant_id)
        return invitation

    async def get(self, invitation_id: str) -> Invitation:
        async with self.db.session() as session:
            row = await session.get(InvitationRow, invitation_id)
            if row is None:
                raise InvitationError("invitation_unknown", "no such invitation")
            return Invitation.from_row(row)

    async def for_hearing(self, hearing_id: str) -> list[Invitation]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(InvitationRow)
                .where(InvitationRow.hearing_id == hearing_id)
                .order_by(InvitationRow.created_at)
            )
            return [Invitation.from_row(r) for r in rows]
