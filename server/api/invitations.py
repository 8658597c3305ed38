"""Invitation links: made by the court's staff, redeemed by the invited person."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from server.api.auth import session_from
from server.api.errors import bearer_token, read_json
from server.auth.tokens import SessionClaims
from server.context import ServerContext
from server.errors import CodedError
from server.hearing_access import court_role_in
from server.invitations import Invitation
from server.notify import InvitationMessage
from server.roles import ProceduralRole

log = structlog.get_logger(__name__)


class NewInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: ProceduralRole
    name: str = Field(min_length=1, max_length=200)
    iin: str | None = Field(default=None, pattern=r"^\d{12}$")
    contact: str | None = Field(default=None, max_length=200)
    # With an offset: a court's local time and UTC must never be guessed at.
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class RedeemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    code: str = Field(min_length=16, max_length=128)


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "hearing_id": invitation.hearing_id,
        "role": str(invitation.role),
        "name": invitation.name,
        "iin_bound": invitation.iin is not None,
        "valid_from": invitation.valid_from.isoformat(),
        "valid_until": invitation.valid_until.isoformat(),
        "revoked": invitation.revoked,
    }


class InvitationRoutes:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def register(self, app: web.Application) -> None:
        app.router.add_post("/api/hearings/{hearing_id}/invitations", self.create)
        app.router.add_get("/api/hearings/{hearing_id}/invitations", self.list)
        app.router.add_delete("/api/invitations/{invitation_id}", self.revoke)
        app.router.add_post("/api/invitations/redeem", self.redeem)

    async def _court_of(self, request: web.Request, hearing_id: str) -> SessionClaims:
        """The session, if it is this hearing's court (judge, or secretary of its court)."""
        claims = session_from(request, self.ctx)
        hearing = await self.ctx.hearings.fetch(hearing_id)
        if hearing is None:
            raise CodedError("hearing_not_found", "no such hearing")
        await court_role_in(self.ctx.directory, claims, hearing)
        return claims

    async def create(self, request: web.Request) -> web.Response:
        hearing_id = request.match_info["hearing_id"]
        staff = await self._court_of(request, hearing_id)
        body: NewInvitation = await read_json(request, NewInvitation)
        invitation, code = await self.ctx.invitations.create(
            hearing_id=hearing_id,
            role=body.role,
            name=body.name,
            iin=body.iin,
            contact=body.contact,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            created_by=staff.sub,
        )
        link = f"{self.ctx.settings.base_url}/join#invite={code}"
        hearing = self.ctx.hearings.get(hearing_id)
        if body.contact and hearing is not None:
            await self.ctx.notifier.send_invitation(
                InvitationMessage(
                    contact=body.contact,
                    name=body.name,
                    hearing_case_number=hearing.case_number,
                    role=str(body.role),
                    link=link,
                    valid_from=invitation.valid_from.isoformat(),
                    valid_until=invitation.valid_until.isoformat(),
                )
            )
        log.info("invitation_created", hearing=hearing_id, role=str(body.role), by=staff.sub)
        return web.json_response({**invitation_json(invitation), "link": link}, status=201)

    async def list(self, request: web.Request) -> web.Response:
        await self._court_of(request, request.match_info["hearing_id"])
        invitations = await self.ctx.invitations.for_hearing(request.match_info["hearing_id"])
        return web.json_response({"invitations": [invitation_json(i) for i in invitations]})

    async def revoke(self, request: web.Request) -> web.Response:
        known = await self.ctx.invitations.get(request.match_info["invitation_id"])
        staff = await self._court_of(request, known.hearing_id)
        invitation = await self.ctx.invitations.revoke(known.id)
        log.info("invitation_revoked", invitation=invitation.id, by=staff.sub)
        return web.json_response(invitation_json(invitation))

    async def redeem(self, request: web.Request) -> web.Response:
        body: RedeemRequest = await read_json(request, RedeemRequest)
        session = session_from(request, self.ctx) if bearer_token(request) else None
        redeemed = await self.ctx.invitations.redeem(body.code, session)
        hearing = self.ctx.hearings.get(redeemed.invitation.hearing_id)
        return web.json_response(
            {
                "token": redeemed.token,
                "hearing": hearing.public() if hearing else None,
                "role": str(redeemed.invitation.role),
                "name": redeemed.invitation.name,
            },
            headers={"Cache-Control": "no-store"},
        )
