"""Facility video units: officers start and end detainee sessions; units fetch their token."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api.auth import session_from
from server.api.errors import read_json
from server.context import ServerContext
from server.errors import CodedError
from server.facilities import DetaineeSession

log = structlog.get_logger(__name__)


class StartSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_id: str = Field(min_length=1, max_length=64)
    hearing_id: str = Field(min_length=1, max_length=128)
    detainee_name: str = Field(min_length=1, max_length=200)
    detainee_iin: str | None = Field(default=None, pattern=r"^\d{12}$")
    # The detainee's seat in the hearing (else the one bound to detainee_iin, if any).
    seat_id: str | None = Field(default=None, min_length=1, max_length=128)


def session_json(current: DetaineeSession) -> dict[str, Any]:
    return {
        "id": current.id,
        "endpoint_id": current.endpoint_id,
        "hearing_id": current.hearing_id,
        "detainee_name": current.detainee_name,
        "seat_id": current.seat_id,
        "attested_by": {"user_id": current.attested_by_user, "name": current.attested_by_name},
        "started_at": current.started_at.isoformat(),
        "ended_at": current.ended_at.isoformat() if current.ended_at else None,
    }


class FacilityRoutes:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def register(self, app: web.Application) -> None:
        app.router.add_post("/api/facility/sessions", self.start)
        app.router.add_delete("/api/facility/sessions/{session_id}", self.end)
        app.router.add_post("/api/facility/endpoint/session", self.endpoint_token)

    async def start(self, request: web.Request) -> web.Response:
        officer = session_from(request, self.ctx)
        body: StartSession = await read_json(request, StartSession)
        started = await self.ctx.facilities.start_session(
            officer,
            endpoint_id=body.endpoint_id,
            hearing_id=body.hearing_id,
            detainee_name=body.detainee_name,
            detainee_iin=body.detainee_iin,
            seat_id=body.seat_id,
        )
        log.info(
            "detainee_attested",
            hearing=started.hearing_id,
            endpoint=started.endpoint_id,
            officer=officer.sub,
        )
        return web.json_response(session_json(started), status=201)

    async def end(self, request: web.Request) -> web.Response:
        officer = session_from(request, self.ctx)
        ended = await self.ctx.facilities.end_session(officer, request.match_info["session_id"])
        return web.json_response(session_json(ended))

    async def endpoint_token(self, request: web.Request) -> web.Response:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Endpoint" or not credential:
            raise CodedError("auth_required", "a video unit authenticates with its credential")
        endpoint = await self.ctx.facilities.authenticate(credential.strip())
        current, token = await self.ctx.facilities.token_for(endpoint)
        hearing = self.ctx.hearings.get(current.hearing_id)
        return web.json_response(
            {
                "token": token,
                "hearing": hearing.public() if hearing else None,
                "session": session_json(current),
            },
            headers={"Cache-Control": "no-store"},
        )
